"""Storage failures told apart, each said in Chinese with what the clerk should do.

SQLite reports a full disk, read-only media, a lock held by another program, a damaged page and
a wrong key through a handful of result codes, and some of them only as "disk I/O error" (a full
disk while the ``-shm``/``-wal`` files are made at opening) or "file is not a database" (a wrong
key, and equally a damaged first page). The clerk's next step differs completely — free some
space, flip the stick's write-protect switch, close the other window, restore a backup, use the
right key file — so each gets its own ``StoreError`` subclass from ``station.errors``:

- the result code first (``sqlite_errorcode``, extended codes folded to their primary);
- for I/O errors, the medium itself: mounted read-only, or less than ``LOW_SPACE_BYTES`` free;
- for "not a database" at opening, the file itself: empty, truncated, a plain (unencrypted)
  SQLite file, or SQLCipher's own per-page HMAC check (``PRAGMA cipher_integrity_check``): a wrong
  key fails every page, a damaged file only the damaged ones.

Callers: ``station.store.db`` at opening and on every statement, and the CLI and the app as a
last net for anything that reached them raw. What to do about the failure is left to them.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import sqlcipher3

from station.errors import (
    DiskFull,
    ReadOnlyMedia,
    StorageIOError,
    StoreDamaged,
    StoreError,
    StoreLocked,
    WrongKey,
)

# Below this much free space an I/O error is taken for a full disk: opening alone needs ~40 KB
# (the 32 KB -shm and the first WAL frames), one intake a few pages more.
LOW_SPACE_BYTES = 1024 * 1024
# What to free, said in the message: enough for a good while of work, not just the next write.
FREE_SPACE_ADVICE_MB = 100
PAGE_SIZE = 4096  # SQLCipher 4's default, which the station uses
SQLITE_HEADER = b"SQLite format 3\x00"

# SQLite primary result codes (sqlite3.h); ``sqlite_errorcode`` carries the extended code.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26
# Some errors (the online backup API's) carry no code: SQLite's fixed texts for the same codes.
_TEXTS = {"database or disk is full": SQLITE_FULL, "attempt to write a readonly database": SQLITE_READONLY,
          "database is locked": SQLITE_BUSY, "database table is locked": SQLITE_LOCKED,
          "database disk image is malformed": SQLITE_CORRUPT, "file is not a database": SQLITE_NOTADB,
          "disk I/O error": SQLITE_IOERR, "unable to open database file": SQLITE_CANTOPEN}


def sqlite_code(exc: BaseException) -> int:
    """The primary SQLite result code of an error, 0 when it is not one SQLite reported."""
    if not isinstance(exc, sqlcipher3.Error):
        return 0
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    return _TEXTS.get(str(exc).strip(), 0)


def _folder(path: Path | None) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    return path if path.is_dir() else path.parent


def free_space(path: Path | None) -> int | None:
    folder = _folder(path)
    try:
        return shutil.disk_usage(folder).free if folder else None
    except OSError:
        return None


def mounted_read_only(path: Path | None) -> bool:
    folder = _folder(path)
    try:
        return bool(folder and os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _size(nbytes: int | None) -> str:
    if nbytes is None:
        return "未知"
    return f"{nbytes / 1024:.0f} KB" if nbytes < 1024 * 1024 else f"{nbytes / 1024 / 1024:.0f} MB"


def disk_full(path: Path | None) -> DiskFull:
    where = f"({_folder(path)},剩余 {_size(free_space(path))})" if path else ""
    return DiskFull(f"磁盘空间已满{where}:刚才的操作没有保存,已保存的数据完好。请删除不需要的文件(如旧的下载、视频、"
                    f"导出的表格)并清空回收站,腾出至少 {FREE_SPACE_ADVICE_MB} MB 后重试;数据没有损坏,不需要用备份还原。")


def read_only(path: Path | None) -> ReadOnlyMedia:
    where = f"({_folder(path)})" if path else ""
    return ReadOnlyMedia(f"服务站数据所在的磁盘或U盘是只读的{where},无法写入。请拨开U盘的写保护开关,"
                         "或把服务站目录放到可写的磁盘上后重试;数据没有损坏。")


def no_permission(path: Path | None) -> ReadOnlyMedia:
    where = str(path) if path else ""
    return ReadOnlyMedia(f"没有权限读写{where or '服务站数据目录'}。请用平时使用本系统的电脑账户运行,"
                         "或请乡镇技术人员检查该目录的权限;数据没有损坏。")


def locked() -> StoreLocked:
    return StoreLocked("数据库正被另一个程序占用(可能另开了一个服务站窗口或命令,或备份正在进行)。"
                       "请关闭其他服务站窗口,稍等片刻后重试;数据没有损坏。")


def damaged(path: Path | None, what: str = "") -> StoreDamaged:
    name = Path(path).name if path else "数据库"
    detail = f"({what})" if what else ""
    return StoreDamaged(f"数据库文件 {name} 已损坏{detail}。请不要再在这份文件上继续工作:请乡镇技术人员用最近的"
                        "备份U盘还原,并把这台电脑的硬盘交乡镇技术人员检查。")


def io_error(path: Path | None) -> StorageIOError:
    where = f"({_folder(path)})" if path else ""
    return StorageIOError(f"读写服务站数据时磁盘出错{where}:硬盘或U盘可能松动、被拔出或出了故障。"
                          "请检查连接后重试;反复出现时先做一次备份,再联系乡镇技术人员。")


def wrong_key(path: Path | None) -> WrongKey:
    name = Path(path).name if path else "数据库"
    return WrongKey(f"无法打开 {name}:密钥不符。这份密钥文件(keys.json)里的密钥与数据库对不上,数据库密钥可能已经更换"
                    "(旧的密钥文件随之作废)。请使用站里现用的 keys.json,或请乡镇技术人员用恢复码恢复。")


def translate(exc: BaseException, path: Path | None = None) -> StoreError | None:
    """The clerk's message for a storage failure; None when ``exc`` is not one (a constraint, a
    bug), so callers re-raise it as it was."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, OSError) and not isinstance(exc, sqlcipher3.Error):
        # The file the system named is where the trouble is; ``path`` only when it named none.
        where = _path_of(exc) or path
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return disk_full(where)
        if exc.errno == errno.EROFS:
            return read_only(where)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return read_only(where) if mounted_read_only(where) else no_permission(where)
        if exc.errno == errno.EIO:
            return io_error(where)
        return None
    code = sqlite_code(exc)
    if code == SQLITE_FULL:
        return disk_full(path)
    if code == SQLITE_READONLY:
        return read_only(path) if mounted_read_only(path) or path is None else no_permission(path)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return locked()
    if code == SQLITE_CORRUPT:
        return damaged(path, "页面校验不符")
    if code == SQLITE_NOTADB:
        # The key was proven at opening, so a page that no longer reads under it is damaged — or
        # another window changed the key meanwhile (station rekey): logging in again tells which.
        name = Path(path).name if path else "数据库"
        return StoreDamaged(f"数据库 {name} 有页面读不出来。若刚才在另一个窗口更换过数据库密钥或停用过用户,请关闭本窗口"
                            "重新登录;重新登录后仍出现,说明文件已损坏:请乡镇技术人员用最近的备份U盘还原,"
                            "并把这台电脑的硬盘交乡镇技术人员检查。")
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN):
        return _medium(path) or (io_error(path) if code == SQLITE_IOERR else None)
    return None


