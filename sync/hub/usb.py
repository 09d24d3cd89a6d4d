"""The USB stick, township side: import whatever bundles a stick (or a folder, or one file)
carries, write each station's acknowledgement back onto the same stick, confirm enrolment
replies found there, and report what happened. ``watch`` imports whatever appears in folders.

Bundles that arrive ahead of a missing one are held (with a message saying which records are
missing) and applied as soon as the gap is filled; replays are recognised and change nothing.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from station.errors import StationError, ValidationFailed
from station.fileio import wait_until_stable
from sync import bundle, stickfiles
from sync import enrol_protocol as ep
from sync.bundle import BundleRejected
from sync.hub import staff_policy
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
    skipped: list[dict] = field(default_factory=list)  # not ours, left where it was (not a refusal)

    @property
    def refused_any(self) -> bool:
        """Something was refused or could not be written back: ``township import`` exits non-zero."""
        return bool(self.rejected)

    def as_dict(self) -> dict:
        return {"stations": {k: vars(v) for k, v in self.stations.items()}, "rejected": self.rejected, "enrolled": self.enrolled,
                "already_enrolled": self.already_enrolled, "skipped": self.skipped}

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
        lines += [f"跳过 {x['file']}:{x['reason']}" for x in self.skipped]
        return "\n".join(lines) or "没有找到数据包"


def _peek_file(file: Path) -> dict:
    """The plain header of a bundle file, reading no more than the header's bytes."""
    return bundle.peek(stickfiles.read_capped(file, stickfiles.MAX_BUNDLE_FILE, prefix=stickfiles.HEADER_PREFIX))


def _refuse(report: ImportReport, path: Path, exc: stickfiles.Refused | BundleRejected) -> None:
    report.rejected.append({"file": path.name, "code": exc.code, "reason": exc.reason})


def _find(path: Path, report: ImportReport) -> tuple[list[Path], list[Path]]:
    """Enrolment replies and bundles in ``path``: one file, or a folder (a stick, a station's folder
    on it, an inbox) and the real folders directly in it. Links are never followed, not even
    ``path`` itself: in a watched folder anyone can make one point anywhere."""
    kind = stickfiles.lstat_kind(path)
    if kind == "file":
        return [], [path]
    if kind is None:
        _refuse(report, path, stickfiles.Refused("vanished", stickfiles.VANISHED))
        return [], []
    if kind != "dir":
        _refuse(report, path, stickfiles.Refused("not_a_file", stickfiles.NOT_A_FILE))
        return [], []
    folders, refused = stickfiles.plain_folders(path, skip={ACK_DIR})
    replies = stickfiles.list_named(folders, lambda n: n.startswith("enrol-reply-") and n.endswith(".json"))
    bundles = stickfiles.list_named(folders, lambda n: n.endswith(".vsb"))
    for where, exc in refused + replies.refused + bundles.refused:
        _refuse(report, where, exc)
    return replies.files, bundles.files


