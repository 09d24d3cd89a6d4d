"""The USB stick, station side: export what the township has not acknowledged, and take the
township's acknowledgements (and its results, catalog and calendar) when the stick comes home.

Layout on the stick::

    <stick>/<STATION>/<STATION>-<from>-<to>.vsb      bundles for the township
    <stick>/<STATION>/给乡镇的说明.txt                 a plain note for township staff (no personal data)
    <stick>/<STATION>/from-township/*.vsb            the township's answers, for the station

Exporting never changes the station's state: records stay unacknowledged until the township's
answer is imported, so a full, pulled or lost stick loses nothing.
"""
from __future__ import annotations

import errno
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from station.fileio import TMP_SUFFIX, atomic_write
from station.services import audit, signing
from station.services.session import Session
from sync import bundle, client, stickfiles
from sync.bundle import BundleRejected

ACK_DIR = "from-township"
NOTE = "给乡镇的说明.txt"
DEFAULT_MAX_MB = 16


@dataclass
class ExportResult:
    folder: Path
    files: list[str] = field(default_factory=list)
    records: int = 0
    skipped: int = 0  # identical files already on the stick


def _verify_written(path: Path, expected: bytes, public: bytes) -> None:
    """Read the file back from the stick: same bytes, our signature, a well-formed header."""
    try:
        data = stickfiles.read_capped(path, stickfiles.MAX_BUNDLE_FILE)
    except stickfiles.Refused as exc:
        raise client.SyncFailed(f"写入U盘后读不回({path.name}:{exc.reason}):请换一个U盘") from None
    if hashlib.sha256(data).digest() != hashlib.sha256(expected).digest():
        raise client.SyncFailed(f"写入U盘后读回校验不符({path.name}):U盘可能有坏块,请换一个U盘")
    bundle.peek(data)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(data[-bundle.SIG_LEN:], data[:-bundle.SIG_LEN])
    except InvalidSignature:
        raise client.SyncFailed(f"写入U盘后读回签名不符({path.name}):请换一个U盘") from None


def _stick_error(exc: OSError, folder: Path) -> client.SyncFailed:
    if exc.errno == errno.ENOSPC:
        return client.SyncFailed(f"U盘空间不足({folder}):请清理或换一个U盘后重新导出。本站数据未受影响")
    return client.SyncFailed(f"无法写入U盘({folder}):U盘可能已被拔出或写保护({exc.strerror})。本站数据未受影响,插好后重新导出即可")


