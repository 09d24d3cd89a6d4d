"""Opening the encrypted SQLite file, and the one transaction helper.

SQLCipher (``sqlcipher3``) with a raw 32-byte key, used through ``sqlite_utils.Database``.
WAL journal and ``synchronous=FULL`` because power cuts are routine at village stations;
temporary tables and indices stay in memory so nothing decrypted reaches a temp file.
The file is created 0600 and SQLite gives its ``-wal`` and ``-shm`` the database file's mode;
files left more open by earlier versions are tightened on every open (``fileio.owner_only``).
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import sqlcipher3

from station.core.ids import shortened
from station.errors import FieldError, StoreError, ValidationFailed
from station.fileio import OWNER_ONLY, owner_only
from station.store import failures

if TYPE_CHECKING:
    import sqlite_utils

SQLITE_HEADER = b"SQLite format 3\x00"
HMAC = "HMAC_SHA256"
# How long a statement waits for another program's lock before saying the file is in use.
BUSY_TIMEOUT_S = 10.0


def _storage_error(exc: BaseException, path: Path) -> BaseException:
    """A storage failure as the clerk's message (disk full, read-only, locked, damaged);
    anything else (a constraint, a bug) unchanged."""
    return failures.translate(exc, path) or exc


def sidecars(path: Path) -> list[Path]:
    """The database file and the files SQLite keeps beside it."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