def _medium(path: Path | None) -> StoreError | None:
    """What an I/O error means, judged from the medium: read-only, or (nearly) full."""
    if mounted_read_only(path):
        return read_only(path)
    free = free_space(path)
    if free is not None and free < LOW_SPACE_BYTES:
        return disk_full(path)
    return None


def _path_of(exc: OSError) -> Path | None:
    return Path(exc.filename) if isinstance(exc.filename, str) else None


def diagnose_open(path: Path, key: bytes, exc: BaseException) -> StoreError:
    """Why the first read of a station file with ``key`` failed: the medium, the file, or the key."""
    path = Path(path)
    code = sqlite_code(exc)
    if code not in (SQLITE_NOTADB, SQLITE_CORRUPT):
        found = translate(exc, path)
        if found is not None:
            return found
        if code == SQLITE_CANTOPEN:
            if not os.access(path, os.R_OK) or not os.access(path.parent, os.W_OK):
                return no_permission(path)
            return io_error(path)
        return damaged(path, str(exc))
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as err:
        return translate(err, path) or io_error(path)
    if size == 0:
        return damaged(path, "文件是空的")
    if head == SQLITE_HEADER:
        return damaged(path, "这是未加密的 SQLite 文件,不是服务站的加密数据库")
    wal = path.with_name(path.name + "-wal")
    # In WAL mode the newest pages live in the -wal file, so a short main file alone is no damage.
    if not (wal.exists() and wal.stat().st_size) and (size % PAGE_SIZE or size < 2 * PAGE_SIZE):
        return damaged(path, f"文件被截断,只有 {size} 字节")
    failed = _failed_pages(path, key)
    if failed is None:
        return _medium(path) or io_error(path)
    wal_pages = bool(wal.exists() and wal.stat().st_size)
    # SQLCipher's check reads the main file only. A wrong key fails the HMAC of every page there;
    # damage fails only the pages it touched.
    if size // PAGE_SIZE >= 2 and {1, 2} <= failed:
        return wrong_key(path)
    if not failed:
        if wal_pages:
            # The main file reads under this key, the newer pages in the WAL do not: the key was
            # changed since (station rekey, a deactivated user) and this key file is older.
            return wrong_key(path)
        return damaged(path, str(exc))
    if failed == {1} and size // PAGE_SIZE < 2:
        # One page in the main file: a wrong key and a damaged page look alike there. Taken for
        # a key problem (so the next key is tried mid key change), and said with both.
        return WrongKey(f"无法打开 {path.name}:密钥不符,或文件已损坏。请先确认用的是站里现用的 keys.json;"
                            "确认无误仍打不开时,请乡镇技术人员用最近的备份U盘还原。")
    shown = "、".join(str(p) for p in sorted(failed)[:5])
    return damaged(path, f"第 {shown} 页校验不符")


def _failed_pages(path: Path, key: bytes) -> set[int] | None:
    """Pages whose HMAC fails under ``key``, by SQLCipher's own check; None if it cannot run.
    Opened read-only so a diagnosis never writes to a file that may be damaged."""
    try:
        conn = sqlcipher3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    except sqlcipher3.Error:
        return None
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        from station.store.db import HMAC
        conn.execute(f"PRAGMA cipher_hmac_algorithm = {HMAC}")
        failed: set[int] = set()
        for (line,) in conn.execute("PRAGMA cipher_integrity_check"):
            words = str(line).split()
            if "page" in words and words[-1].isdigit():
                failed.add(int(words[-1]))
            if {1, 2} <= failed:
                break  # enough to know the key is wrong
        return failed
    except sqlcipher3.Error:
        return None
    finally:
        conn.close()
