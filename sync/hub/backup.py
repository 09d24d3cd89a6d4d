"""``township backup OUT`` and ``township restore IN``: the hub's store and its keyring, copied at one
moment, checked, and put back into a fresh store.

A backup is a folder::

    OUT/hub.db         SQLite hub: SQLite's online backup API into a copy under the same key (encrypted)
    OUT/hub.pgdump     PostgreSQL hub: ``pg_dump -Fc`` of the hub's tables (personal data sealed, pgstore.py)
    OUT/keys.json      the keyring, byte for byte (a backup opens with a passphrase or the recovery code)
    OUT/manifest.json  hub, time, kind, schema, per-table row counts and digests, SHA-256 of each file

The counts and digests are taken from the same moment as the copy: on SQLite from the backup
connection's read transaction, on PostgreSQL from a repeatable-read transaction whose snapshot
``pg_dump --snapshot`` is given. After writing, the copy is read back (SQLite: opened with the key;
PostgreSQL: ``pg_restore --list``). ``restore`` checks every file's SHA-256 before asking for a
secret, refuses a data dir or a database that already holds a hub, restores (SQLite: the file;
PostgreSQL: ``pg_restore --single-transaction --exit-on-error`` into the empty database given with
``--db``), opens the result with the keyring's key and compares every table's count and digest and
the audit chain with the manifest before the data dir is left in place.
"""
from __future__ import annotations

import glob
import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from station.errors import StationError, StoreError
from station.fileio import OWNER_ONLY, atomic_write
from station.store import keys as keyring
from station.store.db import connect

KIND = "village-township-hub-backup"
MANIFEST, KEYS = "manifest.json", "keys.json"
SQLITE_FILE, PG_FILE = "hub.db", "hub.pgdump"


def pg_tool(name: str) -> str:
    """A PostgreSQL client program, the newest installed (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    tool = found[-1] if found else shutil.which(name)
    if not tool:
        raise StationError(f"没有找到 PostgreSQL 的 {name} 程序:请安装 postgresql-client")
    return tool


def _tables(conn, pg: bool) -> list[str]:
    if pg:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'hub_schema' "
                            "ORDER BY tablename").fetchall()
    else:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return [r[0] for r in rows]


def contents(conn, pg: bool, key: bytes) -> dict[str, list]:
    """Per table: [row count, HMAC-SHA-256 of its rows] (rows as text, sorted: independent of storage
    order; keyed with the store key so the manifest confirms no guess about the data). On PostgreSQL
    ``conn`` is the store's ``PgConn`` (values opened) and the hidden ``rowid`` is left out."""
    out = {}
    for table in _tables(conn, pg):
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] if not pg else d.name for d in cur.description]
        keep = [i for i, n in enumerate(names) if n != "rowid"]
        lines = sorted(json.dumps([_plain(row[i]) for i in keep], ensure_ascii=False) for row in cur.fetchall())
        out[table] = [len(lines), hmac.new(key, "\n".join(lines).encode("utf-8"), hashlib.sha256).hexdigest()]
    return out


def _plain(v):
    return "b:" + bytes(v).hex() if isinstance(v, (bytes, bytearray, memoryview)) else v


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def create(home, key: bytes, out: Path) -> dict:
    """Back up the hub of ``home`` (unlocked with ``key``) into the new folder ``out``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise StationError(f"备份目录 {out} 不是空的,不会覆盖")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys_bytes = home.keys_path.read_bytes()
    dsn = home.dsn()
    if dsn:
        kind, data_file, counts, schema = "postgresql", PG_FILE, *_dump_pg(dsn, key, out / PG_FILE)
    else:
        kind, data_file, counts, schema = "sqlite", SQLITE_FILE, *_copy_sqlite(home.db_path, key, out / SQLITE_FILE)
    if home.keys_path.read_bytes() != keys_bytes:
        raise StationError("备份过程中密钥文件发生了变化:本次备份不可用,请重新备份")
    atomic_write(out / KEYS, keys_bytes, OWNER_ONLY)
    manifest = {"kind": KIND, "store": kind, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "schema_version": schema, "tables": counts,
                "files": {name: _sha(out / name) for name in (data_file, KEYS)}}
    atomic_write(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), OWNER_ONLY)
    return manifest


def _copy_sqlite(db_path: Path, key: bytes, target: Path) -> tuple[dict, int]:
    src = connect(db_path, key)
    try:
        src.execute("BEGIN")  # one moment for the counts and every copied page
        counts = contents(src, pg=False, key=key)
        schema = src.execute("PRAGMA user_version").fetchone()[0]
        target.touch(mode=OWNER_ONLY)
        dst = connect(target, key)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
        src.execute("ROLLBACK")
    finally:
        src.close()
    check = connect(target, key, read_only=True)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok" or contents(check, pg=False, key=key) != counts:
            raise StoreError("备份写入后读回校验不通过:请换一个位置重新备份")
    finally:
        check.close()
    return counts, schema


def _dump_pg(dsn: str, key: bytes, target: Path) -> tuple[dict, int]:
    from sync.hub.pgstore import PgStore, schema_version
    s = PgStore(dsn, key)
    try:
        # A repeatable-read snapshot, exported: pg_dump copies exactly what the counts were taken from.
        s.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = s.scalar("SELECT pg_export_snapshot()")
        counts = contents(s.conn, pg=True, key=key)
        schema = schema_version(s)
        r = subprocess.run([pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-acl", f"--snapshot={snapshot}",
                            "-f", str(target), "-d", dsn], capture_output=True, text=True)
        s.conn.execute("ROLLBACK")
    finally:
        s.close()
    if r.returncode != 0:
        raise StoreError(f"pg_dump 未能完成备份:{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
    target.chmod(OWNER_ONLY)
    listed = subprocess.run([pg_tool("pg_restore"), "--list", str(target)], capture_output=True, text=True)
    if listed.returncode != 0 or not all(f" {t} " in listed.stdout for t in counts):
        raise StoreError("备份文件读回校验不通过(pg_restore 无法列出全部表):请重新备份")
    return counts, schema


def check(folder: Path) -> dict:
    """The manifest, once every file it names has the SHA-256 it recorded."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        raise StationError(f"{folder} 不是乡镇服务器的备份(缺少或无法读取 {MANIFEST})") from None
    if manifest.get("kind") != KIND:
        raise StationError(f"{folder} 不是乡镇服务器的备份")
    for name, digest in manifest["files"].items():
        if not (folder / name).exists() or _sha(folder / name) != digest:
            raise StationError(f"备份文件 {name} 缺失或已损坏(校验值不符),不能恢复")
    return manifest


