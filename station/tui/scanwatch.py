"""Watching the scanner's folder (高拍仪保存目录) for new files, with ``watchdog``.

A scanner writes a file over a second or two; a file is reported only once its size has
stopped changing, so a half-written scan is never offered for attaching.
"""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from station.fileio import wait_until_stable
from station.services.attachments import ALLOWED


def _plain_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class _Handler(FileSystemEventHandler):
    def __init__(self, report: Callable[[Path], None]):
        self.report = report
        self.seen: set[Path] = set()
        self.lock = threading.Lock()

    def _consider(self, raw: str) -> None:
        path = Path(raw)
        if path.suffix.lower() not in ALLOWED or path.name.startswith((".", "~")):
            return
        with self.lock:
            if path in self.seen:
                return
            self.seen.add(path)
        threading.Thread(target=self._settle, args=(path,), daemon=True).start()

    def _settle(self, path: Path) -> None:
        # A link, FIFO or folder named like a scan is never offered (attach would refuse it too).
        if _plain_file(path) and wait_until_stable(path) and _plain_file(path):
            self.report(path)
        with self.lock:
            self.seen.discard(path)

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._consider(event.src_path)

    def on_moved(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._consider(event.dest_path)


class ScanWatcher:
    def __init__(self, folder: Path, report: Callable[[Path], None]):
        self.folder = folder
        self.observer = Observer()
        self.observer.schedule(_Handler(report), str(folder), recursive=False)

    def start(self) -> None:
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=2)
