"""The township console (乡镇工作台): a Textual app for township staff. The only part of ``sync``
that imports ``textual``. Screens read through ``sync.hub.views`` and write only through the
hub's services; ``make_app(config)`` builds the app the same way for the CLI and the tests."""
from sync.hub.console.app import ConsoleApp, ConsoleConfig, make_app

__all__ = ["ConsoleApp", "ConsoleConfig", "make_app"]
