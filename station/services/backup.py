"""Backups a clerk makes onto a USB stick (备份), and putting one back on a new PC (恢复).

Not every township runs a hub, and a village PC's disk fails. A backup is the whole station::

    <stick>/村站备份-<站码>/<YYYYMMDD-HHMMSS>/station.db      the encrypted store, same key
                                            keys.json       the key ring, byte for byte
                                            manifest.json   station, time, versions, counts, SHA-256 of each file

The store is copied with SQLite's online backup API from a connection of its own that holds one
read transaction: the counts and every copied page come from the same moment, while the app (or
another process) goes on writing. A file copy of a live WAL database is not one moment. Each
generation is written under a temporary name, fsynced, opened again with the key and checked
(SQLCipher page MACs, SQLite integrity, row counts equal to the snapshot's), then renamed into
place; generations beyond ``keep`` are removed, never the one just written.

A backup is useless without a user's passphrase or the recovery code: the store is encrypted and
``keys.json`` holds only wraps of its key. ``restore`` checks the manifest and each file's SHA-256
before asking for any secret, unlocks, checks the copy again (integrity, counts, audit chain) and
only then writes a fresh station folder. It never overwrites a station.

Leaves to others: finding the stick (TUI, CLI) and the key wraps themselves (``store.keys``:
``keys.json`` is carried as opaque bytes and read only through ``KeyRing``).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Callable

import sqlcipher3
import sqlite_utils
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from station.errors import AlreadyExists, BackupFailed, FieldError, StationError, StoreError, ValidationFailed
from station.fileio import fsync_dir
from station.services import audit, settings
from station.services.session import DB_FILE, KEYS_FILE, Session, StationHome
from station.store.db import connect, open_store
from station.store.keys import KeyRing
from station.store.migrations import LATEST, migrate

PREFIX = "村站备份-"
MANIFEST = "manifest.json"
FILES = (DB_FILE, KEYS_FILE)
FORMAT = 1
KIND = "village-station-backup"
# What a clerk would miss first; compared between the live snapshot, the copy and the manifest.
COUNTED = ("cases", "events", "residents", "ledger_entries", "attachments")
STEP_PAGES = 256  # pages per online-backup step: the progress bar moves on a 1 MB/s stick
CHUNK = 1 << 20
PART = ".part"
# A temporary folder this old is left over from a pulled stick or a power cut, not a backup
# still being written by another window.
STALE_PART_S = 3600
_GENERATION = re.compile(r"^\d{8}-\d{6}(-\d+)?$")
_MAC_INFO = b"village-station/backup-manifest"

Progress = Callable[[str, int, int], None]  # (stage: "copy" | "verify" | "restore", done, total)


@dataclass
class BackupResult:
    folder: Path
    manifest: dict
    pruned: list[str] = field(default_factory=list)

    @property
    def audit_ok(self) -> bool:
        return self.manifest["audit"]["ok"]

    def as_dict(self) -> dict:
        m = self.manifest
        return {"folder": str(self.folder), "created_at": m["created_at"], "counts": m["counts"], "files": m["files"],
                "schema_version": m["schema_version"], "audit_ok": self.audit_ok, "pruned": self.pruned}


@dataclass
class BackupInfo:
    """One generation found on a stick; ``problem`` says why it cannot be used (quick check only)."""

    folder: Path
    manifest: dict | None
    problem: str | None

    def as_dict(self) -> dict:
        m = self.manifest or {}
        return {"folder": str(self.folder), "ok": self.problem is None, "problem": self.problem,
                "station_code": m.get("station", {}).get("code"), "station_name": m.get("station", {}).get("name"),
                "created_at": m.get("created_at"), "counts": m.get("counts"),
                "bytes": sum(f["size"] for f in m["files"].values()) if m else None}


@dataclass
class RestoreResult:
    data_dir: Path
    station_code: str
    station_name: str
    created_at: str
    counts: dict
    audit_entries: int

    def as_dict(self) -> dict:
        return {"data_dir": str(self.data_dir), "station_code": self.station_code, "station_name": self.station_name,
                "backup_created_at": self.created_at, "counts": self.counts, "audit_entries": self.audit_entries}


# --- making a backup -------------------------------------------------------------------------
def create(session: Session, stick_dir: Path | str, keep: int | None = None, progress: Progress | None = None,
           now: datetime | None = None) -> BackupResult:
    """Write a verified generation under ``stick_dir``, prune old ones, audit it, remember the time."""
    keep = settings.backup_keep(session) if keep is None else keep
    if keep < 1:
        raise ValidationFailed("保留份数无效", [FieldError("keep", "out_of_range", "至少要保留 1 份备份")])
    stick = Path(stick_dir)
    if not stick.is_dir():
        raise BackupFailed(f"找不到U盘或文件夹“{stick}”:请插好U盘,或选择一个存在的文件夹")
    now = (now or datetime.now()).astimezone()
    base = stick / f"{PREFIX}{session.station_code}"
    made_base = not base.exists()
    try:
        base.mkdir(exist_ok=True)
        _sweep_parts(base)
        name = _free_name(base, now.strftime("%Y%m%d-%H%M%S"))
        tmp = base / f".{name}{PART}"
        tmp.mkdir(mode=0o700)
    except OSError as exc:
        _remove_if_empty(base, made_base)
        raise _stick_error(exc, stick) from None
    final = base / name
    try:
        manifest = _write_generation(session, tmp, now, progress)
        os.rename(tmp, final)
        fsync_dir(base)
    except BaseException as exc:
        # Nothing half-written stays on the stick: a temporary folder is never taken for a backup.
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_if_empty(base, made_base)
        if isinstance(exc, (OSError, sqlcipher3.Error)):
            raise _stick_error(exc, stick) from None
        raise
    pruned = prune(base, keep, name)
    with session.store.transaction() as db:
        db.execute("INSERT INTO settings (key, value) VALUES ('last_backup_at', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (manifest["created_at"],))
        audit.record(db, session.user.username, "backup.create", name,
                     {"folder": str(final), "counts": manifest["counts"], "sha256": manifest["files"][DB_FILE]["sha256"],
                      "pruned": pruned})
    return BackupResult(final, manifest, pruned)


def _write_generation(session: Session, tmp: Path, now: datetime, progress: Progress | None) -> dict:
    home = StationHome(session.store.path.parent)
    keys_bytes = home.keys_path.read_bytes()
    db_path = tmp / DB_FILE
    # Our own connection: the app keeps writing through its own, and WAL lets it while we read.
    src = connect(session.store.path, session.db_key)
    try:
        # One read transaction pins the snapshot: counts and every page the backup steps copy
        # come from the same moment, and other writers never make the copy restart.
        src.execute("BEGIN")
        counts = _counts(src)
        schema = src.execute("PRAGMA user_version").fetchone()[0]
        _create_private(db_path)
        dst = connect(db_path, session.db_key)
        try:
            src.backup(dst, pages=STEP_PAGES,
                       progress=(lambda _status, left, total: progress("copy", total - left, total)) if progress else None)
            # The copy carries the source's WAL flag; make it one self-contained file.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        src.execute("ROLLBACK")
    finally:
        src.close()
    _fsync(db_path)
    if home.keys_path.read_bytes() != keys_bytes:
        raise BackupFailed("备份过程中密码或密钥文件发生了变化:本次备份未保存,请重新备份")
    _write_private(tmp / KEYS_FILE, keys_bytes)
    if progress:
        progress("verify", 0, 1)
    copied, problems, audit_entries, audit_problems = _inspect(db_path, session.db_key)
    if problems or copied != counts:
        raise BackupFailed("写入U盘后读回校验不通过:U盘可能有坏块,请换一个U盘重新备份。本站数据未受影响",
                           [FieldError("copy", "verify_failed", p) for p in problems])
    files = {name: _file_entry(tmp / name) for name in FILES}
    manifest = {"format": FORMAT, "kind": KIND, "station": {"code": session.station_code, "name": session.station_name},
                "created_at": now.isoformat(timespec="seconds"), "created_by": session.user.username,
                "app_version": _app_version(), "schema_version": schema, "files": files, "counts": counts,
                "audit": {"entries": audit_entries, "ok": not audit_problems}}
    _write_private(tmp / MANIFEST, _seal(manifest, session.db_key))
    fsync_dir(tmp)
    if progress:
        progress("verify", 1, 1)
    return manifest


def prune(base: Path, keep: int, just_written: str) -> list[str]:
    """Remove the oldest generations so ``keep`` remain; the one just written always stays
    (even when the PC's clock was wrong and its name sorts first)."""
    others = sorted(p.name for p in base.iterdir() if p.is_dir() and _GENERATION.match(p.name) and p.name != just_written)
    doomed = others[:max(0, len(others) - (keep - 1))]
    removed = []
    for name in doomed:
        try:
            shutil.rmtree(base / name)
            removed.append(name)
        except OSError:
            pass  # an old generation that cannot be removed costs room, not data
    return removed


# --- looking at a stick ------------------------------------------------------------------------
def list_backups(path: Path | str) -> list[BackupInfo]:
    """Generations under ``path`` (a stick, a ``村站备份-…`` folder, or one generation), newest first.
    A quick look: manifest readable and whole, files present with the recorded sizes."""
    path = Path(path)
    if not path.is_dir():
        raise BackupFailed(f"找不到U盘或文件夹“{path}”")
    if (path / MANIFEST).exists():
        generations = [path]
    else:
        bases = [path] if path.name.startswith(PREFIX) else sorted(p for p in path.glob(PREFIX + "*") if p.is_dir())
        generations = [g for b in bases for g in b.iterdir() if g.is_dir() and _GENERATION.match(g.name)]
    infos = [_quick_info(g) for g in generations]
    return sorted(infos, key=lambda i: ((i.manifest or {}).get("created_at") or "", i.folder.name), reverse=True)


def resolve(path: Path | str) -> Path:
    """The generation to restore: ``path`` itself, or the newest usable one below it."""
    path = Path(path)
    if (path / MANIFEST).exists():
        return path
    usable = [i for i in list_backups(path) if i.problem is None]
    if not usable:
        raise BackupFailed(f"“{path}”中没有找到可用的备份")
    codes = sorted({i.manifest["station"]["code"] for i in usable})
    if len(codes) > 1:
        raise BackupFailed(f"“{path}”中有多个服务站的备份({'、'.join(codes)}):请指定其中一个文件夹")
    return usable[0].folder


def check(folder: Path | str) -> dict:
    """The manifest, once it and every file's size and SHA-256 check out; else ``BackupFailed``.
    Needs no secret, so a damaged backup is refused before anyone types a passphrase."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    for name in FILES:
        entry, path = manifest["files"].get(name), folder / name
        if entry is None or not path.is_file():
            raise BackupFailed(f"备份不完整:缺少 {name}。这份备份不能恢复,请用另一份备份")
        size, digest = _hash_file(path)
        if size != entry["size"] or digest != entry["sha256"]:
            raise BackupFailed(f"备份已损坏:{name} 与清单记录的校验值不符(U盘可能有坏块,或文件被改动过)。"
                               "这份备份不能恢复,请用另一份备份")
    return manifest


def users_in(folder: Path | str) -> list[str]:
    """The logins whose passphrase opens this backup (read from its key ring; nothing is written)."""
    return KeyRing.load(Path(folder) / KEYS_FILE).users()


# --- restoring --------------------------------------------------------------------------------
def restore(folder: Path | str, target_dir: Path | str, username: str | None = None, passphrase: str | None = None,
            recovery_code: str | None = None, progress: Progress | None = None) -> RestoreResult:
    """Check, unlock, check again, then write a fresh station at ``target_dir`` (never over one)."""
    folder = Path(folder)
    manifest = check(folder)
    target = StationHome(target_dir)
    refuse_existing(target)
    if manifest["schema_version"] > LATEST:
        raise BackupFailed(f"这份备份来自更新版本的软件(数据库版本 {manifest['schema_version']}):请先升级本软件再恢复")
    keys_bytes = (folder / KEYS_FILE).read_bytes()
    if hashlib.sha256(keys_bytes).hexdigest() != manifest["files"][KEYS_FILE]["sha256"]:
        raise BackupFailed("备份已损坏:keys.json 在检查后发生了变化,请重新插好U盘再试")
    db_key = _unlock(keys_bytes, username, passphrase, recovery_code)
    if not hmac.compare_digest(str(manifest.get("mac", "")), _mac(manifest, db_key)):
        raise BackupFailed("备份清单与其中的数据库不符(清单被改动过,或不是这份数据库的清单):不能恢复")
    if progress:
        progress("verify", 0, 1)
    try:
        counts, problems, _, audit_problems = _inspect(folder / DB_FILE, db_key)
    except StoreError:
        raise BackupFailed("备份数据库无法用该密钥打开:文件已损坏。请用另一份备份") from None
    if problems:
        raise BackupFailed("备份数据库完整性检查不通过:不能恢复,请用另一份备份",
                           [FieldError("station.db", "integrity", p) for p in problems])
    if counts != manifest["counts"]:
        raise BackupFailed("备份中的记录数与清单不符:不能恢复,请用另一份备份")
    if audit_problems:
        raise BackupFailed("备份中的审计链校验不通过(记录被改动、删除或调换):不能恢复,请联系乡镇",
                           [FieldError("audit", "broken", p.message) for p in audit_problems])
    if progress:
        progress("verify", 1, 1)
    entries = _place(folder, target, manifest, keys_bytes, db_key, username, progress)
    return RestoreResult(target.dir, manifest["station"]["code"], manifest["station"]["name"], manifest["created_at"],
                         manifest["counts"], entries)


def refuse_existing(target: StationHome) -> None:
    if target.exists():
        raise AlreadyExists(f"目录 {target.dir} 中已经有一个服务站,恢复不会覆盖它。请指定一个新的空文件夹(--data-dir)")
    if target.dir.exists() and (not target.dir.is_dir() or any(target.dir.iterdir())):
        raise AlreadyExists(f"目录 {target.dir} 不是空文件夹,恢复不会往里面写。请指定一个新的空文件夹(--data-dir)")


def _unlock(keys_bytes: bytes, username: str | None, passphrase: str | None, recovery_code: str | None) -> bytes:
    if not recovery_code and not (username and passphrase):
        raise ValidationFailed("需要密码或恢复码", [FieldError("passphrase", "required", "请给出用户名和密码,或乡镇保管的恢复码")])
    # KeyRing.unlock counts failed attempts in its file. Count them in a scratch copy (it holds
    # only wraps and login names), never in the backup: that would change its bytes.
    with tempfile.TemporaryDirectory(prefix="vs-restore-") as scratch:
        path = Path(scratch) / KEYS_FILE
        path.write_bytes(keys_bytes)
        try:
            ring = KeyRing.load(path)
        except StoreError:
            raise BackupFailed("备份中的密钥文件无法识别:请用另一份备份,或升级本软件") from None
        if recovery_code:
            return ring.unlock_recovery(recovery_code)
        return ring.unlock(username, passphrase)


def _place(folder: Path, target: StationHome, manifest: dict, keys_bytes: bytes, db_key: bytes,
           username: str | None, progress: Progress | None) -> int:
    """Copy into a temporary sibling folder, record the restore, then rename it into place."""
    parent = target.dir.parent
    staging = parent / f".{target.dir.name}.restoring{PART}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)  # left by an earlier attempt cut short
        staging.mkdir(mode=0o700)
        digest = _copy_private(folder / DB_FILE, staging / DB_FILE, progress)
        if digest != manifest["files"][DB_FILE]["sha256"]:
            raise BackupFailed("从U盘读取备份时校验不符:U盘可能接触不良,请重新插好后再试")
        _write_private(staging / KEYS_FILE, keys_bytes)
        fsync_dir(staging)
        store = open_store(staging / DB_FILE, db_key)
        try:
            migrate(store)
            with store.transaction() as db:
                audit.record(db, username, "backup.restore", folder.name,
                             {"from": str(folder), "created_at": manifest["created_at"], "counts": manifest["counts"],
                              "unlocked_with": "recovery_code" if username is None else "passphrase"})
            entries, _ = audit.verify(store.db)
        finally:
            store.close()
        if target.dir.exists():
            target.dir.rmdir()  # an empty folder (refuse_existing checked); rename cannot replace it on Windows
        os.rename(staging, target.dir)
        fsync_dir(parent)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, (OSError, sqlcipher3.Error)):
            raise BackupFailed(f"无法写入文件夹 {parent}:{_reason(exc)}。没有写入任何内容") from None
        raise
    return entries


def counts_text(counts: dict) -> str:
    return (f"代办件 {counts['cases']} 件、群众 {counts['residents']} 人、台账记录 {counts['ledger_entries']} 条、"
            f"扫描件 {counts['attachments']} 份")


# --- pieces ------------------------------------------------------------------------------------
def _counts(conn) -> dict[str, int]:
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {t: (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in present else 0) for t in COUNTED}


def _inspect(db_path: Path, key: bytes) -> tuple[dict, list[str], int, list]:
    """Open a copy read-only (not a byte of it changes) and check it: page MACs, SQLite's own
    integrity check, the counts, the audit chain."""
    conn = connect(db_path, key, read_only=True)
    try:
        problems = [" ".join(map(str, r)) for r in conn.execute("PRAGMA cipher_integrity_check")]
        problems += [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        counts = _counts(conn)
        entries, audit_problems = audit.verify(sqlite_utils.Database(conn))
    except sqlcipher3.DatabaseError as exc:
        return {}, [str(exc)], 0, []
    finally:
        conn.close()
    return counts, problems, entries, audit_problems


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _mac(manifest: dict, db_key: bytes) -> str:
    """HMAC-SHA256 of the manifest under a key derived (HKDF) from the database key: only someone
    who could open the store could have written this manifest."""
    body = {k: v for k, v in manifest.items() if k not in ("mac", "checksum")}
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_MAC_INFO).derive(db_key)
    return hmac.new(mac_key, _canonical(body), hashlib.sha256).hexdigest()


def _checksum(manifest: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in manifest.items() if k != "checksum"})).hexdigest()


def _seal(manifest: dict, db_key: bytes) -> bytes:
    manifest["mac"] = _mac(manifest, db_key)
    manifest["checksum"] = _checksum(manifest)
    return (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _read_manifest(folder: Path) -> dict:
    if not folder.is_dir():
        raise BackupFailed(f"找不到备份文件夹“{folder}”")
    try:
        raw = (folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise BackupFailed(f"“{folder}”不是本软件的备份:缺少清单文件 {MANIFEST}") from None
    except OSError as exc:
        raise BackupFailed(f"无法读取备份清单:{_reason(exc)}") from None
    return parse_manifest(raw, folder)


def parse_manifest(raw: bytes, folder: Path | None = None) -> dict:
    """The manifest's content, or ``BackupFailed`` when its text is not exactly what was sealed."""
    damaged = BackupFailed(f"备份已损坏:清单文件 {MANIFEST} 被改动或损坏。这份备份不能恢复,请用另一份备份")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise damaged from None
    # The checksum catches any change to the text that still parses: every single flipped bit.
    if not isinstance(doc, dict) or not hmac.compare_digest(str(doc.get("checksum", "")), _checksum(doc)):
        raise damaged
    if doc.get("kind") != KIND:
        raise BackupFailed(f"“{folder}”不是本软件的备份")
    if doc.get("format") != FORMAT:
        raise BackupFailed(f"备份格式 {doc.get('format')} 无法识别:请升级本软件后再恢复")
    try:
        _ = (doc["station"]["code"], doc["created_at"], doc["counts"], doc["schema_version"])
        for name in FILES:
            _ = (doc["files"][name]["size"], doc["files"][name]["sha256"])
    except (KeyError, TypeError):
        raise damaged from None
    return doc


def _quick_info(folder: Path) -> BackupInfo:
    try:
        manifest = _read_manifest(folder)
    except BackupFailed as exc:
        return BackupInfo(folder, None, exc.title)
    for name in FILES:
        path = folder / name
        if not path.is_file() or path.stat().st_size != manifest["files"][name]["size"]:
            return BackupInfo(folder, manifest, f"{name} 缺失或大小不符")
    return BackupInfo(folder, manifest, None)


def _free_name(base: Path, stamp: str) -> str:
    """The time-stamped name, with -2, -3 … when two backups fall in the same second."""
    name, n = stamp, 1
    while (base / name).exists() or (base / f".{name}{PART}").exists():
        n += 1
        name = f"{stamp}-{n}"
    return name


def _sweep_parts(base: Path) -> None:
    """Remove temporary folders left by a backup cut short (stick pulled, power cut)."""
    for part in base.glob(f".*{PART}"):
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime > STALE_PART_S:
                shutil.rmtree(part)


def _remove_if_empty(folder: Path, we_made_it: bool) -> None:
    if we_made_it:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _create_private(path: Path) -> None:
    """An empty file only its owner may read, for SQLite to fill (it keeps the file's mode)."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600))


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _copy_private(src: Path, dst: Path, progress: Progress | None) -> str:
    total, done, digest = src.stat().st_size, 0, hashlib.sha256()
    fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            done += len(chunk)
            if progress:
                progress("restore", done, total)
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _file_entry(path: Path) -> dict:
    # Hashed from what was read back off the stick, not from what we meant to write.
    size, digest = _hash_file(path)
    return {"size": size, "sha256": digest}


def _app_version() -> str:
    try:
        return metadata.version("village-station")
    except metadata.PackageNotFoundError:
        return "unknown"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


# SQLite's fixed texts for its result codes: the Connection.backup() error carries no code attribute.
_SQLITE_TEXTS = {"database or disk is full": 13, "attempt to write a readonly database": 8}


def _sqlite_code(exc: BaseException) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    return _SQLITE_TEXTS.get(str(exc).strip(), 0) if isinstance(exc, sqlcipher3.Error) else 0


def _stick_error(exc: BaseException, stick: Path) -> StationError:
    code = getattr(exc, "errno", None)
    sqlite_code = _sqlite_code(exc)
    if code in (errno.ENOSPC, errno.EDQUOT) or sqlite_code == 13:  # SQLITE_FULL
        return BackupFailed(f"U盘空间不足({stick}):本次备份没有写成,U盘上也没有留下半份备份。"
                            "请删除U盘上不需要的文件或换一个更大的U盘后重试。本站数据未受影响")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or sqlite_code == 8:  # SQLITE_READONLY
        return BackupFailed(f"U盘不能写入({stick}):U盘可能打开了写保护开关,或没有写入权限。"
                            "请拨开写保护或换一个U盘后重试。本站数据未受影响")
    return BackupFailed(f"无法写入U盘({stick}):U盘可能已被拔出或损坏({_reason(exc)})。"
                        "本次备份没有写成;插好U盘后重新备份即可。本站数据未受影响")
