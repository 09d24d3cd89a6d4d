"""``township migrate --to postgresql://…``: a township's SQLCipher hub moves into PostgreSQL, losslessly.

Every table of the SQLite store is copied row by row, in insertion order, into a fresh PostgreSQL
store built by the same migrations (so both are at the same schema version), inside one
PostgreSQL transaction while a write transaction holds the SQLite file still. Values pass through
the PostgreSQL store's sealing, so personal data arrives encrypted; the data key stays the one in
``keys.json`` (the same key that opened the SQLite file), so the keyring, the passphrases and the
recovery code carry on unchanged. The hub's own keys, the stations' keys, high-water marks,
sequence numbers, outboxes and the audit chain are rows like any other: stations sync on without
enrolling again.

Before the switch, the copy is checked table by table: the same rows (every column, in primary-key
order) read back from PostgreSQL, and the audit chain verified there. Only then is the data dir
pointed at PostgreSQL (``database.json``) and ``hub.db`` renamed beside it (kept, not deleted).
Stop ``township serve`` before migrating.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from station.errors import StationError, StoreError
from station.fileio import OWNER_ONLY, atomic_write
from sync.hub.pgstore import PostgresHubStore, is_dsn
from sync.hub.store import SQLiteHubStore


def _tables(src: SQLiteHubStore) -> list[tuple[str, list[str], list[str], bool]]:
    """(table, columns, primary key columns, has an INTEGER PRIMARY KEY identity) for every table."""
    out = []
    for (name,) in src.s.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        info = src.s.conn.execute(f"PRAGMA table_info({name})").fetchall()
        cols = [r[1] for r in info]
        pk = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])] or cols
        int_pk = len(pk) == 1 and any(r[1] == pk[0] and r[2].upper() == "INTEGER" and r[5] for r in info)
        out.append((name, cols, pk, int_pk))
    return out


def _without_rowid(src: SQLiteHubStore, table: str) -> bool:
    sql = src.s.scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)) or ""
    return "WITHOUT ROWID" in sql.upper()


def _norm(v):
    return bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else v


def _digest(rows) -> tuple[int, str]:
    h, n = hashlib.sha256(), 0
    for row in rows:
        n += 1
        h.update(json.dumps([_norm(v).hex() if isinstance(_norm(v), bytes) else v for v in row], ensure_ascii=False).encode())
    return n, h.hexdigest()


def migrate(src: SQLiteHubStore, dsn: str, key: bytes) -> dict:
    """Copy ``src`` into a new hub store at ``dsn`` and check it; returns the per-table row counts.
    Raises (and leaves the PostgreSQL database without a hub) if anything differs."""
    if not is_dsn(dsn):
        raise StationError("数据库地址无效:应以 postgresql:// 开头")
    dst = PostgresHubStore(dsn, key, create=True)
    counts: dict[str, int] = {}
    try:
        tables = _tables(src)
        with src.transaction():  # the SQLite file holds still while it is copied and compared
            with dst.transaction():
                for table, cols, pk, int_pk in tables:
                    order = "rowid" if not _without_rowid(src, table) else ", ".join(pk)
                    rows = src.s.conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}").fetchall()
                    dst.s.conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                                           [tuple(_norm(v) for v in r) for r in rows])
                    if int_pk:  # the identity goes on after the copied numbers
                        dst.s.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{pk[0]}'), "
                                           f"coalesce((SELECT max({pk[0]}) FROM {table}), 0) + 1, false)")
                    counts[table] = len(rows)
            for table, cols, pk, _ in tables:
                order = ", ".join(pk)
                mine = _digest(src.s.conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}"))
                theirs = _digest(dst.s.conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}"))
                if mine != theirs:
                    raise StoreError(f"迁移后核对不符:表 {table} 原有 {mine[0]} 行,PostgreSQL 中 {theirs[0]} 行或内容不同")
            entries, problems = dst.verify_audit()
            if problems or entries != src.verify_audit()[0]:
                raise StoreError(f"迁移后审计链核对不通过:{problems[0].message if problems else '条数不同'}")
    except BaseException:
        _drop_all(dst)
        dst.close()
        raise
    dst.close()
    return counts


def _drop_all(dst: PostgresHubStore) -> None:
    """A failed migration leaves no half hub behind (a retry starts clean)."""
    try:
        tables = [r["tablename"] for r in dst.s.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        with dst.s.transaction():
            for t in tables:
                dst.s.conn.execute(f'DROP TABLE IF EXISTS "{t}" CASCADE')
    except Exception:  # noqa: BLE001 - best effort; the original error is the one to report
        pass


def switch(home, dsn: str) -> str:
    """Point the data dir at PostgreSQL; ``hub.db`` is kept under another name. Returns that name."""
    kept = home.db_path.with_name(f"hub-sqlite-before-migrate-{datetime.now():%Y%m%d-%H%M%S}.db")
    atomic_write(home.db_conf, json.dumps({"dsn": dsn}, ensure_ascii=False).encode("utf-8"), OWNER_ONLY)
    for path in (home.db_path, home.db_path.with_name("hub.db-wal"), home.db_path.with_name("hub.db-shm")):
        if path.exists():
            path.rename(kept.with_name(kept.name + path.name[len("hub.db"):]))
    return kept.name
