"""The station's side of sync, for every transport (HTTP now, the USB stick later).

``build_bundle`` packs what the hub has not acknowledged; ``apply_reply`` takes the hub's
answer — marks acknowledged records delivered and applies the township's events, catalog and
calendar in one transaction — and ``sync_once`` repeats both until nothing is left to send.
"""
from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import orjson
import sqlcipher3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError

from station.core.cases import CaseEvent
from station.core.clock import MAX_CLOCK_SKEW_MS, check_received
from station.core.models import parse_catalog
from station.errors import StationError, ValidationFailed
from station.services import audit, calendar, cases, catalog, signing
from station.services.session import Session
from sync import anchor, bundle, policy, protocol, restore
from sync.bundle import BundleRejected, b64, canonical, open_bundle, public_bytes, seal

MAX_BUNDLE_BYTES = 8 * 1024 * 1024  # split so one bad link or full stick loses little
_RAW = serialization.Encoding.Raw


class SyncFailed(StationError):
    code = "sync_failed"
    exit_code = 12


class Transport(Protocol):
    def push(self, bundle: bytes) -> bytes: ...


def encryption_key(session: Session) -> X25519PrivateKey:
    row = session.store.one("SELECT private FROM station_keys WHERE purpose = 'encryption'")
    if row is not None:
        return X25519PrivateKey.from_private_bytes(bytes(row["private"]))
    key = X25519PrivateKey.generate()
    with session.store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO station_keys (purpose, private, public, created_at) VALUES ('encryption', ?, ?, ?)",
                   (key.private_bytes_raw(), public_bytes(key), audit.now_iso()))
        audit.record(db, session.user.username, "keys.create", "encryption", {})
    return encryption_key(session)


def hub(session: Session) -> dict | None:
    return session.store.one("SELECT * FROM peers LIMIT 1")



def _my_keys(session: Session) -> tuple[str, str]:
    return b64(signing.public_key(session)), b64(public_bytes(encryption_key(session)))


def hub_ca(session: Session) -> str | None:
    """The township's TLS certificate (PEM) given at enrolment, if the hub is reached over https."""
    return session.store.scalar("SELECT value FROM settings WHERE key = 'sync_hub_ca'")


def _store_hub(session: Session, info: dict, url: str | None, ca_pem: str | None = None) -> None:
    """Remember the hub; ``info`` is the hub's whole public info as enrolment proved it (with ``hwm``)."""
    with session.store.transaction() as db:
        db.execute("DELETE FROM peers")
        db.execute("INSERT INTO peers (hub_id, name, url, sign_pub, enc_pub, enrolled_at) VALUES (?,?,?,?,?,?)",
                   (info["hub_id"], info["hub_name"], url, base64.b64decode(info["sign_pub"]), base64.b64decode(info["enc_pub"]),
                    audit.now_iso()))
        db.execute("INSERT INTO settings (key, value) VALUES ('sync_hub', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   (f"{info['hub_name']}({info['hub_id']})",))
        renumbered = _continue_outbox(db, int(info.get("hwm") or 0))
        # The hub starts its outbox for us over at every enrolment (a rebuilt station gets its records back).
        db.execute("INSERT INTO settings (key, value) VALUES ('sync_inbound_hwm', '0') ON CONFLICT(key) DO UPDATE SET value = '0'")
        db.execute("DELETE FROM settings WHERE key = 'sync_hub_ca'")
        if ca_pem:
            db.execute("INSERT INTO settings (key, value) VALUES ('sync_hub_ca', ?)", (ca_pem,))
        audit.record(db, session.user.username, "sync.enrolled", info["hub_id"],
                     {"url": url, "tls_ca": bool(ca_pem), "hwm": info.get("hwm"), "renumbered": renumbered})


def _catch_up(db, payload: dict) -> None:
    """A station behind the hub (restored from an older backup) learns it from the reply: what it has
    not sent yet is numbered after what the hub has, and its next case number after the hub's highest,
    so no sequence number and no printed case number is used twice."""
    hub_hwm = payload.get("hwm")
    top = db.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0
    if isinstance(hub_hwm, int) and hub_hwm > top:
        _continue_outbox(db, hub_hwm)
    number = payload.get("top_number")
    if isinstance(number, str) and number.count("-") >= 2:
        _, year, seq = number.rsplit("-", 2)
        if year.isdigit() and seq.isdigit():
            db.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
                       (f"case:{year}", int(seq)))


