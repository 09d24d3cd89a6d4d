"""Reading and writing files on a USB stick or in a watched folder (U盘上的文件), which anyone may
have prepared. Used by both sides: the township's import and watch (``sync.hub.usb``) and the
station's import of the township's answers (``sync.usb``).

Only regular files directly in the folders we expect are taken: never a directory, FIFO, device
or symbolic link — not for the files, not for the folders, not where answers are written back.
Each file is opened without following links and without blocking (a FIFO cannot hang us), checked
again on the open handle (regular, the same file we listed, within its size cap) and read only up
to that cap, so a stick can neither exhaust memory nor make us read or write off the stick. A file
that vanishes or cannot be read becomes a ``Refused`` the caller reports; the rest go on.

Limits are here, named; the bundle cap is the bundle format's own maximum (``sync/SPEC.md``).
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from station.fileio import TMP_SUFFIX
from sync import bundle

# The largest file the bundle format allows: magic, header length, header, ciphertext length,
# ciphertext, signature. Anything bigger cannot be a bundle and is not read at all.
MAX_BUNDLE_FILE = 4 + 4 + bundle.MAX_HEADER + 4 + bundle.MAX_CIPHERTEXT + bundle.SIG_LEN
# Enough of a bundle to read its plain header (for sorting a stick before opening anything whole).
HEADER_PREFIX = 4 + 4 + bundle.MAX_HEADER + 4
# An enrolment file or reply is about 1 KB of JSON.
MAX_REPLY_FILE = 64 * 1024
# Entries looked at in one folder of a stick; a folder with more is taken only in part (reported).
MAX_ENTRIES_PER_FOLDER = 10_000
_CHUNK = 1024 * 1024

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # absent on Windows: there lstat + fstat identity stands in
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class Refused(Exception):
    """A file on the stick that was not taken; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


NOT_A_FILE = "不是普通文件(是文件夹、快捷方式/链接或设备),未读取"
VANISHED = "文件已不在(U盘被拔出或文件被移走),其余文件照常导入"


def _unreadable(exc: OSError) -> Refused:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
        return Refused("not_a_file", NOT_A_FILE)
    if isinstance(exc, FileNotFoundError):
        return Refused("vanished", VANISHED)
    return Refused("unreadable", f"读不出这个文件({exc.strerror or exc}):U盘可能有坏块或已被拔出,其余文件照常导入")


def lstat_kind(path: Path) -> str | None:
    """``"file"``, ``"dir"``, ``"other"`` (link, FIFO, device, junction…) or None when absent."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode) and not _is_junction(path):
        return "dir"
    return "other"


def _is_junction(path: Path) -> bool:
    check = getattr(os.path, "isjunction", None)  # Windows directory junctions act like links
    return bool(check and check(path))


def reached_without_links(root: Path, path: Path) -> bool:
    """True when every folder between ``root`` and ``path`` is a real folder (``path`` itself is
    judged by whoever reads it): a watched folder's events can come through a link inside it."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return False
    here = Path(root)
    for part in rel.parts[:-1]:
        here = here / part
        if lstat_kind(here) != "dir":
            return False
    return True


def read_capped(path: Path, cap: int, prefix: int | None = None) -> bytes:
    """The file's bytes (or its first ``prefix`` bytes), refusing anything that is not a regular
    file reached without a link, or that is larger than ``cap``."""
    path = Path(path)
    try:
        before = os.lstat(path)
    except OSError as exc:
        raise _unreadable(exc) from None
    if not stat.S_ISREG(before.st_mode):
        raise Refused("not_a_file", NOT_A_FILE)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    except OSError as exc:
        raise _unreadable(exc) from None
    try:
        st = os.fstat(fd)
        # The name may have been swapped for a link or a FIFO between lstat and open.
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            raise Refused("not_a_file", NOT_A_FILE)
        if st.st_size > cap:
            raise Refused("too_large", f"文件大小 {st.st_size // 1024 // 1024} MB 超过上限 {cap // 1024 // 1024} MB,未读取")
        want = cap + 1 if prefix is None else min(prefix, cap + 1)
        parts, got = [], 0
        while got < want:
            chunk = os.read(fd, min(_CHUNK, want - got))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        if prefix is None and got > cap:  # grew while we read it
            raise Refused("too_large", f"文件超过上限 {cap // 1024 // 1024} MB,未读取")
        return b"".join(parts)
    except OSError as exc:
        raise _unreadable(exc) from None
    finally:
        os.close(fd)


@dataclass
class Listing:
    """What one look at a stick found: candidate files (regular, by lstat) and what was passed over."""

    files: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, Refused]] = field(default_factory=list)


def plain_folders(root: Path, skip: set[str]) -> tuple[list[Path], list[tuple[Path, Refused]]]:
    """``root`` and the real folders directly in it (a stick's station folders), never through a
    link; ``skip`` names folders that are not ours to read (the answers folder)."""
    folders, refused = [root], []
    try:
        with os.scandir(root) as it:
            for n, entry in enumerate(it):
                if n >= MAX_ENTRIES_PER_FOLDER:
                    refused.append((root, Refused("too_many", f"文件夹中的项目超过 {MAX_ENTRIES_PER_FOLDER} 个,只看了前一部分")))
                    break
                if entry.name in skip or entry.name.startswith("."):
                    continue
                if lstat_kind(Path(entry.path)) == "dir":
                    folders.append(Path(entry.path))
    except OSError as exc:
        refused.append((root, _unreadable(exc)))
    return folders, refused


def list_named(folders: list[Path], match) -> Listing:
    """Entries directly in ``folders`` whose name satisfies ``match``: regular files become
    candidates; anything else with such a name (a folder, a link, a FIFO) is reported, not opened."""
    out = Listing()
    for folder in folders:
        try:
            with os.scandir(folder) as it:
                for n, entry in enumerate(it):
                    if n >= MAX_ENTRIES_PER_FOLDER:
                        out.refused.append((folder, Refused("too_many", f"文件夹中的项目超过 {MAX_ENTRIES_PER_FOLDER} 个,只看了前一部分")))
                        break
                    # ".part": an interrupted copy; a leading dot: hidden or system files (macOS
                    # writes "._name.vsb" companions onto FAT sticks) — neither is ours to judge.
                    if entry.name.endswith(TMP_SUFFIX) or entry.name.startswith(".") or not match(entry.name):
                        continue
                    path = Path(entry.path)
                    kind = lstat_kind(path)
                    if kind == "file":
                        out.files.append(path)
                    elif kind is not None:
                        out.refused.append((path, Refused("not_a_file", NOT_A_FILE)))
        except OSError as exc:
            out.refused.append((folder, _unreadable(exc)))
    out.files.sort()
    return out


def ensure_plain_dir(path: Path) -> None:
    """Make ``path`` (one level) if absent; refuse it if it is there but is not a real folder."""
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    if lstat_kind(path) != "dir":
        raise Refused("not_a_folder", f"{path.name} 不是普通文件夹(可能是快捷方式/链接),不往里写")


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _NONBLOCK)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` whole or not at all, never through a link: the temp file is created
    exclusively (a planted link or leftover is removed first, not followed); the rename replaces
    a link of that name rather than writing where it points."""
    if lstat_kind(folder) != "dir":
        raise Refused("not_a_folder", f"{folder.name} 不是普通文件夹(可能是快捷方式/链接),不往里写")
    target = folder / name
    tmp = folder / (name + TMP_SUFFIX)
    try:
        os.unlink(tmp)  # removes a link itself, never its target
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target