class Store:
    """An open, unlocked station database. Close it when done."""

    def __init__(self, conn: sqlcipher3.Connection, path: Path):
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        self.path = path
        # The app reads in worker threads while the UI thread may write: one connection, so
        # every statement and every whole transaction holds this lock.
        self.lock = threading.RLock()

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the connection, made when first needed (every write goes through it).
        Reading never does, and importing sqlite-utils is ~40 ms of the app's start to 今日."""
        if self._db is None:
            import sqlite_utils
            with self.lock:
                if self._db is None:
                    self._db = sqlite_utils.Database(self.conn)
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction: everything inside commits together or not at all.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue instead of
        deadlocking when a reader tries to upgrade. sqlite-utils nests in savepoints.
        """
        with self.lock:
            if self.conn.in_transaction:
                raise StoreError("内部错误:事务不能嵌套")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlcipher3.Error as exc:
                raise _storage_error(exc, self.path) from None
            try:
                yield self.db
            except BaseException as exc:
                if self.conn.in_transaction:
                    try:
                        self.conn.execute("ROLLBACK")
                    except sqlcipher3.Error:
                        pass  # SQLite rolls back on its own after a full disk or an I/O error
                # Only SQLite's own failures: an OSError from the caller's files (a stick, a
                # scan) is the caller's to explain.
                if isinstance(exc, sqlcipher3.Error):
                    raise _storage_error(exc, self.path) from None
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlcipher3.Error as exc:
                    if self.conn.in_transaction:
                        try:
                            self.conn.execute("ROLLBACK")
                        except sqlcipher3.Error:
                            pass
                    raise _storage_error(exc, self.path) from None

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        with self.lock:
            try:
                cur = self.conn.execute(sql, params)
                cols = [d[0] for d in cur.description]
                return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
            except sqlcipher3.Error as exc:
                raise _storage_error(exc, self.path) from None

    def one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def resolve_id(self, table: str, column: str, ref: str) -> str | None:
        """The one id in ``table.column`` that a clerk's ``ref`` names: the whole id, or its first or last
        characters (at least eight; listings show the last, ``station.core.ids.short``). None if none.
        A ref that fits more than one is refused, never resolved to whichever comes first: a correction
        or a payment must not land on another record."""
        part = shortened(ref)
        if part is None:
            return self.scalar(f"SELECT {column} FROM {table} WHERE {column} = ? LIMIT 1", (ref,))
        found = [r[column] for r in self.query(f"SELECT DISTINCT {column} FROM {table} WHERE {column} = ? OR {column} LIKE ? "
                                               f"OR {column} LIKE ? LIMIT 2", (part, part + "%", "%" + part))]
        if len(found) > 1:  # (a whole id fits itself alone)
            raise ValidationFailed(f"编号“{ref}”对应不止一条记录", [FieldError("id", "ambiguous", "请多输入几位,或输入完整编号")])
        return found[0] if found else None

    def scalar(self, sql: str, params: tuple | dict = ()):
        with self.lock:
            try:
                row = self.conn.execute(sql, params).fetchone()
            except sqlcipher3.Error as exc:
                raise _storage_error(exc, self.path) from None
            return row[0] if row else None

    def rekey(self, new_key: bytes) -> None:
        """Re-encrypt the whole file under ``new_key`` with SQLCipher's own ``PRAGMA rekey``, then
        prove it on a second connection. SQLCipher rewrites every page in one transaction (in
        WAL mode, one commit frame), so a power cut leaves the file wholly under one key or the
        other; callers keep both keys at hand until this returns (``services/rekey.py``)."""
        if len(new_key) != 32:
            raise StoreError("内部错误:数据库密钥长度不正确")
        with self.lock:
            if self.conn.in_transaction:
                raise StoreError("内部错误:更换密钥时不能有未完成的事务")
            try:
                self.conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
            except sqlcipher3.DatabaseError as exc:
                raise StoreError(f"更换数据库密钥失败({exc});数据库仍用原密钥,可稍后重试") from None
            probe = sqlcipher3.connect(str(self.path), isolation_level=None, timeout=10)
            try:
                probe.execute(f"PRAGMA key = \"x'{new_key.hex()}'\"")
                probe.execute(f"PRAGMA cipher_hmac_algorithm = {HMAC}")
                probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher3.DatabaseError as exc:
                raise StoreError(f"更换密钥后无法用新密钥打开数据库({exc});旧密钥仍保留在密钥文件中") from None
            finally:
                probe.close()

    def close(self) -> None:
        with self.lock:
            self._close()

    def _close(self) -> None:
        try:
            # Fold the WAL back into the main file so a copied station.db is whole.
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlcipher3.DatabaseError:
            pass
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(path: Path, key: bytes, read_only: bool = False) -> sqlcipher3.Connection:
    """A bare SQLCipher connection to ``path`` with the raw key and the station's cipher settings,
    the key proven by a first read. ``read_only`` opens without any right to write (used to check
    a backup copy without touching a byte of it). ``open_store`` adds the journal and safety settings."""
    if len(key) != 32:
        raise StoreError("内部错误:数据库密钥长度不正确")
    path = Path(path)
    target = Path(path).resolve().as_uri() + "?mode=ro" if read_only else str(path)
    try:
        conn = sqlcipher3.connect(target, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S,
                                  uri=read_only)
    except sqlcipher3.Error as exc:
        raise failures.diagnose_open(path, key, exc) from None
    try:
        # SQLCipher logs HMAC failures in English on stderr; the clerk gets our message instead.
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        # HMAC-SHA256 page authentication: as strong for integrity as the default SHA-512 and
        # ~15% cheaper per commit on the slow PCs this runs on. Fixed for every station file;
        # other SQLCipher tools need the same pragma to open one.
        conn.execute(f"PRAGMA cipher_hmac_algorithm = {HMAC}")
        # The first read proves the key. It fails alike for a wrong key, a damaged first page and
        # a disk too full for the -shm file: ``failures`` tells them apart.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.Error as exc:
        conn.close()
        raise failures.diagnose_open(path, key, exc) from None
    return conn


def open_store(path: Path, key: bytes, create: bool = False) -> Store:
    """Open (or create) the database at ``path`` with the raw key; check the key is right."""
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"找不到数据库文件 {path}")
    if create and not path.exists():
        # Made empty with owner-only permission before SQLite opens it: SQLite keeps the mode
        # of an existing file and copies it to the -wal and -shm files it creates beside it.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))
        except OSError as exc:
            raise _storage_error(exc, path) from None
    conn = connect(path, key)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -16000")
        owner_only(*sidecars(path))
    except (sqlcipher3.Error, OSError) as exc:
        conn.close()
        raise failures.translate(exc, path) or failures.damaged(path, str(exc)) from None
    return Store(conn, path)
