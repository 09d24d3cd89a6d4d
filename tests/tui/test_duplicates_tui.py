"""Possible duplicate residents at intake: shown before a new resident is created, with the choice
to use the registered one or register anyway (or go back to the form); real store, real intake."""
from __future__ import annotations

from textual.widgets import OptionList

from station.core.identity import check_char
from station.services import cases
from station.tui.screens.duplicates import DuplicateResidentScreen
from station.tui.screens.intake import IntakeScreen
from tests.tui.conftest import app_for, settle
from tests.tui.test_flows import type_into


def with_check(first17: str) -> str:
    return first17 + check_char(first17)


async def fill_new_resident(pilot, id_number: str, name: str) -> IntakeScreen:
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, IntakeScreen)
    await type_into(pilot, "#id_number", id_number)
    screen.query_one("#name").value = name
    await type_into(pilot, "#item-search", "lsjz")
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("space")
    return screen


def count(session, table: str) -> int:
    return session.store.scalar(f"SELECT count(*) FROM {table}")


async def test_a_one_digit_slip_is_caught_and_the_registered_resident_used(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = app.session
        known = s.store.one("SELECT id, id_number, name FROM residents ORDER BY id_number LIMIT 1")
        body = known["id_number"][:17]
        slip = with_check(body[:14] + ("9" if body[14] != "9" else "8") + body[15:])  # passes the checksum
        residents_before, cases_before = count(s, "residents"), count(s, "cases")
        screen = await fill_new_resident(pilot, slip, known["name"])
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DuplicateResidentScreen)
        shown = str(dialog.query_one("#duplicate-list", OptionList).get_option_at_index(0).prompt)
        assert known["name"] in shown and "第 15 位不同" in shown
        assert known["id_number"] not in shown  # masked: the reason says which digit, nothing is revealed
        assert count(s, "residents") == residents_before  # nothing created while the clerk decides
        await pilot.press("enter")  # use the registered one
        await settle(pilot, rounds=5)
        assert app.screen is screen and screen.saved is not None
        state, _ = cases.load(s, screen.saved["number"])
        assert state.resident_id == known["id"]
        assert count(s, "residents") == residents_before and count(s, "cases") == cases_before + 1


async def test_same_name_and_birth_date_then_register_anyway_or_go_back(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        s = app.session
        known = s.store.one("SELECT id, id_number, name, birth_date FROM residents ORDER BY id_number LIMIT 1")
        area = "110101" if not known["id_number"].startswith("11") else "320102"
        other = with_check(area + known["id_number"][6:14] + "777")  # same birth date, another place
        residents_before = count(s, "residents")
        screen = await fill_new_resident(pilot, other, known["name"])
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DuplicateResidentScreen)
        assert "姓名和出生日期相同" in str(dialog.query_one("#duplicate-list", OptionList).get_option_at_index(0).prompt)
        await pilot.press("escape")  # back to the form: nothing saved, saving possible again
        await settle(pilot)
        assert app.screen is screen and screen.saved is None and not screen.query_one("#save").disabled
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DuplicateResidentScreen)  # asked again for the same person
        app.screen.query_one("#create-anyway").press()
        await settle(pilot, rounds=5)
        assert app.screen is screen and screen.saved is not None
        assert count(s, "residents") == residents_before + 1
        state, _ = cases.load(s, screen.saved["number"])
        assert state.resident_id != known["id"]


async def test_no_dialog_for_someone_nobody_resembles(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await fill_new_resident(pilot, with_check("63280119990101321"), "欧阳青")
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        assert app.screen is screen and screen.saved is not None
