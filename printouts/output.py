"""Where a finished PDF goes besides ``printing.send``: the printers the system knows, a file in
the station's PDF folder, and the system's PDF viewer.

Printers come from CUPS (``lpstat -e``, or ``lpstat -a`` on older CUPS) or, on Windows, from
``win32print`` when installed, else PowerShell's ``Get-Printer``. A machine with no print command
at all has no printer; one with ``lp`` but no ``lpstat`` is given the benefit of the doubt (its
default printer).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from station.errors import PrintFailed

_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


@dataclass(frozen=True)
class Printers:
    names: list[str]
    can_print: bool  # a print command exists and some printer may receive the job

    @property
    def none(self) -> bool:
        return not self.can_print


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def printers() -> Printers:
    """The printers this machine can send to, by the names the system knows them."""
    if os.name == "nt":  # pragma: no cover - Windows stations only
        names = _windows_printers()
        return Printers(names, bool(names))
    if not (shutil.which("lp") or shutil.which("lpr")):
        return Printers([], False)
    lpstat = shutil.which("lpstat")
    if not lpstat:
        return Printers([], True)
    out = _run([lpstat, "-e"])
    names = [line.strip() for line in (out or "").splitlines() if line.strip()]
    if out is None:  # CUPS before 2.2 has no -e: "NAME accepting requests since ..."
        names = [line.split()[0] for line in (_run([lpstat, "-a"]) or "").splitlines() if line.strip()]
    return Printers(names, bool(names))


def _windows_printers() -> list[str]:  # pragma: no cover - Windows stations only
    try:
        import win32print  # type: ignore[import-not-found]
        flags = win32print.PRINTER_ENUM_LOCAL | win32print.PRINTER_ENUM_CONNECTIONS
        return [p[2] for p in win32print.EnumPrinters(flags)]
    except ImportError:
        out = _run(["powershell", "-NoProfile", "-Command", "Get-Printer | Select-Object -ExpandProperty Name"])
        return [line.strip() for line in (out or "").splitlines() if line.strip()]


def file_name(title: str) -> str:
    """A file name from a document title, safe on Windows and Linux (受理回执_XX0101-2026-000001.pdf)."""
    return (_UNSAFE.sub("_", title).strip("._") or "打印件")[:120] + ".pdf"


def save(pdf: bytes, folder: Path, title: str) -> Path:
    """Write the PDF into ``folder`` (made if missing) under a name from ``title``, never over an
    existing file; readable by this user only, as it holds residents' data."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        base = file_name(title)
        for n in range(1, 1000):
            path = folder / (base if n == 1 else base[:-4] + f"-{n}.pdf")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(pdf)
            return path
    except OSError as exc:
        raise PrintFailed(f"不能保存PDF到 {folder}:{exc.strerror or exc}。请在“设置”中换一个保存PDF的文件夹") from None
    raise PrintFailed(f"{folder} 中同名文件过多,请清理后再保存")


def open_in_viewer(path: Path) -> None:
    """Open the file with the system's PDF viewer, without waiting for it to close."""
    if os.name == "nt":  # pragma: no cover - Windows stations only
        try:
            os.startfile(str(path))  # type: ignore[attr-defined]
        except OSError as exc:
            raise PrintFailed(f"不能打开 {path}:{exc}。请确认已安装PDF阅读器") from None
        return
    viewer = shutil.which("open" if sys.platform == "darwin" else "xdg-open")
    if not viewer:
        raise PrintFailed(f"本机没有打开PDF的程序。文件已保存在 {path},可在文件管理器中双击打开")
    try:
        subprocess.Popen([viewer, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise PrintFailed(f"不能打开 {path}:{exc.strerror or exc}") from None
