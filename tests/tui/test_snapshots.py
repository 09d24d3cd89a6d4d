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
