"""Files that must survive power cuts and sticks pulled out mid-copy.

``atomic_write``: temp file in the same folder, flush, fsync, rename, fsync the folder — a reader
sees the old file or the whole new one, never half. ``wait_until_stable``: a file being written
by a scanner or copied onto a stick is taken only once its size has stopped changing.
``owner_only``: the store's files (database, its WAL and index, keys.json) readable by their
owner alone.

Windows: POSIX mode bits mean nothing there (``chmod`` only toggles read-only), so ``owner_only``
does nothing and files keep the ACL inherited from their folder — the per-user data folder,
which Windows already limits to that user and administrators. Setting an explicit owner-only ACL
would need pywin32; that is not done.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

TMP_SUFFIX = ".part"
OWNER_ONLY = 0o600


def fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def owner_only(*paths: Path) -> None:
    """Tighten existing files to 0600 (files made by earlier versions were world-readable)."""
    if os.name == "nt":
        return
    for path in paths:
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, OWNER_ONLY)
        except FileNotFoundError:
            continue


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """``mode`` (e.g. ``OWNER_ONLY``) is given to the temp file at creation, so no moment
    exists where the content sits in a more open file."""
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        if mode is not None:
            try:
                tmp.unlink()  # a leftover from a crash may carry other permissions
            except FileNotFoundError:
                pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def wait_until_stable(path: Path, settle: float = 0.6, give_up: float = 120) -> bool:
    """True once the file exists with a size unchanged over ``settle`` seconds."""
    deadline = time.monotonic() + give_up
    last = -1
    while time.monotonic() < deadline:
        try:
            size = Path(path).stat().st_size
        except FileNotFoundError:
            return False
        if size == last and size > 0:
            return True
        last = size
        time.sleep(settle)
    return False
