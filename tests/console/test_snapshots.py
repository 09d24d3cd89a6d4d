"""Snapshots of every console screen at 80x24 and 120x40 (Chinese text must stay aligned).

Update after an intended change with ``pytest tests/console/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them."""
from __future__ import annotations

import pytest
from textual.widgets import Input

from sync.hub.service import HubHome
from tests.console.conftest import console, settle
from tests.sync.conftest import HUB_PASS

SIZES = [(80, 24), (120, 40)]


async def _still(pilot) -> None:
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def _keys(*keys: str, case: str | None = None):
    async def run(pilot):
        await settle(pilot)
        if case:
            pilot.app.open_case(case)
            await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await _still(pilot)
    return run


SCREENS = {
    "overview": (), "queue": ("f3",), "bulk": ("f4",), "stats": ("f5",), "quarantine": ("f6",), "sticks": ("f7",),
    "publish_notice": ("f8", "n"), "settings": ("s",),
}


@pytest.mark.parametrize("size", SIZES)
def test_login(snap_compare, world, size):
    assert snap_compare(console(world, user=None, passphrase=None), terminal_size=size, run_before=_still)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_screen(snap_compare, world, screen, size):
    if screen == "quarantine":
        with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
            with hub.store.transaction():
                hub.store.quarantine("XX0101", 41, "attachment", "事件所属的代办件在乡镇不存在", {"id": "a", "case_id": "c"})
    assert snap_compare(console(world), terminal_size=size, run_before=_keys(*SCREENS[screen]))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("form", ["case", "return", "decide"])
def test_case_and_its_forms(snap_compare, world, form, size):
    keys = {"case": (), "return": ("t",), "decide": ("d",)}[form]
    assert snap_compare(console(world), terminal_size=size, run_before=_keys(*keys, case=world.numbers["XX0101"][0]))


@pytest.mark.parametrize("size", SIZES)
def test_staff(snap_compare, world, size):
    assert snap_compare(console(world), terminal_size=size, run_before=_keys("f9"))
