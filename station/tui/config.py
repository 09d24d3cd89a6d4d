"""How the app is started (``AppConfig``). Nothing here imports Textual: ``station.tui.make_app``
starts a login given up front (STATION_USER / STATION_PASSPHRASE) on its KDF before loading it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable


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