def export_to(session: Session, root: Path, max_mb: float = DEFAULT_MAX_MB,
              progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write every unacknowledged record as bundles into ``root/<station>/``; each file atomically."""
    peer = client.hub(session)
    if peer is None:
        raise client.SyncFailed("本站尚未在乡镇登记:请先用乡镇给的登记码或登记文件完成登记")
    folder = Path(root) / session.station_code
    result = ExportResult(folder)
    first = session.store.scalar("SELECT min(seq) FROM outbox WHERE acked = 0")
    last = session.store.scalar("SELECT max(seq) FROM outbox") or 0
    acked = (first - 1) if first is not None else last  # everything below the first unacknowledged record
    total = 0 if first is None else last - first + 1
    public = signing.public_key(session)
    max_bytes = int(max_mb * 1024 * 1024) - 8 * 1024  # room for the header (about 1 KB) and the signature
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if stickfiles.lstat_kind(folder) != "dir":  # a link planted on the stick would send our files elsewhere
            raise client.SyncFailed(f"U盘上的 {folder.name} 不是普通文件夹(可能是快捷方式/链接):请删除它后重新导出。本站数据未受影响")
        for stale in folder.glob(f"{session.station_code}-*.vsb"):  # already at the township: tidy the stick
            try:
                if int(stale.stem.split("-")[-1]) <= acked:
                    stale.unlink()
            except ValueError:
                continue
        for leftover in folder.glob("*" + TMP_SUFFIX):  # from an export that was cut off
            leftover.unlink()
        # Each bundle is sealed, written, synced and read back on a thread of its own while the next one
        # is read from the store (compression, encryption and the stick's fsync do not hold the GIL);
        # files are finished in order, and the first failure stops the export.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="usb-export") as pool:
            writing = None

            def finish(done) -> None:
                name, skipped, count = done.result()
                result.skipped += skipped
                result.files.append(name)
                result.records += count
                if progress:
                    progress(result.records, total)
            try:
                while first is not None and first <= last:
                    parts, seq_from, seq_to = client.prepare_bundle(session, peer, first=first, max_bytes=max_bytes)
                    if writing is not None:
                        finish(writing)
                    writing = pool.submit(_write_bundle, folder, session.station_code, parts, seq_from, seq_to, public, max_mb)
                    first = seq_to + 1
                if writing is not None:
                    finish(writing)
                    writing = None
            finally:
                if writing is not None:  # stopped by a failure here: let the file being written finish or fail
                    writing.exception()
        if not result.files:
            # Nothing new to send: still leave a request for the township's answers (an empty
            # bundle, as a network sync pulls), or its decisions would wait for the next record.
            data, seq_from, seq_to = client.build_bundle(session, peer, first=last + 1)
            path = folder / f"{session.station_code}-{seq_from:08d}-{seq_to:08d}.vsb"
            if _same_range(path, data):
                result.skipped += 1
            else:
                atomic_write(path, data)
                _verify_written(path, data, public)
            result.files.append(path.name)
        _write_note(session, folder, result)
    except OSError as exc:
        raise _stick_error(exc, folder) from None
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "usb.export", str(folder), {"files": len(result.files), "records": result.records})
    return result


def _write_bundle(folder: Path, station_code: str, parts: dict, seq_from: int, seq_to: int, public: bytes,
                  max_mb: float) -> tuple[str, bool, int]:
    """Seal one prepared bundle and write it to the stick, atomically, read back and checked (or
    leave an identical earlier file alone): its file name, whether it was already there, its records."""
    data = bundle.seal(**parts)
    if len(data) > max_mb * 1024 * 1024:
        raise client.SyncFailed(f"第 {seq_from} 号记录(很可能是一份很大的扫描件)超过单个文件上限 {max_mb} MB:请调大上限")
    path = folder / f"{station_code}-{seq_from:08d}-{seq_to:08d}.vsb"
    skipped = _same_range(path, data)
    if not skipped:
        atomic_write(path, data)
        _verify_written(path, data, public)
    return path.name, skipped, seq_to - seq_from + 1


def _same_range(path: Path, data: bytes) -> bool:
    """An earlier export of exactly the same records (a re-export writes nothing new)."""
    try:
        old = bundle.peek(stickfiles.read_capped(path, stickfiles.MAX_BUNDLE_FILE, prefix=stickfiles.HEADER_PREFIX))
        new = bundle.peek(data)
    except (stickfiles.Refused, BundleRejected):
        return False
    return (old["seq_from"], old["seq_to"], old["payload_sha256"]) == (new["seq_from"], new["seq_to"], new["payload_sha256"])


def _write_note(session: Session, folder: Path, result: ExportResult) -> None:
    cases_n = session.store.scalar("SELECT count(DISTINCT e.case_id) FROM events e JOIN outbox o ON o.seq = e.outbox_seq WHERE o.acked = 0")
    text = (f"村便民服务站数据包\r\n\r\n服务站:{session.station_name}({session.station_code})\r\n"
            f"导出时间:{datetime.now():%Y-%m-%d %H:%M}\r\n数据包:{len(result.files)} 个,共 {result.records} 条记录,涉及代办件 {cases_n} 件\r\n\r\n"
            "请在乡镇电脑上运行:township import <U盘>\r\n导入后会在本U盘写回确认文件,请把U盘带回服务站。\r\n"
            "数据包已加密,只有乡镇服务器能读取;本说明不含群众个人信息。\r\n")
    atomic_write(folder / NOTE, text.encode("utf-8-sig"))


@dataclass
class AckResult:
    applied: int = 0  # township records applied
    acked_through: int = 0
    files: int = 0
    already: int = 0
    held: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def import_acks(session: Session, root: Path) -> AckResult:
    """Apply the township's answers found on the stick, oldest first; hold any that come early.
    Each file is read within the bundle format's cap, one at a time; a file that is not a regular
    file, vanished or cannot be read is reported and the rest go on."""
    result = AckResult()
    files, refused = _ack_listing(Path(root), session.station_code)
    result.rejected += refused
    ordered = []
    for path in files:
        try:
            ordered.append((bundle.peek(stickfiles.read_capped(path, stickfiles.MAX_BUNDLE_FILE, prefix=stickfiles.HEADER_PREFIX))["seq_from"], path))
        except (stickfiles.Refused, BundleRejected) as exc:
            result.rejected.append({"file": path.name, "code": exc.code, "reason": exc.reason})
    for _, path in sorted(ordered, key=lambda x: (x[0], x[1].name)):
        try:
            data = stickfiles.read_capped(path, stickfiles.MAX_BUNDLE_FILE)
        except stickfiles.Refused as exc:
            result.rejected.append({"file": path.name, "code": exc.code, "reason": exc.reason})
            continue
        result.files += 1
        try:
            applied = client.apply_reply(session, data)
        except BundleRejected as exc:
            if exc.code == "gap":
                _hold(session, data, exc.reason)
                result.held.append(f"{path.name}:{exc.reason}")
                _remove(path)
                continue
            result.rejected.append({"file": path.name, "code": exc.code, "reason": exc.reason})
            continue
        result.applied += applied.applied
        result.acked_through = max(result.acked_through, applied.acked_through)
        result.already += applied.applied == 0
        _remove(path)  # applied: the stick need not carry it again
    result.applied += _release_held(session)
    if result.files:
        client.record_success(session)
    return result


def _ack_listing(root: Path, station_code: str) -> tuple[list[Path], list[dict]]:
    """Answer files in ``root/<station>/from-township`` (regular, by lstat), and what was passed over."""
    station_dir, folder = root / station_code, root / station_code / ACK_DIR
    for d in (root, station_dir, folder):
        kind = stickfiles.lstat_kind(d)
        if kind is None:
            return [], []
        if kind != "dir":
            return [], [{"file": d.name, "code": "not_a_folder", "reason": f"{d.name} 不是普通文件夹(可能是快捷方式/链接),未读取"}]
    found = stickfiles.list_named([folder], lambda n: n.endswith(".vsb"))
    return found.files, [{"file": p.name, "code": e.code, "reason": e.reason} for p, e in found.refused]


def ack_files(root: Path, station_code: str) -> list[Path]:
    """The answer files waiting for this station on a stick (for noticing a returning stick)."""
    return _ack_listing(Path(root), station_code)[0]


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _hold(session: Session, data: bytes, reason: str) -> None:
    h = bundle.peek(data)
    with session.store.transaction() as db:
        db.execute("INSERT INTO held_bundles (source, seq_from, data, reason, at) VALUES (?,?,?,?,?)",
                   (h["sender"], h["seq_from"], data, reason, audit.now_iso()))


def _release_held(session: Session) -> int:
    """Apply held bundles whose gap has been filled, until none moves."""
    applied, progress = 0, True
    while progress:
        progress = False
        for row in session.store.query("SELECT id FROM held_bundles ORDER BY seq_from, id"):
            data = session.store.scalar("SELECT data FROM held_bundles WHERE id = ?", (row["id"],))
            if data is None:
                continue
            try:
                r = client.apply_reply(session, bytes(data))  # one held answer in memory at a time
            except BundleRejected as exc:
                if exc.code == "gap":
                    continue
            else:
                applied += r.applied
            with session.store.transaction() as db:
                db.execute("DELETE FROM held_bundles WHERE id = ?", (row["id"],))
            progress = True
    return applied


def removable_drives() -> list[Path]:
    """Mounted removable drives (USB sticks) that psutil can see on Windows, macOS and Linux."""
    import psutil
    found = []
    for part in psutil.disk_partitions(all=False):
        mount = part.mountpoint
        if "removable" in part.opts or mount.startswith(("/media/", "/run/media/", "/Volumes/", "/mnt/usb")):
            found.append(Path(mount))
    return found



