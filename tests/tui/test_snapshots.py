"""Snapshots of the main screens at 80x24 and 120x40 (CJK text must stay aligned).

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""
from __future__ import annotations

import pytest
from textual.widgets import Input

from station.services import cases
from tests.tui.conftest import app_for, demo_copy, settle

SIZES = [(80, 24), (120, 40)]


async def _still(pilot) -> None:
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def _app(tmp_path, user="daiban"):
    return app_for(demo_copy(tmp_path), user=user)


@pytest.mark.parametrize("size", SIZES)
def test_unlock(snap_compare, tmp_path, size):
    app = _app(tmp_path, user=None)
    assert snap_compare(app, terminal_size=size, run_before=_still)


@pytest.mark.parametrize("size", SIZES)
def test_today(snap_compare, tmp_path, size):
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=_still)


@pytest.mark.parametrize("size", SIZES)
def test_intake_filled(snap_compare, tmp_path, size):
    async def fill(pilot):
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#item-search").value = "dbsq"
        await settle(pilot)
        screen.query_one("#item-search").focus()
        await pilot.press("enter")
        await _still(pilot)
        await pilot.pause(0.2)  # the materials list takes the focus a frame later; under load it was caught mid-way
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=fill)


@pytest.mark.parametrize("size", SIZES)
def test_case_list(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("f4")
        await _still(pilot)
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_case_detail(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        number = cases.list_cases(pilot.app.session, status="rated", limit=1)[0]["number"]
        pilot.app.open_case(number)
        await _still(pilot)
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await _still(pilot)
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


# The other screens and dialogs, by their name in the walker's list (tests/tui/walker.py), as the supervisor
# on a station with a ledger, a notice and a project (the demo has none). 设置 is left out: it shows the data folder.
MORE = ["查群众", "群众页", "台账", "导入名单", "U盘", "公示栏", "发布", "备份", "记事表单", "办理中的件"]


@pytest.mark.parametrize("name", MORE)
@pytest.mark.parametrize("size", SIZES)
def test_screen(snap_compare, tmp_path, size, name):
    from tests.tui import walker
    from tests.tui.test_walker import _ids, _prepare
    station_dir, _ = _prepare(tmp_path)
    stop = next(s for s in walker.SCREENS if s.name == name)

    async def go(pilot):
        await settle(pilot)
        await stop.go(pilot, _ids(pilot.app))
        await _still(pilot)
        assert type(pilot.app.screen).__name__ == stop.expect
    assert snap_compare(app_for(station_dir, user="zhanzhang", background_sync=False, watch_sticks=False),
                        terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_palette_search(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        number = cases.list_cases(pilot.app.session, status="rated", limit=1)[0]["number"]
        pilot.app.open_case(number)
        await settle(pilot)
        await pilot.press("ctrl+p", "d", "y")
        await pilot.pause(0.3)
        await _still(pilot)
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)
