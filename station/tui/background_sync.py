"""Sync in the background while the app runs: it never blocks the clerk, backs off (with
jitter) while the hub does not answer, resumes where it stopped (the outbox remembers), and
leaves its state in the settings the Today screen reads."""
from __future__ import annotations

import threading
from typing import Callable

from station.errors import StationError
from station.services.session import Session


class BackgroundSync:
    def __init__(self, session: Session, url: str, on_change: Callable[[], None]):
        self.session = session
        self.url = url
        self.on_change = on_change
        self.failures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="station-sync", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def now(self) -> None:
        """Try straight away (the clerk pressed 同步)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        from sync import client
        from sync.http import for_station
        from sync.schedule import next_delay
        transport = for_station(self.session, self.url)  # with the township's certificate, if https
        while not self._stop.is_set():
            try:
                client.sync_once(self.session, transport)
                self.failures = 0
            except StationError:
                self.failures += 1  # sync_once has recorded the error in words for the Today screen
            except Exception as exc:  # a bug must not kill the loop silently: say so, keep trying
                self.failures += 1
                client.record_error(self.session, f"同步程序出错({exc.__class__.__name__}),稍后自动重试;如反复出现请联系技术人员")
            self.on_change()
            self._wake.wait(next_delay(self.failures))
            self._wake.clear()
