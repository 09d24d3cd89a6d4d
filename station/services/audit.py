"""The audit trail (审计日志): every mutation, hash-chained.

Each entry's hash covers its own fields and the previous entry's hash, and the head (last
sequence and hash) is kept in ``settings`` in the same transaction. ``verify`` then detects an
edited entry (its hash no longer matches), a deleted or reordered one (the chain breaks or
the sequence has a gap) and a truncated tail (the head no longer matches the last entry).
Someone holding the database key could cut or rewrite the chain consistently, head included;
the head the township acknowledged at the last sync (``anchor``) is what shows that, here and
at the hub.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from station.services import anchor

if TYPE_CHECKING:
    import sqlite_utils

GENESIS = "0" * 64
# What one entry says, before the chain gives it a number, a time and a hash: (action, target, detail).
AuditEntry = tuple[str, str | None, dict | None]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _digest(seq: int, at: str, user: str | None, action: str, target: str | None, detail: str, prev: str) -> str:
    body = json.dumps([seq, at, user, action, target, detail, prev], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(db: sqlite_utils.Database, user: str | None, action: str, target: str | None = None, detail: dict | None = None) -> int:
    """Append one entry. Call inside the mutation's transaction."""
    return record_all(db, user, [(action, target, detail)])


def record_all(db: sqlite_utils.Database, user: str | None, entries: list[AuditEntry]) -> int:
    """Append entries (action, target, detail) in order, chained as ``record`` would one by one,
    reading and writing the head once. Call inside the mutation's transaction; returns the last seq."""
    head = db.execute("SELECT value FROM settings WHERE key = 'audit_head'").fetchone()
    seq, prev = (0, GENESIS) if head is None else (int(head[0].split(":")[0]), head[0].split(":")[1])
    at = now_iso()
    rows = []
    for action, target, detail in entries:
        seq += 1
        detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = _digest(seq, at, user, action, target, detail_json, prev)
        rows.append((seq, at, user, action, target, detail_json, prev, digest))
        prev = digest
    db.conn.executemany("INSERT INTO audit (seq, at, user, action, target, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)", rows)
    db.execute("INSERT INTO settings (key, value) VALUES ('audit_head', ?) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (f"{seq}:{prev}",))
    return seq


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    message: str


def verify(db: sqlite_utils.Database) -> tuple[int, list[AuditProblem]]:
    """Walk the chain; return the number of entries checked and every problem found."""
    problems: list[AuditProblem] = []
    prev, expected_seq, count = GENESIS, 1, 0
    cur = db.execute("SELECT seq, at, user, action, target, detail, prev_hash, hash FROM audit ORDER BY seq")
    for seq, at, user, action, target, detail, prev_hash, stored in cur:
        count += 1
        if seq != expected_seq:
            problems.append(AuditProblem(seq, f"第 {expected_seq} 至 {seq - 1} 条记录缺失(被删除)"))
        if prev_hash != prev:
            problems.append(AuditProblem(seq, f"第 {seq} 条记录与前一条接不上(记录被删除或调换了顺序)"))
        if _digest(seq, at, user, action, target, detail, prev_hash) != stored:
            problems.append(AuditProblem(seq, f"第 {seq} 条记录内容与其校验值不符(记录被改动)"))
        prev, expected_seq = stored, seq + 1
    head = db.execute("SELECT value FROM settings WHERE key = 'audit_head'").fetchone()
    if head is None:
        if count:
            problems.append(AuditProblem(None, "审计链头记录缺失"))
    else:
        head_seq, head_hash = head[0].split(":")
        if int(head_seq) != expected_seq - 1 or head_hash != prev:
            problems.append(AuditProblem(int(head_seq), f"审计记录应有 {head_seq} 条,实有 {count} 条,末尾记录被删除或改动"))
    problems += [AuditProblem(seq, message) for seq, message in anchor.check(db, "audit")]
    return count, problems
