"""Anchoring the station's hash chains at the township (链头存证).

Every bundle a station sends carries, inside the encrypted payload, the heads of its audit
trail and ledger chain (``heads``) and, for the heads the township last acknowledged, the
station's *current* hash at those positions (``at_anchor``). The hub keeps the heads each
station reported (per enrolment key, a short history), judges each bundle against them, and
answers with the newest acknowledged heads (``anchor``) and whatever it found
(``chain_alerts``). So a chain cut or rewritten after the township saw it shows at the next
sync — at the hub (a quarantine row and a hub audit entry) and at the station (a sync problem
the clerk and supervisor see; ``station audit verify`` checks against the stored anchor).

``judge`` and ``parse_positions`` are pure; ``for_bundle``/``take_reply`` are the station's
hooks (``sync.client``), ``at_hub`` the hub's (``Hub.receive``). The payload fields are
specified in ``sync/SPEC.md``.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from station.services import anchor as chains
from station.services import audit

CHAINS = tuple(chains.CHAINS)
HISTORY = 16  # heads kept per station and chain: enough for a station whose last replies were lost
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Position:
    seq: int
    hash: str | None  # None in ``at_anchor``: the station no longer has an entry there


@dataclass(frozen=True)
class Finding:
    chain: str
    seq: int  # the acknowledged position the finding is about
    message: str

    @property
    def kind(self) -> str:  # as quarantined at the hub and at the station
        return f"{self.chain}_chain"


# --- pure ---------------------------------------------------------------------------------
def parse_positions(value: object, missing_hash_ok: bool = False) -> dict[str, Position]:
    """``{"audit": {"seq": N, "hash": H}, ...}`` from a payload; anything malformed is left out
    (a bundle from older software carries none, and is judged on nothing)."""
    found: dict[str, Position] = {}
    if not isinstance(value, dict):
        return found
    for chain in CHAINS:
        v = value.get(chain)
        if not isinstance(v, dict):
            continue
        seq, digest = v.get("seq"), v.get("hash")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            continue
        if digest is None and missing_hash_ok:
            found[chain] = Position(seq, None)
        elif isinstance(digest, str) and _HEX64.match(digest):
            found[chain] = Position(seq, digest)
    return found


def positions_doc(positions: dict[str, Position]) -> dict:
    return {c: {"seq": p.seq, "hash": p.hash} for c, p in positions.items()}


def newest(history: dict[str, dict[int, str]]) -> dict[str, Position]:
    return {c: Position(max(known), known[max(known)]) for c, known in history.items() if known}


def judge(history: dict[str, dict[int, str]], heads: dict[str, Position], proofs: dict[str, Position],
          fresh: bool, broken: dict[str, int] | None = None) -> list[Finding]:
    """What a bundle shows against the heads the township recorded for the station before.

    ``history`` maps chain → {seq: hash} acknowledged; ``heads`` are the station's heads now;
    ``proofs`` its hashes at the anchor it knows. An honest chain only grows and never changes
    a hash, so a hash that differs at a recorded position is always a finding. A head *below*
    the newest recorded one is only held against the station when the bundle cannot be an old
    one arriving late (``fresh``: it carries records the hub had not applied, or none at all —
    a pull), or when the station proved it already knew that newest anchor.
    """
    found: list[Finding] = [Finding(c, seq, f"{chains.label(c)}第 {seq} 条内容与其校验值不符:记录在本站被改动")
                            for c, seq in (broken or {}).items() if c in CHAINS]
    for chain in CHAINS:
        known = history.get(chain) or {}
        if not known:
            continue
        top, name = max(known), chains.label(chain)
        proof, head = proofs.get(chain), heads.get(chain)
        finding = None
        if proof is not None and proof.seq in known and proof.hash != known[proof.seq]:
            finding = Finding(chain, proof.seq, f"{name}第 {proof.seq} 条已不存在(乡镇已确认过该条):记录被删除" if proof.hash is None
                              else f"{name}第 {proof.seq} 条与乡镇已确认的不一致:此前的记录被改写")
        elif head is not None and head.seq in known and known[head.seq] != head.hash:
            finding = Finding(chain, head.seq, f"{name}第 {head.seq} 条与乡镇已确认的不一致:此前的记录被改写")
        elif head is not None and head.seq < top and (fresh or (proof is not None and proof.seq == top)):
            finding = Finding(chain, top, f"{name}只剩 {head.seq} 条,少于乡镇已确认的 {top} 条:末尾记录被删除")
        if finding:
            found.append(finding)
    return found


# --- the station's side ---------------------------------------------------------------------
def for_bundle(db: sqlite_utils.Database) -> dict:
    """The payload fields a station's bundle carries: its heads now, its hashes now at the
    positions the township acknowledged, and where its chains no longer match their own hashes."""
    heads = {c: Position(*chains.last_entry(db, c)) for c in CHAINS}
    proofs = {c: Position(seq, chains.hash_at(db, c, seq)) for c, (seq, _) in chains.acknowledged(db).items()}
    out = {"heads": positions_doc(heads), "at_anchor": positions_doc(proofs)}
    if bad := broken(db):
        out["broken"] = bad
    return out


def _today() -> str:
    return date.today().isoformat()


def broken(db: sqlite_utils.Database) -> dict[str, int]:
    """The first entry of each chain whose content no longer matches its stored hash — an edit in
    place that left the hashes alone, which heads and anchors cannot show. A full walk of both
    chains, so it runs once a day (the result is kept in ``settings``) rather than per bundle."""
    row = db.execute("SELECT value FROM settings WHERE key = 'chain_check'").fetchone()
    today = _today()
    if row is not None:
        kept = json.loads(row[0])
        if kept.get("on") == today and isinstance(kept.get("broken"), dict):
            return kept["broken"]
    from ledgers.service import first_broken
    found: dict[str, int] = {}
    seqs = [p.seq for p in audit.verify(db)[1] if p.seq is not None]
    if seqs:
        found["audit"] = min(seqs)
    if (seq := first_broken(db)) is not None:
        found["ledger"] = seq
    db.execute("INSERT INTO settings (key, value) VALUES ('chain_check', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               (json.dumps({"on": today, "broken": found}),))
    return found


def take_reply(db: sqlite_utils.Database, payload: dict, hub_id: str, user: str | None) -> list[dict]:
    """Inside ``apply_reply``'s transaction: keep the anchor the township acknowledged and record
    what it found (once each) with the station's other sync problems. Returns the alerts."""
    now = audit.now_iso()
    kept = chains.acknowledged(db)
    # A reply carried back late on a stick holds an older anchor: keep the newer one.
    newer = {c: (p.seq, p.hash) for c, p in parse_positions(payload.get("anchor")).items() if p.seq >= kept.get(c, (0, ""))[0]}
    if newer:
        chains.store_acknowledged(db, {**kept, **newer}, hub_id, now)
    alerts = payload.get("chain_alerts") if isinstance(payload.get("chain_alerts"), list) else []
    taken = []
    for a in alerts:
        if not (isinstance(a, dict) and a.get("chain") in CHAINS and isinstance(a.get("seq"), int) and isinstance(a.get("message"), str)):
            continue
        kind, reason = Finding(a["chain"], a["seq"], "").kind, f"乡镇核对发现:{a['message'][:300]}"
        taken.append({"seq": a["seq"], "kind": kind, "reason": reason})
        if db.execute("SELECT 1 FROM sync_quarantine WHERE source = ? AND kind = ? AND seq = ?", (hub_id, kind, a["seq"])).fetchone():
            continue  # told again at every sync while it lasts; recorded once
        db.execute("INSERT INTO sync_quarantine (source, seq, kind, reason, data, at) VALUES (?,?,?,?,NULL,?)",
                   (hub_id, a["seq"], kind, reason, now))
        audit.record(db, user, "sync.chain_alert", hub_id, {"chain": a["chain"], "seq": a["seq"], "message": a["message"][:300]})
    return taken


