"""Scanned materials (扫描件 / 高拍仪照片) attached to a case, stored inside the encrypted file.

The scanner writes plain files into a folder; once a file is attached, its bytes live only in
the encrypted store and the scanner's copy is overwritten and deleted, so no readable copy of
a resident's documents is left on the PC. (On SSDs and some file systems overwriting in place
is not guaranteed to reach the same blocks; deleting is the part we can promise.)

Only a regular file of its own is taken: a link, FIFO, device or hard-linked file placed in the
scanner's folder is refused before anything is read, so nothing outside that folder is ever read
into the store, uploaded, or overwritten.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from pathlib import Path

from station.core.cases import EventType, check
from station.core.ids import new_id
from station.errors import FieldError, NotFound, ValidationFailed
from station.services import audit, cases, outbox
from station.services.session import Session

MAX_BYTES = 25 * 1024 * 1024  # a 600-dpi colour A4 scan as PDF stays well under this
ALLOWED = {".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # absent on Windows: there lstat + fstat identity stands in
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO named like a scan must not hang the app
_BINARY = getattr(os, "O_BINARY", 0)
_CHUNK = 1024 * 1024
NOT_A_SCAN = "不是扫描仪保存的普通文件(是快捷方式/链接、文件夹或设备),不能附加;原文件未改动"


def _open_scan(path: Path, writable: bool) -> tuple[int, os.stat_result]:
    """Open the scanner's file itself: never through a link, never a FIFO or device, never a file
    that has another name elsewhere (a hard link), so neither reading it nor overwriting it can
    reach anything outside the scanner's folder."""
    try:
        before = os.lstat(path)
    except OSError:
        raise NotFound(f"找不到文件 {path.name}(可能已被移走)") from None
    if not stat.S_ISREG(before.st_mode):
        raise ValidationFailed("不能附加该文件", [FieldError("file", "not_a_file", f"{path.name}:{NOT_A_SCAN}")])
    flags = _NOFOLLOW | _NONBLOCK | _BINARY
    try:
        try:
            fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | flags)
        except PermissionError:
            if not writable:
                raise
            fd = os.open(path, os.O_RDONLY | flags)  # a read-only scan: stored, then only deleted (_shred_fd)
    except FileNotFoundError:
        raise NotFound(f"找不到文件 {path.name}(可能已被移走)") from None
    except OSError as exc:
        raise ValidationFailed("不能附加该文件", [FieldError("file", "unreadable",
                                                       f"打不开 {path.name}({exc.strerror}):扫描可能尚未完成,或文件被占用")]) from None
    st = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
        problem = FieldError("file", "not_a_file", f"{path.name}:{NOT_A_SCAN}")
    elif st.st_nlink > 1:
        problem = FieldError("file", "linked", f"{path.name} 另有别名(硬链接),不是扫描仪新存的文件,不能附加;原文件未改动")
    if problem:
        os.close(fd)
        raise ValidationFailed("不能附加该文件", [problem])
    return fd, st


def _read_fd(fd: int, cap: int) -> bytes:
    parts, got = [], 0
    while got <= cap:
        chunk = os.read(fd, min(_CHUNK, cap + 1 - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def attach(session: Session, case_ref: str, path: Path, remove_source: bool = True) -> dict:
    """Store the file with the case (one transaction with its event and audit entry). The file is
    opened once; what was read is what gets overwritten, through the same handle."""
    path = Path(path)
    problems = []
    if path.suffix.lower() not in ALLOWED:
        problems.append(FieldError("file", "bad_type", f"只能附加扫描件或照片({'、'.join(sorted(ALLOWED))}),不能附加 {path.name}"))
        raise ValidationFailed("不能附加该文件", problems)
    fd, st = _open_scan(path, writable=remove_source)
    try:
        size = st.st_size
        if size > MAX_BYTES:
            problems.append(FieldError("file", "too_large", f"文件 {path.name} 超过 {MAX_BYTES // 1024 // 1024} MB,请降低扫描分辨率"))
        if size == 0:
            problems.append(FieldError("file", "empty", f"文件 {path.name} 是空的,扫描可能尚未完成"))
        if problems:
            raise ValidationFailed("不能附加该文件", problems)
        data = _read_fd(fd, MAX_BYTES)
        if len(data) > MAX_BYTES:  # grew while we read it
            raise ValidationFailed("不能附加该文件", [FieldError("file", "too_large",
                                                           f"文件 {path.name} 超过 {MAX_BYTES // 1024 // 1024} MB,请降低扫描分辨率")])
        state, events = cases.load(session, case_ref)
        payload = {"attachment_id": new_id(), "name": path.name, "size": len(data),
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
            _shred_fd(fd, path, st, max(len(data), size))
    finally:
        os.close(fd)
    return {k: v for k, v in payload.items() if k != "on"}


def _shred_fd(fd: int, path: Path, st: os.stat_result, size: int) -> None:
    """Overwrite the very file we read (same handle), then remove its name — only if the name
    still points at that file (a scanner may have saved a new one under it meanwhile)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        zeros = b"\0" * min(size, _CHUNK)
        left = size
        while left > 0:
            left -= os.write(fd, zeros[:min(left, _CHUNK)])
        os.fsync(fd)
    except OSError:
        pass  # opened read-only (the file's own permissions): deleting is the part we promise
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return
    if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
        os.unlink(path)


def shred(path: Path) -> None:
    """Overwrite then delete a scanner's plain copy (best effort: see the module note); refuses,
    like ``attach``, anything that is not a regular file of its own."""
    try:
        fd, st = _open_scan(Path(path), writable=True)
    except NotFound:
        return
    try:
        _shred_fd(fd, Path(path), st, st.st_size)
    finally:
        os.close(fd)


def list_for_case(session: Session, case_id: str) -> list[dict]:
    return session.store.query("SELECT id, name, mime, size, sha256, added_at, added_by FROM attachments WHERE case_id = ? "
                               "ORDER BY added_at", (case_id,))


def read(session: Session, attachment_id: str) -> bytes:
    data = session.store.scalar("SELECT data FROM attachments WHERE id = ?", (attachment_id,))
    if data is None:
        raise NotFound("没有找到该附件")
    return bytes(data)

