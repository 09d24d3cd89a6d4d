"""A half-typed intake is never thrown away by one key: Esc, F2 or Ctrl+Q on it asks first, and
the answer 否 (or Esc) leaves every field as it was. An empty or saved form leaves at once."""
from __future__ import annotations

from textual.widgets import Input, SelectionList, Static

from station.tui.screens.case_detail import Confirm
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.today import TodayScreen
from tests.conftest import make_id
from tests.tui.conftest import app_for, intake_with_item, settle


async def _typed_intake(pilot) -> IntakeScreen:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, IntakeScreen)
    screen.query_one("#id_number", Input).focus()
    await pilot.press(*make_id("19580312", 277))
    await pilot.press("tab", *"wxl")
    await settle(pilot)
    return screen


async def test_esc_f2_and_quit_on_a_typed_intake_ask_first_and_no_keeps_everything(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _typed_intake(pilot)
        before = {i.id: i.value for i in screen.query(Input)}
        for key in ("escape", "f2", "ctrl+q"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, Confirm), key
            assert "收件尚未保存" in str(app.screen.question)
            await pilot.press("n" if key != "f2" else "escape")
            await settle(pilot)
            assert app.screen is screen and app.is_running, key
            assert {i.id: i.value for i in screen.query(Input)} == before
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert app.screen.query_one("#id_number", Input).value == ""  # left on purpose: a fresh form


async def test_an_empty_or_saved_intake_leaves_at_once(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        # a saved intake: nothing is lost by leaving
        screen = await intake_with_item(pilot)
        screen.query_one("#materials", SelectionList).select_all()  # everything brought: no notice to print
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.saved is not None and screen.saved["missing"] == [], screen.query_one("#intake-result").render()
        result = str(screen.query_one("#intake-result", Static).render())
        assert "Ctrl+R 打印回执" in result and "告知书" not in result
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
