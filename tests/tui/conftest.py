"""Apps on real encrypted demo stations, with a fixed 'today' so screens are reproducible."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from station.services import demo
from station.tui import AppConfig, make_app

TODAY = date(2026, 11, 20)
_CACHE: dict[int, Path] = {}


def demo_copy(tmp_path: Path, cases: int = 40) -> Path:
    """A demo station (built once per size per run, then copied: building takes a second or two)."""
    if cases not in _CACHE:
        base = tmp_path.parent / f"demo-template-{cases}"
        if not (base / "station.db").exists():
            demo.build(base, cases_count=cases, today=TODAY).close()
        _CACHE[cases] = base
    target = tmp_path / "station"
    shutil.copytree(_CACHE[cases], target)
    return target


@pytest.fixture
def station_dir(tmp_path) -> Path:
    return demo_copy(tmp_path)


def app_for(data_dir: Path, user: str | None = "daiban", **kw):
    config = AppConfig(data_dir=data_dir, today=lambda: TODAY, watch_scans=kw.pop("watch_scans", False),
                       user=user, passphrase=demo.DEMO_PASSPHRASE if user else None, **kw)
    return make_app(config)


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one (e.g. Today reloading after a sync)
            continue
        await pilot.pause()


async def intake_with_item(pilot, item: str = "dbsq"):
    """F3, then a registered resident found by name (Enter takes the first) and the catalog item
    found by ``item`` (pinyin initials): the intake form ready for materials."""
    from station.services import cases
    app = pilot.app
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = app.screen
    some = cases.list_cases(app.session, limit=1)[0]["resident_name"]
    field = screen.query_one("#resident-search")
    field.value = some
    await settle(pilot)
    field.focus()
    await pilot.press("enter")
    await settle(pilot)
    screen.query_one("#item-search").value = item
    await settle(pilot)
    screen.query_one("#item-search").focus()
    await pilot.press("enter")
    await settle(pilot)
    return screen
