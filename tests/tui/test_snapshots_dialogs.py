"""Snapshots of the dialogs that end issue 14's dead ends, at 80x24 and 120x40: 登记到乡镇, 修改密码,
添加用户, and 疑似重复登记 at intake. Update with ``--snapshot-update`` for this file and look at the SVGs."""
from __future__ import annotations

import pytest

from station.core.identity import check_char
from tests.tui.conftest import app_for, demo_copy, settle
from tests.tui.test_snapshots import SIZES, _still


@pytest.mark.parametrize("size", SIZES)
def test_enrol_dialog(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("g")
        await _still(pilot)
    assert snap_compare(app_for(demo_copy(tmp_path)), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_own_password_dialog(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        pilot.app.screen.query_one("#change-my-password").press()
        await _still(pilot)
    assert snap_compare(app_for(demo_copy(tmp_path)), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_add_user_dialog(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        pilot.app.screen.query_one("#add-user").press()
        await _still(pilot)
    assert snap_compare(app_for(demo_copy(tmp_path), user="zhanzhang"), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_possible_duplicate_dialog(snap_compare, tmp_path, size):
    async def go(pilot):
        await settle(pilot)
        known = pilot.app.session.store.one("SELECT id_number, name FROM residents ORDER BY id_number LIMIT 1")
        body = known["id_number"][:17]
        body = body[:14] + ("9" if body[14] != "9" else "8") + body[15:]
        await pilot.press("f3")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#id_number").value = body + check_char(body)
        screen.query_one("#name").value = known["name"]
        screen.query_one("#item-search").value = "lsjz"
        await settle(pilot)
        screen.query_one("#item-search").focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await _still(pilot)
    assert snap_compare(app_for(demo_copy(tmp_path)), terminal_size=size, run_before=go)
