"""Files that must survive power cuts and sticks pulled out mid-copy.

``atomic_write``: temp file in the same folder, flush, fsync, rename, fsync the folder — a reader
sees the old file or the whole new one, never half. ``wait_until_stable``: a file being written
by a scanner or copied onto a stick is taken only once its size has stopped changing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

TMP_SUFFIX = ".part"


def fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open(tmp, "wb") as fh:
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
