"""Real storage faults for tests: a small tmpfs to fill, remounted read-only when asked.

Mounting needs root (or CAP_SYS_ADMIN); where the machine does not allow it the tests that need
it skip, saying why. Every mount is unmounted when its test ends.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest


@contextlib.contextmanager
def small_disk(where: Path, size_kb: int = 2048) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, mode: str) -> None:
    """``mode`` is ``ro`` or ``rw``: read-only media for real (chmod does not stop root)."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True, capture_output=True)


def free_bytes(where: Path) -> int:
    st = os.statvfs(where)
    return st.f_bavail * st.f_frsize


def fill(where: Path, leave: int = 0) -> Path:
    """Fill the disk with one file until only ``leave`` bytes are free (0: completely full)."""
    filler = where / "filler.bin"
    if filler.exists():
        filler.unlink()
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        want = max(0, free_bytes(where) - leave)
        chunk = b"\xa5" * 65536
        while want > 0:
            try:
                want -= os.write(fd, chunk[:min(len(chunk), want)])
            except OSError:  # full before the figure: tmpfs rounds to pages
                break
    finally:
        os.close(fd)
    return filler
