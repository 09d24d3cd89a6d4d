"""The station's hash chains and the township's anchor on them (乡镇确认的链头).

Two chains are kept: the audit trail (``audit``) and the ledger entries (``ledger_entries``);
each remembers its head (last sequence and hash) in ``settings``. Someone holding the database
key can cut a chain and rewrite its head so that it walks clean on its own; what they cannot
rewrite is the head the township acknowledged at the last sync. This module reads the chains'
heads and the hash at a position (for the bundle sync sends), keeps the acknowledged anchor,
and checks the local chains against it. The sync side (what goes in a bundle, what the hub
judges) lives in ``sync/anchor.py``; this module knows nothing of sync.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

GENESIS = "0" * 64
# chain name → (table, settings key of its head, what the clerk calls it)
CHAINS = {"audit": ("audit", "audit_head", "审计日志"), "ledger": ("ledger_entries", "ledger_head", "台账")}
ANCHOR_KEY = "township_anchor"
ALERT_KINDS = tuple(f"{c}_chain" for c in CHAINS)  # what the township found, kept in sync_quarantine


def label(chain: str) -> str:
    return CHAINS[chain][2]


def last_entry(db: sqlite_utils.Database, chain: str) -> tuple[int, str]:
    """What the chain really ends with (seq 0 and the genesis hash when it is empty)."""
    row = db.execute(f"SELECT seq, hash FROM {CHAINS[chain][0]} ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), row[1]) if row else (0, GENESIS)


def stored_head(db: sqlite_utils.Database, chain: str) -> tuple[int, str] | None:
    """The head kept in settings, or None when there is none."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", (CHAINS[chain][1],)).fetchone()
    if row is None:
        return None
    seq, _, digest = row[0].partition(":")
    return int(seq), digest


def set_head(db: sqlite_utils.Database, chain: str, seq: int, digest: str) -> None:
    """Call inside the transaction that appended entry ``seq``."""
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               (CHAINS[chain][1], f"{seq}:{digest}"))


def hash_at(db: sqlite_utils.Database, chain: str, seq: int) -> str | None:
    row = db.execute(f"SELECT hash FROM {CHAINS[chain][0]} WHERE seq = ?", (seq,)).fetchone()
    return row[0] if row else None


def acknowledged(db: sqlite_utils.Database) -> dict[str, tuple[int, str]]:
    """The heads the township last acknowledged, per chain: ``{"audit": (seq, hash), ...}``."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", (ANCHOR_KEY,)).fetchone()
    if row is None:
        return {}
    try:
        doc = json.loads(row[0])
        return {c: (int(doc[c]["seq"]), str(doc[c]["hash"])) for c in CHAINS if isinstance(doc.get(c), dict)}
    except (ValueError, TypeError, KeyError):
        return {}  # a damaged setting is as good as none: the township still holds the anchor


def store_acknowledged(db: sqlite_utils.Database, anchors: dict[str, tuple[int, str]], hub_id: str, at: str) -> None:
    doc = {c: {"seq": seq, "hash": digest} for c, (seq, digest) in anchors.items() if c in CHAINS}
    doc.update(hub=hub_id, at=at)
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               (ANCHOR_KEY, json.dumps(doc, sort_keys=True)))


def check(db: sqlite_utils.Database, chain: str) -> list[tuple[int, str]]:
    """The local chain against the township's anchor: the anchored entry still there with the
    same hash, and the stored head not below it. Returns (seq, message in Chinese) pairs."""
    anchor = acknowledged(db).get(chain)
    if anchor is None or anchor[0] <= 0:
        return []
    seq, digest = anchor
    name = label(chain)
    found = hash_at(db, chain, seq)
    if found is None:
        return [(seq, f"{name}第 {seq} 条已不存在,而乡镇上次同步时已确认本站{name}至少有 {seq} 条(末尾记录被删除)")]
    if found != digest:
        return [(seq, f"{name}第 {seq} 条与乡镇上次同步时确认的不一致(此前的记录被改写)")]
    head = stored_head(db, chain)
    if head is not None and head[0] < seq:
        return [(head[0], f"{name}链头只到第 {head[0]} 条,低于乡镇已确认的第 {seq} 条(链头被改动)")]
    return []