def _continue_outbox(db, hub_hwm: int) -> int:
    """Number what is still to send on from what the hub already has from this station.

    A new PC for a station starts its outbox at 1, a station restored from a backup goes back to an
    older number, and the same PC enrolled again may hold records the hub never acknowledged; the hub
    keeps the station's high-water mark, so everything not yet acknowledged is renumbered to follow
    it, in order, and so is every record made from now on. Anything the hub had already applied is
    idempotent by id, so sending it again under a new number changes nothing there.
    """
    pending = [r[0] for r in db.execute("SELECT seq FROM outbox WHERE acked = 0 ORDER BY seq")]
    if pending and pending[0] != hub_hwm + 1:
        top = max(hub_hwm, db.execute("SELECT max(seq) FROM outbox").fetchone()[0])
        # Two steps, so no new number collides with an old one on the way (events point at outbox rows).
        db.execute("PRAGMA defer_foreign_keys = ON")
        for new, old in enumerate(pending, start=top + 1):
            db.execute("UPDATE outbox SET seq = ? WHERE seq = ?", (new, old))
            db.execute("UPDATE events SET outbox_seq = ? WHERE outbox_seq = ?", (new, old))
        for new, old in enumerate(range(top + 1, top + 1 + len(pending)), start=hub_hwm + 1):
            db.execute("UPDATE outbox SET seq = ? WHERE seq = ?", (new, old))
            db.execute("UPDATE events SET outbox_seq = ? WHERE outbox_seq = ?", (new, old))
    else:
        pending = []
    # The next record gets a number after both (AUTOINCREMENT reads sqlite_sequence).
    floor = hub_hwm + len(pending)
    if db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'", (floor,)).rowcount == 0:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (floor,))
    return len(pending)


# --- building and applying ----------------------------------------------------------------
_FETCH = {
    "event": "SELECT id, case_id, type, stamp, node, user, payload FROM events WHERE id IN ({})",
    "resident": "SELECT id, id_number, name, sex, birth_date, phone, address, village_group, created_at, updated_at "
                "FROM residents WHERE id IN ({})",
    "attachment": "SELECT id, case_id, name, mime, size, sha256, data FROM attachments WHERE id IN ({})",
    "ledger_entry": "SELECT id, ledger, program, period, id_number, head_name, village_group, phone, area, rate, amount_fen, "
                    "bank_card, status, paid_on, month, basis, kind, corrects, reason, author, created_at, source, row_no, prev_hash, hash "
                    "FROM ledger_entries WHERE id IN ({})",
    "infra_event": "SELECT id, project_id, type, payload, author, created_at FROM infra_events WHERE id IN ({})",
    "notice": "SELECT id, kind, title, body, status, posting_from, posting_to, source, posting, created_by, created_at, published_at, "
              "archived_at FROM notices WHERE id IN ({})",
    "objection": "SELECT id, notice_id, who, what, on_day, answer, answered_by, answered_on, recorded_by, recorded_at, answer_due FROM objections "
                 "WHERE id IN ({})",
}


def _items_data(session: Session, rows: list[dict]) -> dict[tuple[str, str], dict]:
    """The data of many outbox records, one query per kind and 500 ids (not one query each)."""
    found: dict[tuple[str, str], dict] = {}
    by_kind: dict[str, list[str]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r["ref_id"])
    for kind, ids in by_kind.items():
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for row in session.store.query(_FETCH[kind].format(",".join("?" * len(part))), tuple(part)):
                if kind == "event":
                    row["payload"] = orjson.loads(row["payload"])  # our own rows, written by json: read 5x faster
                elif kind == "attachment":
                    row["data"] = b64(bytes(row["data"]))
                found[(kind, row["id"])] = row
    return found


def pending(session: Session) -> int:
    return session.store.scalar("SELECT count(*) FROM outbox WHERE acked = 0")


def inbound_hwm(session: Session) -> int:
    return int(session.store.scalar("SELECT value FROM settings WHERE key = 'sync_inbound_hwm'") or 0)


def build_bundle(session: Session, peer: dict, first: int | None = None, max_items: int | None = None,
                 max_bytes: int = MAX_BUNDLE_BYTES) -> tuple[bytes, int, int]:
    """The next bundle of unacknowledged outbox records (possibly empty: then it is a pull)."""
    parts, first, seq_to = prepare_bundle(session, peer, first, max_items, max_bytes)
    return seal(**parts), first, seq_to