def restore(folder: Path, home, username: str, passphrase: str, dsn: str | None = None) -> dict:
    """Put the backup in ``folder`` into the fresh data dir of ``home`` (and, for a PostgreSQL backup,
    the empty database ``dsn``); compare it with the manifest. Returns the manifest."""
    from sync.hub.pgstore import PgStore, PostgresHubStore, is_dsn, schema_version
    from sync.hub.store import SQLiteHubStore
    folder = Path(folder)
    manifest = check(folder)
    if home.db_path.exists() or home.keys_path.exists() or home.db_conf.exists():
        raise StationError(f"目录 {home.dir} 中已经有乡镇服务器数据,不会覆盖;请指定新的数据目录")
    if manifest["store"] == "postgresql" and not is_dsn(dsn):
        raise StationError("这是 PostgreSQL 服务器的备份:请用 --db postgresql://… 指定一个空数据库来恢复")
    if manifest["store"] == "sqlite" and dsn:
        raise StationError("这是 SQLite 服务器的备份:先恢复到数据目录,再用 township migrate 迁入 PostgreSQL")
    key = keyring.KeyRing.load(folder / KEYS).unlock(username, passphrase)
    home.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if manifest["store"] == "sqlite":
            shutil.copyfile(folder / SQLITE_FILE, home.db_path)
            home.db_path.chmod(OWNER_ONLY)
            SQLiteHubStore(home.db_path, key).close()  # opens with the key (and migrates an older schema)
            conn = connect(home.db_path, key)
            try:
                got = contents(conn, pg=False, key=key)
            finally:
                conn.close()
        else:
            probe = PgStore(dsn, key)
            try:
                if schema_version(probe) is not None:
                    raise StationError("该 PostgreSQL 数据库中已经有乡镇服务器数据,不会覆盖;请指定一个空数据库")
            finally:
                probe.close()
            r = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
                                "-d", dsn, str(folder / PG_FILE)], capture_output=True, text=True)
            if r.returncode != 0:
                raise StoreError(f"pg_restore 未能恢复:{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
            store = PostgresHubStore(dsn, key)  # proves the keyring opens this data
            try:
                got = contents(store.s.conn, pg=True, key=key)
            finally:
                store.close()
        if got != manifest["tables"]:
            differ = sorted(t for t in set(got) | set(manifest["tables"]) if got.get(t) != manifest["tables"].get(t))
            raise StoreError(f"恢复后核对不符:表 {'、'.join(differ)} 与备份时不同")
        atomic_write(home.keys_path, (folder / KEYS).read_bytes(), OWNER_ONLY)
        if dsn:
            atomic_write(home.db_conf, json.dumps({"dsn": dsn}, ensure_ascii=False).encode("utf-8"), OWNER_ONLY)
        hub = home.unlock(username, passphrase)
        try:
            _, problems = hub.store.verify_audit()
        finally:
            hub.store.close()
        if problems:
            raise StoreError(f"恢复后审计链核对不通过:{problems[0].message}")
    except BaseException:
        for path in (home.db_path, home.keys_path, home.db_conf):
            path.unlink(missing_ok=True)
        raise
    return manifest
