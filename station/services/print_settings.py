"""Where the app saves PDFs and which printer it prints to (设置 → 打印与PDF).

Kept in the store's ``settings`` like the other station settings, audited the same way. The PDF
folder defaults to a ``村站通`` folder in the user's documents (platformdirs), made when first used.
"""
from __future__ import annotations

from pathlib import Path

import platformdirs

from station.errors import FieldError, ValidationFailed
from station.services import settings
from station.services.session import Session


def default_pdf_folder() -> Path:
    return Path(platformdirs.user_documents_dir()) / "村站通"


def pdf_folder(session: Session) -> Path:
    value = settings.get(session, "pdf_folder")
    return Path(value) if value else default_pdf_folder()


def set_pdf_folder(session: Session, folder: str) -> Path:
    raw = folder.strip()
    path = Path(raw).expanduser()
    try:
        if not raw or not path.is_absolute():
            raise OSError("须为完整路径")
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".station-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValidationFailed("PDF文件夹无效", [FieldError("pdf_folder", "not_writable", f"不能使用文件夹“{folder}”:{reason}")]) from None
    settings._put(session, "pdf_folder", str(path.resolve()))
    return path.resolve()


def printer(session: Session) -> str | None:
    """The printer chosen under 设置, or None: the system's default."""
    return settings.get(session, "printer") or None


def set_printer(session: Session, name: str | None) -> None:
    settings._put(session, "printer", name or "")
