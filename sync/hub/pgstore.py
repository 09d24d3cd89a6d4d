"""The hub's store on PostgreSQL (a county's hub), with psycopg 3.

One store implementation, two databases. ``PostgresHubStore`` *is* ``SQLiteHubStore``: every
method and every ``HUB_MIGRATIONS`` step runs unchanged; only what sits under them differs.
``SQLiteHubStore`` talks to ``self.s`` (a ``station.store.db.Store``: ``query``, ``one``,
``scalar``, ``transaction``, ``conn.execute``/``executemany``, ``db.execute``/``executescript``
and ``db[table].insert``). Here ``self.s`` is a ``PgStore`` with the same surface over one
psycopg connection, which

- rewrites each statement with ``sync.hub.dialect.to_pg`` (placeholders, ``INSERT OR IGNORE``,
  DDL types, ``WITHOUT ROWID``, the reserved ``user``), so a migration step or a store method
  another branch adds in plain SQLite SQL runs here as well;
- encrypts personal data before it leaves the process (the hook below): the columns named in
  ``SEALED`` are sealed with AES-256-GCM (``cryptography``'s ``AESGCM``, a fresh 96-bit nonce per
  value) under a data key derived with HKDF from the hub's 32-byte store key, the very key that
  SQLCipher uses on a township PC and that stays wrapped in the data dir's ``keys.json``. Values
  are found by the column they are written to (INSERT column lists, UPDATE SET lists, table
  inserts) and opened on every read wherever they show up (a sealed value carries a marker).
  On SQLite the hook is the identity: SQLCipher encrypts the whole file.

Ids, station codes, statuses, dates, sequence numbers and amounts stay in the clear and
queryable; residents, events' payloads, scans (name and bytes), ledger, infrastructure, notice
and objection documents, quarantined items, the outbox, held bundles and the hub's own private
keys never reach PostgreSQL's files, WAL or dumps in the clear. A sealed value is not bound to
its row: someone who can write to the database could swap two of them (as they could delete
rows); the audit chain and the stations' anchors are what catch tampering.

A new personal-data column added by a migration must be added to ``SEALED`` (on both the
write and the test side, ``tests/sync/test_pg_store.py`` scans a dump).
"""
from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import threading
from typing import Iterator

import psycopg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from station.errors import FieldError, StoreError, ValidationFailed
from sync.hub import dialect
from sync.hub.store import HUB_MIGRATIONS, SQLiteHubStore

# Columns that carry personal data (or the hub's secrets), sealed before they reach PostgreSQL.
SEALED: dict[str, set[str]] = {
    "residents": {"data"},
    "events": {"payload"},
    "attachments": {"name", "data"},
    "ledger_entries": {"data"},
    "infra_events": {"data"},
    "notices": {"data"},
    "objections": {"data"},
    "quarantine": {"data"},
    "outbox": {"data"},
    "held": {"data"},
    "hub_keys": {"private"},
    "enrol_sessions": {"key"},
    "stations": {"enrol_key"},
    "staff": {"display_name"},  # a staff member's real name (their passphrase is in keys.json, never here)
}
_MARK_S = "\x01VS1:"   # a sealed text value: marker + base64(nonce ‖ ciphertext)
_MARK_B = b"\x01VS1B"  # a sealed binary value: marker + nonce ‖ ciphertext
_AAD = b"village-hub column v1"
SCHEMA_TABLE = "hub_schema"
# pg_advisory_xact_lock key for schema migrations (several workers may start at once).
_MIGRATE_LOCK = 0x56534855  # "VSHU"
_AUDIT_LOCK = 0x56534841  # "VSHA": appends to the audit chain


def is_dsn(text: str | None) -> bool:
    return bool(text) and text.startswith(("postgresql://", "postgres://"))


