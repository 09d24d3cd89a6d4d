"""查找群众: Enter opens what was found (the first resident, or the case of a case number), ↓ goes
into the list to choose another; one character gets a hint instead of an empty list."""
from __future__ import annotations

from textual.widgets import DataTable, Static

from station.services import search
from station.tui.screens.case_detail import CaseDetailScreen
from station.tui.screens.residents import ResidentScreen, ResidentSearchScreen
from tests.tui.conftest import app_for, settle


async def open_search(pilot) -> ResidentSearchScreen:
    await pilot.press("f5")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ResidentSearchScreen)
    return pilot.app.screen


async def test_one_character_gets_a_hint_and_enter_opens_the_first(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_search(pilot)
        name = app.session.store.scalar("SELECT name FROM residents ORDER BY name LIMIT 1")
        expected = search.search(app.session, name[:2], limit=50)["residents"]
        assert expected  # the demo's resident is found by two characters of the name
        screen.query_one("#q").value = name[:1]
        await settle(pilot)
        info = str(screen.query_one("#found-info", Static).content)
        assert "至少输入两个字" in info and screen.query_one("#found", DataTable).row_count == 0
        await pilot.press("enter")  # Enter on one character: the hint stays, nothing opens
        await settle(pilot)
        assert app.screen is screen and "至少输入两个字" in str(screen.query_one("#found-info", Static).content)
        screen.query_one("#q").value = name[:2]
        await pilot.press("enter")  # at once, before the search of the typing has shown anything
        await settle(pilot)
        assert isinstance(app.screen, ResidentScreen) and app.screen.resident_id == expected[0]["id"]


async def test_down_chooses_another_and_a_case_number_opens_the_case(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_search(pilot)
        s = app.session
        surname = s.store.scalar("SELECT substr(name, 1, 2) FROM residents GROUP BY substr(name, 1, 2) "
                                 "HAVING count(*) > 1 LIMIT 1")
        found = search.search(s, surname, limit=50)["residents"]
        assert len(found) >= 2  # two residents whose names begin alike: a real choice to make
        screen.query_one("#q").value = surname
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentScreen) and app.screen.resident_id == found[1]["id"]
        await pilot.press("escape")
        await settle(pilot)
        number = s.store.scalar("SELECT number FROM cases LIMIT 1")
        screen.query_one("#q").focus()
        screen.query_one("#q").value = number
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseDetailScreen)