def _confirm_replies(hub: Hub, replies: list[Path], report: ImportReport) -> None:
    for reply in replies:
        # Safe to take from any stick: the reply is encrypted to us and proves the one-time
        # code; a replayed or forged one is refused (sync/hub/enrolment.py).
        try:
            doc = json.loads(stickfiles.read_capped(reply, stickfiles.MAX_REPLY_FILE).decode("utf-8"))
        except stickfiles.Refused as exc:
            _refuse(report, reply, exc)
            continue
        except (ValueError, RecursionError):
            # Damaged: it can never be confirmed. Reported once, then taken off the stick.
            report.rejected.append({"file": reply.name, "code": "enrolment", "reason": "登记回执文件损坏,无法读取(已从U盘移除)"})
            _remove(reply)
            continue
        if isinstance(doc, dict) and doc.get("hub_id") != hub.hub_id:
            # Another township's reply (a stick that serves two): not ours to judge or remove.
            report.skipped.append({"file": reply.name, "reason": f"是给乡镇 {doc.get('hub_id')} 的登记回执,未处理"})
            continue
        try:
            code, now = hub.confirm_reply(doc)
            (report.enrolled if now else report.already_enrolled).append(code)
        except (ValidationFailed, ep.EnrolFailed, ep.EnrolLocked) as exc:
            # A reply to us that was refused can never succeed later (a used, revoked, expired,
            # locked or superseded code, or a forgery): say so once and take it off the stick, so it
            # does not come back as a refusal at every later import (nor count toward the lockout again).
            report.rejected.append({"file": reply.name, "code": "enrolment", "reason": exc.title + "(已从U盘移除)"})
        except StationError as exc:  # the hub could not judge it now (its own store): keep it for next time
            report.rejected.append({"file": reply.name, "code": "enrolment", "reason": exc.title})
            continue
        _remove(reply)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def import_path(hub: Hub, path: Path, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import one file or a folder. Bundles are read one at a time: first only their headers, to
    order them per station; then each whole (within the format's cap), applied and let go.
    ``progress(done, total)`` is told after each bundle file (the console's progress bar)."""
    path = Path(path)
    report = ImportReport()
    replies, files = _find(path, report)
    _confirm_replies(hub, replies, report)
    done, total = 0, len(files)

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)
    by_station: dict[str, list[tuple[dict, Path]]] = {}
    for file in files:
        try:
            header = _peek_file(file)
        except (stickfiles.Refused, BundleRejected) as exc:
            _refuse(report, file, exc)
            step()
            continue
        by_station.setdefault(header["sender"], []).append((header, file))
    for station, items in by_station.items():
        if not _in_scope(hub, station):
            # Another township's station, for an account of one township: not its to import. Left
            # on the stick as it was, for that township (or a county account) to take.
            for _ in items:
                step()
            report.skipped.append({"file": f"{station} 的 {len(items)} 个数据包",
                                   "reason": f"服务站 {station} 不属于乡镇 {hub.township},本账号不导入(留在U盘上)"})
            continue
        r = report.stations.setdefault(station, StationReport())
        last_reply, folder = None, items[0][1].parent
        for header, file in sorted(items, key=lambda x: (x[0]["seq_from"], x[1].name)):
            step()
            try:
                data = stickfiles.read_capped(file, stickfiles.MAX_BUNDLE_FILE)
            except stickfiles.Refused as exc:
                _refuse(report, file, exc)
                continue
            before = (hub.store.station(station) or {}).get("hwm", 0)
            try:
                last_reply = hub.receive(data, "stick")
            except BundleRejected as exc:
                if exc.code == "gap":
                    hub.store.hold(station, header["seq_from"], header["seq_to"], data, exc.reason)
                    r.held.append(f"{file.name}:{exc.reason}")
                else:
                    _refuse(report, file, exc)
                continue
            finally:
                del data  # one bundle in memory at a time
            after = hub.store.station(station)["hwm"]
            r.bundles += 1
            r.records += max(0, after - before)
            r.already += after == before and header["seq_to"] >= header["seq_from"]
        released = _release_held(hub, station)
        last_reply = released or last_reply
        if last_reply is not None:
            name = f"{hub.hub_id}-ack-{hub.store.station(station)['hwm']:08d}.vsb"
            try:
                stickfiles.ensure_plain_dir(folder / ACK_DIR)
                r.ack_file = str(stickfiles.write_atomic(folder / ACK_DIR, name, last_reply))
            except stickfiles.Refused as exc:
                report.rejected.append({"file": name, "code": "write_failed",
                                        "reason": f"确认文件没有写回:{exc.reason}。数据已导入,服务站下次同步会再得到确认"})
            except OSError as exc:
                report.rejected.append({"file": name, "code": "write_failed",
                                        "reason": f"确认文件写不回U盘({exc.strerror}):数据已导入,服务站下次同步会再得到确认"})
    return report


def _in_scope(hub: Hub, station: str) -> bool:
    """Whether the logged-in account may import this station's bundles (staff_policy.sees). A station
    the hub does not know goes on to be refused by the hub as such."""
    if hub.township is None:
        return True
    row = hub.store.station(station)
    return row is None or staff_policy.sees(hub.township, row.get("township"))


def _release_held(hub: Hub, station: str) -> bytes | None:
    """Apply held bundles whose gap has been filled; return the newest reply, if any."""
    reply, progress = None, True
    while progress:
        progress = False
        for held_id in hub.store.held_ids(station):
            data = hub.store.held_data(held_id)  # one held bundle in memory at a time
            if data is None:
                continue
            try:
                reply = hub.receive(data, "stick")
            except BundleRejected as exc:
                if exc.code == "gap":
                    continue
            finally:
                del data
            with hub.store.transaction():
                hub.store.release(held_id)
            progress = True
    return reply


def watch(hub: Hub, folders: list[Path], on_report, stop: threading.Event) -> None:
    """Import whatever appears: bundles copied into an inbox, or a stick mounted under a folder."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    lock = threading.Lock()

    def take(target: Path, folder: Path) -> None:
        if not stickfiles.reached_without_links(folder, target):
            # Reached through a link inside the watched folder: it is somewhere else; never read there.
            report = ImportReport()
            _refuse(report, target, stickfiles.Refused("not_a_file", "在链接(快捷方式)指向的别处,未导入"))
            with lock:
                on_report(target, report)
            return
        # lstat, not is_file(): a link named *.vsb is refused by import_path, never waited on or followed.
        if stickfiles.lstat_kind(target) == "file" and not wait_until_stable(target):
            return
        with lock:
            on_report(target, import_path(hub, target))

    class Handler(FileSystemEventHandler):
        def __init__(self, folder: Path):
            self.folder = folder

        def on_created(self, event):
            p = Path(event.src_path)
            if event.is_directory or (p.suffix == ".vsb" and ACK_DIR not in p.parts):
                threading.Thread(target=take, args=(p, self.folder), daemon=True).start()

        def on_moved(self, event):
            p = Path(event.dest_path)
            if p.suffix == ".vsb" and ACK_DIR not in p.parts:
                threading.Thread(target=take, args=(p, self.folder), daemon=True).start()

    observer = Observer()
    for folder in folders:
        observer.schedule(Handler(Path(folder)), str(folder), recursive=True)
    observer.start()
    try:
        stop.wait()
    finally:
        observer.stop()
        observer.join(timeout=5)
