"""Handing a PDF to the printer.

On Linux and macOS the PDF goes to ``lp`` (or ``lpr``) on standard input, so no copy with a
resident's name is left in a temporary file by us; on Windows the shell's "print" verb needs a
file, which is written to the temporary folder and removed once the spooler has had time to read it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from station.errors import PrintFailed

NO_PRINTER = "找不到打印命令(lp/lpr):请安装打印机驱动并设为默认打印机,或先保存为PDF再打印"


def send(pdf: bytes, title: str, printer: str | None = None) -> str:
    """Print; return a message for the clerk, or raise ``PrintFailed`` with what to do."""
    if os.name == "nt":
        return _windows(pdf, printer)
    command = shutil.which("lp")
    if command:
        args = [command, "-t", title] + (["-d", printer] if printer else [])
    else:
        command = shutil.which("lpr")
        if not command:
            raise PrintFailed(NO_PRINTER)
        args = [command, "-T", title] + (["-P", printer] if printer else [])
    try:
        done = subprocess.run(args, input=pdf, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise PrintFailed("打印机长时间没有响应:请检查打印机电源和连接后重试") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or f"退出码 {done.returncode}"
        raise PrintFailed(f"打印失败:{reason}。请检查打印机是否开机、有纸,或先保存为PDF再打印")
    return "已发送到打印机"


def _windows(pdf: bytes, printer: str | None = None) -> str:  # pragma: no cover - exercised on Windows stations only
    folder = Path(tempfile.gettempdir())
    path = folder / f"station-print-{os.getpid()}-{int(time.time())}.pdf"
    path.write_bytes(pdf)
    try:
        if printer:  # the PDF reader's "printto" verb takes the printer's name
            os.startfile(str(path), "printto", f'"{printer}"')  # type: ignore[attr-defined,call-arg]
        else:
            os.startfile(str(path), "print")  # type: ignore[attr-defined]
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise PrintFailed(f"打印失败:{exc}。请确认已设置默认打印机,或先保存为PDF再打印") from None
    time.sleep(8)  # the spooler reads the file asynchronously
    path.unlink(missing_ok=True)
    return f"已发送到打印机 {printer}" if printer else "已发送到默认打印机"