class Sealer:
    """AES-256-GCM over single column values, under a key derived from the hub's store key."""

    def __init__(self, store_key: bytes):
        if len(store_key) != 32:
            raise StoreError("内部错误:数据库密钥长度不正确")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"village-hub postgresql columns v1").derive(store_key)
        self.aead = AESGCM(key)

    def seal(self, value):
        if value is None:
            return None
        nonce = os.urandom(12)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _MARK_B + nonce + self.aead.encrypt(nonce, bytes(value), _AAD)
        text = str(value).encode("utf-8")
        return _MARK_S + base64.b64encode(nonce + self.aead.encrypt(nonce, text, _AAD)).decode("ascii")

    def open(self, value):
        try:
            if isinstance(value, str) and value.startswith(_MARK_S):
                raw = base64.b64decode(value[len(_MARK_S):])
                return self.aead.decrypt(raw[:12], raw[12:], _AAD).decode("utf-8")
            if isinstance(value, (bytes, memoryview)) and bytes(value[:len(_MARK_B)]) == _MARK_B:
                raw = bytes(value)[len(_MARK_B):]
                return self.aead.decrypt(raw[:12], raw[12:], _AAD)
        except Exception:
            raise StoreError("数据库中的加密数据无法解开:数据被改动,或与本服务器的密钥不符") from None
        return value


@functools.lru_cache(maxsize=512)
def _translated(sql: str, has_params: bool) -> str:
    return dialect.to_pg(sql, has_params)


@functools.lru_cache(maxsize=512)
def _sealed_slots(sql: str) -> tuple[tuple[str, int | str], ...]:
    """Where a statement's sealed values sit among its parameters (empty: none)."""
    written = dialect.written_columns(sql)
    if not written:
        return ()
    table, cols = written
    sealed = SEALED.get(table.lower(), set())
    return tuple((col, slot) for col, slot in cols if col.lower() in sealed)


class PgCursor:
    """A psycopg cursor whose rows come back with sealed values opened."""

    def __init__(self, cur: psycopg.Cursor, sealer: Sealer):
        self.cur, self.sealer = cur, sealer

    @property
    def rowcount(self) -> int:
        return self.cur.rowcount

    @property
    def description(self):
        return self.cur.description

    def _row(self, row):
        return None if row is None else tuple(self.sealer.open(v) for v in row)

    def fetchone(self):
        return self._row(self.cur.fetchone() if self.cur.description else None)

    def fetchall(self):
        return [self._row(r) for r in self.cur.fetchall()] if self.cur.description else []

    def __iter__(self):
        return iter(self.fetchall())


class PgConn:
    """The ``conn`` of a ``PgStore``: ``execute`` and ``executemany`` in the hub's SQLite SQL."""

    def __init__(self, raw: psycopg.Connection, sealer: Sealer, lock: threading.RLock, dsn: str):
        self.raw, self.sealer, self.lock, self.dsn = raw, sealer, lock, dsn

    def _lost(self) -> bool:
        return self.raw.closed or self.raw.info.status == psycopg.pq.ConnStatus.BAD

    def _run(self, fn):
        """``fn(cursor)``; outside a transaction, a connection PostgreSQL dropped (a server restart, a
        failover, an idle timeout) is opened again and the statement tried once more. Inside one, the
        error goes up: the transaction is lost and the caller's work is retried as a whole (a station
        sends its bundle again)."""
        with self.lock:
            fresh = not self.in_transaction
            if fresh and self._lost():
                self.raw = connect(self.dsn)
            try:
                with _errors():
                    return fn(self.raw.cursor())
            except StoreError:
                if not (fresh and self._lost()):
                    raise
            self.raw = connect(self.dsn)
            with _errors():
                return fn(self.raw.cursor())

    def _params(self, sql: str, params):
        slots = _sealed_slots(sql)
        if not slots or not params:
            return params
        if isinstance(params, dict):
            params = dict(params)
            for _, slot in slots:
                if isinstance(slot, str) and slot in params:
                    params[slot] = self.sealer.seal(params[slot])
            return params
        params = list(params)
        for _, slot in slots:
            if isinstance(slot, int) and slot < len(params):
                params[slot] = self.sealer.seal(params[slot])
        return params

    def execute(self, sql: str, params=()) -> PgCursor:
        params = self._params(sql, params)
        query = _translated(sql, bool(params))

        def run(cur):
            cur.execute(query, params or None)
            return PgCursor(cur, self.sealer)
        return self._run(run)

    def executemany(self, sql: str, rows) -> PgCursor | None:
        """Every row through one statement; as sqlite3's, the cursor's ``rowcount`` is the rows it changed."""
        rows = [self._params(sql, r) for r in rows]
        if not rows:
            return None
        query = _translated(sql, True)

        def run(cur):
            cur.executemany(query, rows)
            return PgCursor(cur, self.sealer)
        return self._run(run)

    @property
    def in_transaction(self) -> bool:
        if self.raw.closed:
            return False
        return self.raw.info.transaction_status in (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR,
                                                    psycopg.pq.TransactionStatus.ACTIVE)


