"""How the app is started (``AppConfig``), and an unlock that begins before Textual is loaded.

Nothing here imports Textual. With a login given up front (STATION_USER / STATION_PASSPHRASE),
``make_app`` starts the passphrase's Scrypt on another thread first: the KDF waits for nothing
but the key ring, and loading Textual and the app (~0.1 s) then runs beside it instead of
before it. The KDF's 64 MiB is given back before the store's libraries and the screens load
(``station.tui.app``), so the two never add up.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from station.store.keys import KeyRing, Unlocked, station_ring


@dataclass
class AppConfig:
    data_dir: Path
    today: Callable[[], date] = date.today
    # None: the station's own setting (设置 → 自动锁屏)
    idle_lock_seconds: float | None = None
    # Unlock without the screen (STATION_USER / STATION_PASSPHRASE, benchmarks).
    user: str | None = None
    passphrase: str | None = None
    watch_scans: bool = True
    background_sync: bool = True
    watch_sticks: bool = True
    # A line for the unlock screen (the demo station shows its logins there).
    hint: str | None = None


class PendingUnlock:
    """The key ring opened with a passphrase on a thread of its own; ``result`` waits for it."""

    def __init__(self, data_dir: Path, username: str, passphrase: str):
        self.username = username
        self._data_dir = Path(data_dir)
        self._passphrase = passphrase
        self._result: tuple[KeyRing, Unlocked] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="station-unlock", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            ring = station_ring(self._data_dir)
            self._result = (ring, ring.open(self.username, self._passphrase))
        except BaseException as exc:  # raised again where the app waits for it, as if unlocked there
            self._error = exc
        finally:
            self._passphrase = ""

    def result(self) -> tuple[KeyRing, Unlocked]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