# --- the hub's side ---------------------------------------------------------------------------
def enrolment_id(sign_pub: bytes) -> str:
    """Heads belong to one enrolment key: a station set up afresh and enrolled again starts over."""
    return hashlib.sha256(bytes(sign_pub)).hexdigest()[:16]


def _history(rows: list[dict]) -> dict[str, dict[int, str]]:
    history: dict[str, dict[int, str]] = {}
    for r in rows:
        history.setdefault(r["chain"], {})[r["seq"]] = r["hash"]
    return history


def at_hub(hub, station: dict, header: dict, payload: dict) -> dict:
    """Judge one station bundle's heads, record them, and return the reply's payload fields. Runs in
    the caller's transaction: ``Hub.apply`` anchors a bundle's heads with the bundle itself (one
    commit, and heads stored only together with what they came with).

    ``station`` is the station's row as it was before the bundle was applied (its ``hwm``
    tells a late old bundle from a fresh one)."""
    heads = parse_positions(payload.get("heads"))
    proofs = parse_positions(payload.get("at_anchor"), missing_hash_ok=True)
    # A replayed old bundle (a captured pull, an old stick) is never fresh, whatever it carries.
    newest_seen = station["last_bundle_at"] or ""
    fresh = not (header["seq_from"] <= header["seq_to"] <= station["hwm"]) and str(header["created_at"]) >= newest_seen
    code, enrolment = station["code"], enrolment_id(station["sign_pub"])
    reported = payload.get("broken") if isinstance(payload.get("broken"), dict) else {}
    bad = {c: s for c, s in reported.items() if c in CHAINS and isinstance(s, int) and not isinstance(s, bool) and s > 0}
    findings = judge(_history(hub.store.chain_heads(code, enrolment)), heads, proofs, fresh, bad)
    already = {(q["kind"], q["seq"]) for q in hub.store.quarantined(code)}
    for f in findings:
        if (f.kind, f.seq) in already:
            continue
        hub.store.quarantine(code, f.seq, f.kind, f.message, {"heads": positions_doc(heads), "at_anchor": positions_doc(proofs)})
        hub.store.audit(hub.user, "station.chain_alert", code, {"chain": f.chain, "seq": f.seq, "message": f.message})
    if str(header["created_at"]) > newest_seen:
        hub.store.update_station(code, last_bundle_at=str(header["created_at"]))
    for chain, head in heads.items():
        if head.seq > 0:  # an empty chain anchors nothing
            hub.store.add_chain_head(code, enrolment, chain, head.seq, head.hash, HISTORY)
    anchor = newest(_history(hub.store.chain_heads(code, enrolment)))
    reply: dict = {"anchor": positions_doc(anchor)} if anchor else {}
    if findings:
        reply["chain_alerts"] = [{"chain": f.chain, "seq": f.seq, "message": f.message} for f in findings]
    return reply