class PgTable:
    def __init__(self, db: "PgDb", name: str):
        self.db, self.name = db, name

    def insert(self, row: dict) -> None:
        cols = list(row)
        self.db.conn.execute(f"INSERT INTO {self.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                             tuple(row.values()))


class PgDb:
    """The ``db`` of a ``PgStore``: what migrations and ``station.services.audit`` use of sqlite-utils."""

    def __init__(self, conn: PgConn):
        self.conn = conn

    def execute(self, sql: str, params=()) -> PgCursor:
        return self.conn.execute(sql, params)

    def executescript(self, script: str) -> None:
        for statement in dialect.split_script(script):
            self.conn.execute(statement)

    def __getitem__(self, table: str) -> PgTable:
        return PgTable(self, table)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except psycopg.OperationalError as exc:
        raise StoreError(f"无法访问 PostgreSQL 数据库:{str(exc).strip().splitlines()[0] if str(exc).strip() else '连接中断'}") from None
    except psycopg.DataError as exc:
        # A value PostgreSQL cannot hold though SQLite can: a NUL character in text (from a hostile
        # request or bundle), a number past 64 bits. Bad input, said so (HTTP 400), never a 500.
        nul = "NUL" in str(exc)
        raise ValidationFailed("数据无效", [FieldError("value", "nul_byte" if nul else "bad_value",
                                                     "文本中含有空字符(0x00),不能保存" if nul else "数值超出范围或格式不对,不能保存")]) from None


def connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10, application_name="village-hub")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise StoreError(f"无法连接 PostgreSQL 数据库({first});请检查 --db 地址、用户名和密码") from None


class PgStore:
    """``station.store.db.Store``'s surface over one PostgreSQL connection (see the module docstring)."""

    def __init__(self, dsn: str, key: bytes):
        self.dsn = dsn
        self.lock = threading.RLock()
        self.sealer = Sealer(key)
        self.conn = PgConn(connect(dsn), self.sealer, self.lock, dsn)
        self.db = PgDb(self.conn)

    @property
    def raw(self) -> psycopg.Connection:
        return self.conn.raw  # replaced when PostgreSQL dropped the connection (PgConn._run)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgDb]:
        with self.lock:
            if self.conn.in_transaction:
                raise StoreError("内部错误:事务不能嵌套")
            self.conn.execute("BEGIN")
            try:
                yield self.db
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    self.raw.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(psycopg.Error):
                        self.raw.execute("ROLLBACK")
                    raise

    def query(self, sql: str, params=()) -> list[dict]:
        with self.lock:
            cur = self.conn.execute(sql, params)
            cols = [d.name for d in cur.description or ()]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        if "rowid" in cols and "rowid" not in sql.lower().split("from")[0].replace("*", ""):
            for r in rows:  # the hidden insertion-order column of ``SELECT *`` (dialect.py)
                del r["rowid"]
        return rows

    def one(self, sql: str, params=()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params=()):
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self.lock:
            self.raw.close()

    def __enter__(self) -> "PgStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def schema_version(s: PgStore) -> int | None:
    """The hub schema's version in this database; None when it holds no hub."""
    if s.scalar("SELECT to_regclass(?)", (SCHEMA_TABLE,)) is None:
        return None
    return s.scalar(f"SELECT version FROM {SCHEMA_TABLE}")


