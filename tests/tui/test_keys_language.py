"""Keys that work in a real terminal, and F1 / Ctrl+P in Chinese only, on a real demo station."""
from __future__ import annotations

import re

from textual.widgets import DataTable, Input

from station.tui.keys import key_label
from station.tui.palette import NO_MATCHES
from station.tui.screens.case_detail import CaseDetailScreen
from station.tui.screens.help import HelpScreen
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.ledger import ImportWizard, LedgerScreen
from station.tui.screens.usb import UsbScreen
from tests.tui.conftest import app_for, settle


def _palette_names(app) -> list[str]:
    from textual.command import CommandList
    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]


async def _search(pilot, text: str) -> list[str]:
    from textual.command import CommandInput
    field = pilot.app.screen.query_one(CommandInput)
    field.value = text
    await pilot.pause(0.3)
    await settle(pilot)
    return _palette_names(pilot.app)


def test_key_labels_are_the_keyboards():
    assert [key_label(k) for k in ("ctrl+pageup", "f5", "r", "escape", "enter", "ctrl+s", "pagedown")] == \
        ["Ctrl+PgUp", "F5", "R", "Esc", "回车", "Ctrl+S", "PgDn"]


async def test_help_on_a_table_lists_only_our_actions(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one(DataTable).focus()  # Today's table: Textual's Cursor up/Page down/Select live here
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        actions = {r[1] for r in rows}
        assert {"帮助", "收件", "今日"} <= actions
        assert not [a for a in actions if re.search("[A-Za-z]{3,}", a)], actions
        assert ("Ctrl+P", "命令") in rows


async def test_palette_finds_by_pinyin_initials_and_says_no_match_in_chinese(station_dir):
    from station.services import cases
    app = app_for(station_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        number = cases.list_cases(app.session, status="rated", limit=1)[0]["number"]
        app.open_case(number)
        await settle(pilot)
        assert isinstance(app.screen, CaseDetailScreen)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert "帮助" in await _search(pilot, "bz")
        found = await _search(pilot, "dy")
        assert {"打印回执", "打印委托书"} <= set(found)
        assert (await _search(pilot, "dyhz"))[0] == "打印回执"
        assert (await _search(pilot, "回执"))[0] == "打印回执"
        await _search(pilot, "xyzq")
        await pilot.pause(0.8)  # the palette waits before it says nothing matched
        assert any(NO_MATCHES in n for n in _palette_names(app))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseDetailScreen)


async def test_ctrl_e_in_the_usb_path_box_exports(station_dir, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    app = app_for(station_dir, watch_sticks=False, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, UsbScreen)
        field = app.screen.query_one("#target", Input)
        field.focus()
        field.value = str(stick)
        await pilot.pause()
        field.cursor_position = 0
        await pilot.pause()
        assert field.cursor_position == 0
        await pilot.press("ctrl+e")
        await settle(pilot)
        # The export ran: this demo station is not enrolled, so export offers enrolment with the township.
        from station.tui.screens.enrol import EnrolScreen
        assert isinstance(app.screen, EnrolScreen)
        assert field.cursor_position == 0  # not taken as "end of line"


async def test_ledger_import_and_usb_import_keys_are_not_tab(station_dir):
    app = app_for(station_dir, user="zhanzhang", watch_sticks=False, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)
        await pilot.press("tab")  # what a terminal sends for Ctrl+I: moves the focus, opens nothing
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, ImportWizard)
        assert "ctrl+i" not in {b.key for bs in LedgerScreen._merged_bindings.key_to_bindings.values() for b in bs}
        assert "ctrl+i" not in {b.key for bs in UsbScreen._merged_bindings.key_to_bindings.values() for b in bs}


async def test_intake_f_keys_as_readme_and_first_tab_reaches_the_id_box(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        assert app.focused.id == "resident-search"
        await pilot.press("tab", *"520402")
        await settle(pilot)
        assert app.focused.id == "id_number"
        assert screen.query_one("#id_number", Input).value == "520402"
        await pilot.press("ctrl+f")
        assert app.focused.id == "resident-search"
        await pilot.press("ctrl+t")
        assert app.focused.id == "item-search"
        await pilot.press("f6")  # README: F6 is 台账 everywhere (the typed ID is asked about first)
        await settle(pilot)
        assert "收件尚未保存" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)


async def test_ctrl_c_says_how_to_quit_in_chinese(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("Ctrl+Q" in m and "退出" in m for m in messages), messages
