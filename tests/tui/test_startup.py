"""The app's start: the unlock KDF (Scrypt, 64 MiB for a moment) runs before the store's libraries
and the domain models are loaded, so its memory never lands on top of theirs; an auto-login's KDF
starts before Textual is even loaded. Checked in a fresh interpreter, where nothing is loaded yet."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from textual.widgets import Static

from station.services import demo
from tests.tui.conftest import app_for, settle

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlcipher3", "sqlite_utils", "pydantic", "station.services.session", "station.tui.screens.today")
# What 今日 does not need, so an auto-login does not load it on the way (each cost 20-60 ms of the start).
LATER = ("sqlite_utils", "station.services.backup", "sync.client", "station.tui.screens.unlock", "station.tui.screens.cases")

CHILD = """
import asyncio, json, sys
from pathlib import Path
from station.store import keys
HEAVY, LATER = %r, %r
seen = {}
_open = keys.KeyRing.open
def spy(self, *a, **k):
    seen["before"] = [m for m in HEAVY if m in sys.modules]
    try:
        return _open(self, *a, **k)
    finally:
        seen["after"] = [m for m in HEAVY if m in sys.modules]
keys.KeyRing.open = spy
from station.store import prederive
_start = prederive.start
def start_spy(*a):
    seen["kdf started with"] = [m for m in ("textual", *HEAVY) if m in sys.modules]
    return _start(*a)
prederive.start = start_spy
from station.tui import AppConfig, make_app
seen["station.tui imported"] = [m for m in ("textual", *HEAVY) if m in sys.modules]
app = make_app(AppConfig(Path(sys.argv[1]), user="daiban", passphrase=sys.argv[2], watch_scans=False, watch_sticks=False,
                         background_sync=False))
async def main():
    async with app.run_test(size=(100, 30)):
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if type(app.screen).__name__ == "TodayScreen" and not str(app.screen.query_one("#card-overdue").content).endswith("—"):
                break
        seen["screen"] = type(app.screen).__name__
        seen["kdf taken"] = not prederive._pending
        seen["loaded for today"] = [m for m in LATER if m in sys.modules]
        await asyncio.sleep(0.1)
        import gc
        seen["frozen"] = gc.get_freeze_count()
asyncio.run(main())
print(json.dumps(seen))
"""


def test_auto_login_runs_the_kdf_before_the_store_and_models_load(station_dir):
    out = subprocess.run([sys.executable, "-c", CHILD % (HEAVY, LATER), str(station_dir), demo.DEMO_PASSPHRASE], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["station.tui imported"] == []  # not even Textual: make_app starts the KDF first
    assert seen["kdf started with"] == [] and seen["kdf taken"]  # started before Textual, and the unlock took it
    assert seen["before"] == [] and seen["after"] == []
    assert seen["screen"] == "TodayScreen"
    assert seen["loaded for today"] == []
    # What start-up made is left out of later full garbage collections (each walked it all on the UI thread).
    assert seen["frozen"] > 10_000


async def test_auto_login_with_a_wrong_passphrase_says_so_and_offers_the_unlock_screen(station_dir):
    from station.tui import make_app
    from station.tui.config import AppConfig
    from tests.tui.conftest import TODAY
    app = make_app(AppConfig(data_dir=station_dir, today=lambda: TODAY, user="daiban", passphrase="wrong-pass-1",
                             watch_scans=False, watch_sticks=False, background_sync=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session is None
        assert type(app.screen).__name__ == "UnlockScreen"
        assert any(n.title == "自动登录失败" for n in app._notifications)


async def test_today_loads_once_when_it_opens(station_dir, monkeypatch):
    from station.services import cases
    calls = []
    counts = cases.counts_for_today
    monkeypatch.setattr(cases, "counts_for_today", lambda s: calls.append(1) or counts(s))
    app = app_for(station_dir, watch_sticks=False, background_sync=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert not str(app.screen.query_one("#card-overdue", Static).content).endswith("—")
        assert len(calls) == 1
