"""The clerk's terminal app (Textual). The only package that imports ``textual``.

Screens call services (``station.services``) in worker threads and show the results; they
never touch SQL. ``make_app(config)`` builds the app the same way for the CLI and the tests.
"""
from station.tui.app import AppConfig, StationApp, make_app

__all__ = ["AppConfig", "StationApp", "make_app"]