class PostgresHubStore(SQLiteHubStore):
    """``HubStore`` on PostgreSQL: ``SQLiteHubStore``'s methods over a ``PgStore``."""

    def __init__(self, dsn: str, key: bytes, create: bool = False):
        self.s = PgStore(dsn, key)  # type: ignore[assignment]
        try:
            current = schema_version(self.s)
            if current is None and not create:
                raise StoreError("该 PostgreSQL 数据库中没有乡镇服务器数据:请先运行 township init --db")
            if current is not None and create and self.s.scalar("SELECT count(*) FROM settings WHERE key = 'hub_id'"):
                raise StoreError("该 PostgreSQL 数据库中已经有乡镇服务器数据,不会覆盖")
            self.migrate()
            if not create and self.s.scalar("SELECT value FROM settings WHERE key = 'hub_id'") is not None:
                self._check_key()
        except BaseException:
            self.s.close()
            raise

    def migrate(self) -> None:
        """Bring the schema up to ``len(HUB_MIGRATIONS)``, each step in its own transaction with
        its version number; an advisory lock keeps two workers starting at once from racing."""
        while True:
            with self.s.transaction() as db:
                db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATE_LOCK,))
                if schema_version(self.s) is None:
                    db.execute(f"CREATE TABLE {SCHEMA_TABLE} (version INTEGER NOT NULL)")
                    db.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (0)")
                current = self.s.scalar(f"SELECT version FROM {SCHEMA_TABLE}")
                if current > len(HUB_MIGRATIONS):
                    raise StoreError("该 PostgreSQL 数据库由更新版本的乡镇服务器建立,请升级本程序")
                if current == len(HUB_MIGRATIONS):
                    return
                HUB_MIGRATIONS[current](db)
                db.execute(f"UPDATE {SCHEMA_TABLE} SET version = ?", (current + 1,))

    def _check_key(self) -> None:
        """The hub's own private key opens under this data key: the keyring and the database belong together."""
        row = self.s.raw.execute("SELECT private FROM hub_keys LIMIT 1").fetchone()
        if row is not None:
            try:
                self.s.sealer.open(row[0])
            except StoreError:
                raise StoreError("该 PostgreSQL 数据库不属于本乡镇服务器的密钥(密钥文件与数据库不符)") from None

    def lock_station(self, code):
        """A transaction-scoped advisory lock per station code: bundles from one station (and township
        work on its cases, enrolment attempts at its code) apply one at a time across all workers;
        other stations go on in parallel. The key is the code's SHA-256, first 8 bytes, signed."""
        key = int.from_bytes(hashlib.sha256(b"station:" + code.encode("utf-8")).digest()[:8], "big", signed=True)
        self.s.conn.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def audit(self, user, action, target, detail):
        # The hub's one audit chain: each entry takes the head the last one left, so appends queue
        # here (until commit) rather than two workers writing the same sequence number.
        self.s.conn.execute("SELECT pg_advisory_xact_lock(?)", (_AUDIT_LOCK,))
        super().audit(user, action, target, detail)

    def take_enrol_session(self, session_id):
        # One statement: two workers asked for the same session cannot both get it (one try per session).
        return self.s.one("DELETE FROM enrol_sessions WHERE id = ? RETURNING *", (session_id,))

    def verify_audit(self):
        from station.services import audit
        return audit.verify(self.s.db)  # type: ignore[arg-type]