def prepare_bundle(session: Session, peer: dict, first: int | None = None, max_items: int | None = None,
                   max_bytes: int = MAX_BUNDLE_BYTES) -> tuple[dict, int, int]:
    """Everything ``build_bundle`` reads from the store, as ``seal``'s arguments: sealing (compress,
    encrypt, sign) needs nothing more from the store, so it can run on another thread."""
    max_items = max_items or protocol.MAX_ITEMS_PER_BUNDLE
    if first is None:
        first = session.store.scalar("SELECT min(seq) FROM outbox WHERE acked = 0") or \
            (session.store.scalar("SELECT max(seq) FROM outbox") or 0) + 1
    rows = session.store.query("SELECT seq, kind, ref_id FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?", (first, max_items))
    fetched = _items_data(session, rows)
    items, counts = [], {}
    for r in rows:
        data = fetched.get((r["kind"], r["ref_id"]))
        if data is None:  # cannot happen through the services; kept visible if it does
            raise SyncFailed(f"第 {r['seq']} 号待上传记录的内容缺失,请联系技术人员")
        items.append({"seq": r["seq"], "kind": r["kind"], "data": data})
    if len(canonical([i["data"] for i in items])) >= max_bytes:
        # Over the size limit (scans): cut after the record that reaches it, counting record by record.
        size = 0
        for n, item in enumerate(items):
            size += len(canonical(item["data"]))
            if size >= max_bytes:
                items = items[:n + 1]
                break
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    seq_to = items[-1]["seq"] if items else first - 1
    payload = {"items": items, "ack": inbound_hwm(session), **anchor.for_bundle(session.store.db)}  # heads for the township to anchor
    return dict(kind="outbox", sender=session.station_code, recipient=peer["hub_id"], seq_from=first, seq_to=seq_to,
                counts=counts, created_at=audit.now_iso(), payload=payload,
                sign_key=signing.signing_key(session), recipient_enc=bytes(peer["enc_pub"])), first, seq_to


@dataclass
class Applied:
    acked_through: int = 0
    applied: int = 0
    quarantined: list[dict] = field(default_factory=list)
    clock_problem: str | None = None  # this PC's clock is far from the township's (see ``clock_problem``)


def clock_problem(hub_time: str, now: datetime | None = None) -> str | None:
    """What to tell the clerk when this PC's clock is more than the allowed skew away from the time
    the township wrote on its reply (None when it is close, or the time cannot be read). Ahead, the
    station's new events are set aside by the township; behind, its due dates are wrong."""
    try:
        theirs = datetime.fromisoformat(hub_time)
        mine = now or datetime.now(theirs.tzinfo)
        off_ms = (mine - theirs).total_seconds() * 1000
    except (TypeError, ValueError):
        return None
    if abs(off_ms) <= MAX_CLOCK_SKEW_MS:
        return None
    return (f"本机电脑的时钟不对:比乡镇服务器{'快' if off_ms > 0 else '慢'}约 {int(abs(off_ms) // 3_600_000)} 小时。"
            "请校准电脑的日期和时间;时钟超前时新办的事件会被乡镇搁置")


