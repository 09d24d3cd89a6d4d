"""The clerk's terminal app (Textual). The only package that imports ``textual``.

Screens call services (``station.services``) in worker threads and show the results; they
never touch SQL. ``make_app(config)`` builds the app the same way for the CLI and the tests.
Importing this package loads no Textual yet: ``make_app`` first starts an auto-login's KDF
(``station.store.prederive``), then loads the app.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from station.store import prederive
from station.tui.config import AppConfig

if TYPE_CHECKING:
    from station.tui.app import StationApp


def make_app(config: AppConfig) -> StationApp:
    if config.user and config.passphrase:  # its Scrypt runs beside loading Textual and the app
        prederive.start_for(config.data_dir, config.user, config.passphrase)
    from station.tui.app import StationApp
    return StationApp(config)


def __getattr__(name: str):
    if name == "StationApp":  # loads Textual, so only when asked for
        from station.tui.app import StationApp
        return StationApp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AppConfig", "StationApp", "make_app"]
