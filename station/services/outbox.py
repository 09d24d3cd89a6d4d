"""The station's outbox: every record that must go up to the township gets the next sequence
number here, inside the transaction that writes it. Sync (HTTP or USB) sends them in order and
marks them acknowledged when the township's answer comes back."""
from __future__ import annotations

from typing import TYPE_CHECKING

from station.services import audit

if TYPE_CHECKING:
    import sqlite_utils


def add(db: sqlite_utils.Database, kind: str, ref_id: str) -> int:
    """Queue one record (by kind and id); returns its outbox sequence number."""
    cur = db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES (?, ?, ?)", (kind, ref_id, audit.now_iso()))
    return cur.lastrowid