def apply_reply(session: Session, data: bytes) -> Applied:
    """Open the hub's bundle and apply it in one transaction (idempotent: replays change nothing)."""
    peer = hub(session)
    if peer is None:
        raise SyncFailed("本站尚未在乡镇登记:请先用乡镇给的登记码或登记文件完成登记")
    opened = open_bundle(data, me=session.station_code, my_enc=encryption_key(session),
                         sender_key=lambda s: bytes(peer["sign_pub"]) if s == peer["hub_id"] else None)
    h, payload = opened.header, opened.payload
    result = Applied(clock_problem=clock_problem(h["created_at"]))
    touched_catalog = touched_calendar = touched_rules = False
    with session.store.transaction() as db:
        row = db.execute("SELECT value FROM settings WHERE key = 'sync_inbound_hwm'").fetchone()
        hwm = int(row[0]) if row else 0
        step = protocol.plan(hwm, h["seq_from"], h["seq_to"])
        items = protocol.check_items(payload.get("items", []), h["seq_from"], h["seq_to"], protocol.ITEM_KINDS_FROM_HUB)
        ack = protocol.ack_of(payload)
        db.execute("UPDATE outbox SET acked = 1 WHERE acked = 0 AND seq <= ?", (ack,))
        _catch_up(db, payload)
        anchor.take_reply(db, payload, peer["hub_id"], session.user.username)  # the township's anchor and findings
        result.acked_through = ack
        for item in items:
            if item["seq"] <= step.skip_through:
                continue
            db.execute("SAVEPOINT hub_item")  # an item set aside leaves nothing half-written behind
            try:
                kind = _apply_hub_item(db, session, peer, item)
                db.execute("RELEASE SAVEPOINT hub_item")
                touched_catalog |= kind == "catalog"
                touched_calendar |= kind == "calendar"
                touched_rules |= kind == "rules"
                result.applied += 1
            except (ValidationError, KeyError, TypeError, ValueError, StationError, sqlcipher3.IntegrityError) as exc:
                db.execute("ROLLBACK TO SAVEPOINT hub_item")
                db.execute("RELEASE SAVEPOINT hub_item")
                # An IntegrityError: the record collides with one of ours (e.g. a restored case whose number
                # this station has since given to another case) — set aside, the rest of the reply goes on.
                reason = exc.title if isinstance(exc, StationError) else \
                    "与本站已有记录冲突(如代办件编号重复),未导入:请与乡镇核对" if isinstance(exc, sqlcipher3.IntegrityError) else "内容格式不对"
                db.execute("INSERT INTO sync_quarantine (source, seq, kind, reason, data, at) VALUES (?,?,?,?,?,?)",
                           (peer["hub_id"], item["seq"], item["kind"], reason, json.dumps(item["data"], ensure_ascii=False),
                            audit.now_iso()))
                result.quarantined.append({"seq": item["seq"], "reason": reason})
        for q in payload.get("quarantined", []) if isinstance(payload.get("quarantined"), list) else []:
            if not isinstance(q, dict) or type(q.get("seq")) is not int or not 0 <= q["seq"] <= bundle.MAX_SEQ:
                continue
            db.execute("INSERT INTO sync_quarantine (source, seq, kind, reason, data, at) VALUES (?,?,?,?,NULL,?)",
                       (session.station_code, q.get("seq"), "outbox", f"乡镇未能接收:{q.get('reason')}", audit.now_iso()))
        db.execute("INSERT INTO settings (key, value) VALUES ('sync_inbound_hwm', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   (str(step.new_hwm),))
        if result.applied or ack:
            audit.record(db, session.user.username, "sync.reply", peer["hub_id"], {"applied": result.applied, "acked": ack})
    if touched_catalog:
        session.forget_catalog()
    if touched_calendar:
        session.forget_calendar()
    if touched_rules:
        session.forget_rules()
    return result


def _apply_hub_item(db, session: Session, peer: dict, item: dict) -> str:
    data = item["data"]
    if item["kind"] == "event":
        data = CaseEvent.model_validate(data).model_dump(mode="json")
        check_received(data["stamp"], "乡镇服务器")  # a wrong township clock is set aside, not absorbed
    owner = None
    if item["kind"] == "notice" and isinstance(data.get("id"), str):
        row = db.execute("SELECT created_by FROM notices WHERE id = ?", (data["id"],)).fetchone()
        owner = None if row is None else peer["hub_id"] if row[0] == peer["hub_id"] else session.station_code
    reason = policy.judge_from_hub(session.station_code, peer["hub_id"], item["kind"], data, policy.Facts(owner=owner))
    if reason:
        raise ValidationFailed(reason)
    if item["kind"] == "event":
        event = CaseEvent.model_validate(data)
        if not db.execute("SELECT 1 FROM cases WHERE id = ?", (event.case_id,)).fetchone():
            raise ValidationFailed("乡镇事件所属的代办件在本站不存在")
        db.execute("INSERT OR IGNORE INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) "
                   "VALUES (?,?,?,?,?,?,?,NULL,?)", (event.id, event.case_id, event.type.value, event.stamp, event.node, event.user,
                                                     json.dumps(event.payload, ensure_ascii=False), audit.now_iso()))
        session.clock.observe(event.stamp)
        cases.project(db, cases.fold(event.case_id, cases.events_of(session, event.case_id)))
        return "event"
    if item["kind"] == "restore":
        return restore.apply(db, session, data)
    if item["kind"] == "catalog":
        parsed = parse_catalog(data)
        if isinstance(parsed, list):
            raise ValidationFailed("事项清单有误")
        catalog.install(db, parsed, session.user.username, f"乡镇 {peer['hub_id']}")
        return "catalog"
    if item["kind"] == "rules":
        from station.services import rules
        rules.install(db, rules.checked(data), session.user.username, f"乡镇 {peer['hub_id']}")
        session.forget_rules()
        return "rules"
    if item["kind"] == "notice":
        from station.services import bulletin
        bulletin.receive_township_notice(db, session, data, peer["hub_id"])
        return "notice"
    if item["kind"] == "ledger_list":
        from ledgers.service import apply_township_list
        apply_township_list(db, session, data)
        return "ledger_list"
    calendar.store_year_in(db, session, data, f"乡镇 {peer['hub_id']}")
    return "calendar"


@dataclass
class Round:
    sent: int = 0
    received: int = 0
    quarantined: list[dict] = field(default_factory=list)
    clock_problem: str | None = None


def sync_once(session: Session, transport: Transport, max_rounds: int = 1000) -> Round:
    """Push everything unacknowledged and take what the hub has, until both are done.

    While the township applies one bundle, the next is built and sealed here (the push waits on the
    network in a thread of its own), so a long backlog costs about the slower of the two sides rather
    than their sum. The bundle built ahead is sent only if the reply left the outbox as it was built
    from: everything before it acknowledged and its records still under the same numbers (a station
    behind the hub renumbers what it has not sent), and the reply brought no records (the bundle's
    acknowledgement of the township's records must be the one after them). Nothing is built ahead
    while the township is sending records down. A failure building ahead is said after the reply
    to the bundle already pushed has been taken in."""
    peer = hub(session)
    if peer is None:
        raise SyncFailed("本站尚未在乡镇登记:请先用乡镇给的登记码或登记文件完成登记")
    total = Round()
    ahead = None  # (bundle, first, last, its outbox rows) built while the previous push was out
    downstream = False  # the last reply brought records
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-push") as pool:
        for _ in range(max_rounds):
            if ahead is not None and not downstream and _unacked_from(session) == ahead[1] \
                    and _outbox_range(session, ahead[1], ahead[2]) == ahead[3]:
                data, first, last = ahead[:3]
            else:
                data, first, last = build_bundle(session, peer)
            ahead = None
            try:
                out = pool.submit(transport.push, data)
                failed_ahead = None
                try:
                    if last >= first and not downstream and _more_after(session, last):
                        built = build_bundle(session, peer, first=last + 1)
                        ahead = (*built, _outbox_range(session, built[1], built[2]))
                except Exception as exc:  # said after the reply to what was pushed is taken in
                    failed_ahead = exc
                reply = out.result()  # the push's own failure first: it is what the clerk must hear
                result = apply_reply(session, reply)
                # A reply that brought records moved this station's acknowledgement of them: the bundle
                # built before it would acknowledge less, and the township send them again.
                downstream = result.applied > 0
                if failed_ahead is not None:
                    raise failed_ahead
            except BundleRejected as exc:
                record_error(session, exc.reason)
                raise SyncFailed(f"同步失败:{exc.reason}") from None
            except SyncFailed as exc:
                record_error(session, exc.title)
                raise
            total.sent += max(0, last - first + 1)
            total.received += result.applied
            total.quarantined += result.quarantined
            total.clock_problem = result.clock_problem
            if pending(session) == 0 and result.applied == 0:
                break
    record_success(session)
    if total.clock_problem:  # on the Today screen and in station sync --status until the clock is right
        record_error(session, total.clock_problem)
    return total


def _unacked_from(session: Session) -> int | None:
    return session.store.scalar("SELECT min(seq) FROM outbox WHERE acked = 0")


def _more_after(session: Session, seq: int) -> bool:
    return session.store.scalar("SELECT 1 FROM outbox WHERE seq > ? LIMIT 1", (seq,)) is not None


def _outbox_range(session: Session, first: int, last: int) -> list[tuple]:
    return [tuple(r.values()) for r in session.store.query("SELECT seq, kind, ref_id FROM outbox WHERE seq >= ? AND seq <= ? ORDER BY seq",
                                                           (first, last))]


def _set(session: Session, key: str, value: str | None) -> None:
    with session.store.transaction() as db:
        if value is None:
            db.execute("DELETE FROM settings WHERE key = ?", (key,))
        else:
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def record_success(session: Session) -> None:
    # Local time: the clerk reads it against the clock on the wall.
    _set(session, "sync_last_success", datetime.now().strftime("%Y-%m-%d %H:%M"))
    _set(session, "sync_last_error", None)


def record_error(session: Session, message: str) -> None:
    _set(session, "sync_last_error", message)
