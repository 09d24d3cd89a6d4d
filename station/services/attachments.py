"""Scanned materials (扫描件 / 高拍仪照片) attached to a case, stored inside the encrypted file.

The scanner writes plain files into a folder; once a file is attached, its bytes live only in
the encrypted store and the scanner's copy is overwritten and deleted, so no readable copy of
a resident's documents is left on the PC. (On SSDs and some file systems overwriting in place
is not guaranteed to reach the same blocks; deleting is the part we can promise.)
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import uuid
from pathlib import Path

from station.core.cases import EventType, check
from station.errors import FieldError, NotFound, ValidationFailed
from station.services import audit, cases, outbox
from station.services.session import Session

MAX_BYTES = 25 * 1024 * 1024  # a 600-dpi colour A4 scan as PDF stays well under this
ALLOWED = {".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}


def attach(session: Session, case_ref: str, path: Path, remove_source: bool = True) -> dict:
    """Store the file with the case (one transaction with its event and audit entry)."""
    path = Path(path)
    problems = []
    if path.suffix.lower() not in ALLOWED:
        problems.append(FieldError("file", "bad_type", f"只能附加扫描件或照片({'、'.join(sorted(ALLOWED))}),不能附加 {path.name}"))
    try:
        size = path.stat().st_size
    except OSError:
        raise NotFound(f"找不到文件 {path.name}(可能已被移走)") from None
    if size > MAX_BYTES:
        problems.append(FieldError("file", "too_large", f"文件 {path.name} 超过 {MAX_BYTES // 1024 // 1024} MB,请降低扫描分辨率"))
    if size == 0:
        problems.append(FieldError("file", "empty", f"文件 {path.name} 是空的,扫描可能尚未完成"))
    if problems:
        raise ValidationFailed("不能附加该文件", problems)
    data = path.read_bytes()
    state, events = cases.load(session, case_ref)
    payload = {"attachment_id": str(uuid.uuid4()), "name": path.name, "size": len(data),
               "sha256": hashlib.sha256(data).hexdigest(), "mime": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
               "on": session.today().isoformat()}
    problems = check(state, EventType.ATTACHMENT_ADDED, payload)
    if problems:
        raise ValidationFailed(f"{state.number}:不能附加扫描件", problems)
    with session.store.transaction() as db:
        db.execute("INSERT INTO attachments (id, case_id, name, mime, size, sha256, data, added_at, added_by) VALUES (?,?,?,?,?,?,?,?,?)",
                   (payload["attachment_id"], state.id, path.name, payload["mime"], len(data), payload["sha256"], data,
                    audit.now_iso(), session.user.username))
        outbox.add(db, "attachment", payload["attachment_id"])  # the bytes go up to the township too
        event = cases.write_event(db, session, state.id, EventType.ATTACHMENT_ADDED, payload)
        cases.project(db, cases.fold(state.id, events + [event]))
        audit.record(db, session.user.username, "case.attachment_added", state.number, {"name": path.name, "size": len(data)})
    if remove_source:
        shred(path)
    return {k: v for k, v in payload.items() if k != "on"}


def shred(path: Path) -> None:
    """Overwrite then delete the scanner's plain copy (best effort: see the module note)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
    except FileNotFoundError:
        pass


def list_for_case(session: Session, case_id: str) -> list[dict]:
    return session.store.query("SELECT id, name, mime, size, sha256, added_at, added_by FROM attachments WHERE case_id = ? "
                               "ORDER BY added_at", (case_id,))


def read(session: Session, attachment_id: str) -> bytes:
    data = session.store.scalar("SELECT data FROM attachments WHERE id = ?", (attachment_id,))
    if data is None:
        raise NotFound("没有找到该附件")
    return bytes(data)

