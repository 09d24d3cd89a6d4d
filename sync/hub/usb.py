"""The USB stick, township side: import whatever bundles a stick (or a folder, or one file)
carries, write each station's acknowledgement back onto the same stick, confirm enrolment
replies found there, and report what happened. ``watch`` imports whatever appears in folders.

Bundles that arrive ahead of a missing one are held (with a message saying which records are
missing) and applied as soon as the gap is filled; replays are recognised and change nothing.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from station.errors import StationError
from station.fileio import TMP_SUFFIX, atomic_write, wait_until_stable
from sync import bundle
from sync.bundle import BundleRejected
from sync.hub.service import Hub
from sync.usb import ACK_DIR


@dataclass
class StationReport:
    bundles: int = 0
    records: int = 0
    already: int = 0
    held: list[str] = field(default_factory=list)
    ack_file: str | None = None


@dataclass
class ImportReport:
    stations: dict[str, StationReport] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    enrolled: list[str] = field(default_factory=list)
    already_enrolled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"stations": {k: vars(v) for k, v in self.stations.items()}, "rejected": self.rejected, "enrolled": self.enrolled,
                "already_enrolled": self.already_enrolled}

    def text(self) -> str:
        lines = []
        for code, r in sorted(self.stations.items()):
            lines.append(f"{code}:导入数据包 {r.bundles} 个,新记录 {r.records} 条"
                         + (f",{r.already} 个已导入过(未重复导入)" if r.already else "")
                         + (f";确认文件已写回 {r.ack_file}" if r.ack_file else ""))
            lines += [f"  暂存:{h}" for h in r.held]
        lines += [f"服务站 {c} 登记完成" for c in self.enrolled]
        lines += [f"服务站 {c} 的登记回执早已确认(已从U盘移除)" for c in self.already_enrolled]
        lines += [f"拒收 {x['file']}:{x['reason']}" for x in self.rejected]
        return "\n".join(lines) or "没有找到数据包"


def _bundles_in(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*.vsb") if ACK_DIR not in p.parts and not p.name.endswith(TMP_SUFFIX)]


def import_path(hub: Hub, path: Path) -> ImportReport:
    path = Path(path)
    report = ImportReport()
    if path.is_dir():
        for reply in sorted(path.rglob("enrol-reply-*.json")):
            # Safe to take from any stick: the reply is encrypted to us and proves the one-time
            # code; a replayed or forged one is refused (sync/hub/enrolment.py).
            try:
                code, now = hub.confirm_reply(json.loads(reply.read_text("utf-8")))
                (report.enrolled if now else report.already_enrolled).append(code)
                reply.unlink()
            except (StationError, ValueError, OSError) as exc:
                report.rejected.append({"file": reply.name, "code": "enrolment", "reason": getattr(exc, "title", str(exc))})
    by_station: dict[str, list[tuple[dict, Path, bytes]]] = {}
    for file in _bundles_in(path):
        try:
            data = file.read_bytes()
            header = bundle.peek(data)
        except BundleRejected as exc:
            report.rejected.append({"file": str(file.name), "code": exc.code, "reason": exc.reason})
            continue
        by_station.setdefault(header["sender"], []).append((header, file, data))
    for station, items in by_station.items():
        r = report.stations.setdefault(station, StationReport())
        last_reply, folder = None, items[0][1].parent
        for header, file, data in sorted(items, key=lambda x: x[0]["seq_from"]):
            before = (hub.store.station(station) or {}).get("hwm", 0)
            try:
                last_reply = hub.receive(data)
            except BundleRejected as exc:
                if exc.code == "gap":
                    hub.store.hold(station, header["seq_from"], header["seq_to"], data, exc.reason)
                    r.held.append(f"{file.name}:{exc.reason}")
                else:
                    report.rejected.append({"file": file.name, "code": exc.code, "reason": exc.reason})
                continue
            after = hub.store.station(station)["hwm"]
            r.bundles += 1
            r.records += max(0, after - before)
            r.already += after == before and header["seq_to"] >= header["seq_from"]
        released = _release_held(hub, station)
        last_reply = released or last_reply
        if last_reply is not None:
            ack = folder / ACK_DIR / f"{hub.hub_id}-ack-{hub.store.station(station)['hwm']:08d}.vsb"
            try:
                ack.parent.mkdir(exist_ok=True)
                atomic_write(ack, last_reply)
                r.ack_file = str(ack)
            except OSError as exc:
                report.rejected.append({"file": ack.name, "code": "write_failed",
                                        "reason": f"确认文件写不回U盘({exc.strerror}):数据已导入,服务站下次同步会再得到确认"})
    return report


def _release_held(hub: Hub, station: str) -> bytes | None:
    """Apply held bundles whose gap has been filled; return the newest reply, if any."""
    reply, progress = None, True
    while progress:
        progress = False
        for row in hub.store.held(station):
            try:
                reply = hub.receive(bytes(row["data"]))
            except BundleRejected as exc:
                if exc.code == "gap":
                    continue
            with hub.store.transaction():
                hub.store.release(row["id"])
            progress = True
    return reply


def watch(hub: Hub, folders: list[Path], on_report, stop: threading.Event) -> None:
    """Import whatever appears: bundles copied into an inbox, or a stick mounted under a folder."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    lock = threading.Lock()

    def take(target: Path) -> None:
        if target.is_file() and not wait_until_stable(target):
            return
        with lock:
            on_report(target, import_path(hub, target))

    class Handler(FileSystemEventHandler):
        def on_created(self, event):
            p = Path(event.src_path)
            if event.is_directory or (p.suffix == ".vsb" and ACK_DIR not in p.parts):
                threading.Thread(target=take, args=(p,), daemon=True).start()

        def on_moved(self, event):
            p = Path(event.dest_path)
            if p.suffix == ".vsb" and ACK_DIR not in p.parts:
                threading.Thread(target=take, args=(p,), daemon=True).start()

    observer = Observer()
    for folder in folders:
        observer.schedule(Handler(), str(folder), recursive=True)
    observer.start()
    try:
        stop.wait()
    finally:
        observer.stop()
        observer.join(timeout=5)
