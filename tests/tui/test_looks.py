"""Looks that must not mislead: boxes readable without colour, examples that are not values,
errors that go when the field is changed, titles that do not repeat themselves."""
from __future__ import annotations

from textual.widgets import Label, SelectionList, Static

from station.services import cases
from station.tui.screens.cases import CaseListScreen
from tests.tui.conftest import app_for, intake_with_item, settle
from tests.tui.walker import screen_text


async def test_boxes_show_a_tick_or_a_space(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake_with_item(pilot)
        materials = screen.query_one("#materials", SelectionList)
        materials.select("申请人居民身份证")
        screen.query_one("#proxy").value = True
        await pilot.pause()
        screen.query_one("#materials").scroll_visible()
        await pilot.pause()
        text = screen_text(app)
        assert "[✓] 申请人居民身份证" in text and "[ ] 户口簿" in text
        screen.query_one("#proxy").scroll_visible()
        await pilot.pause()
        text = screen_text(app)
        assert "[✓] 委托代办" in text and "[ ] 上门服务" in text
        assert "▐X▌" not in text


async def test_date_examples_are_marked_and_the_label_stays(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
        field = app.screen.query_one("#f-from")
        assert field.placeholder.startswith("例:")
        field.value = "2026-03-01"
        await settle(pilot)
        text = screen_text(app)
        assert "收件日期起" in text and "2026-03-01" in text and "例:" in text  # 止 still shows its example


async def test_error_goes_when_the_field_is_changed_and_title_says_unsaved_once(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await intake_with_item(pilot)
        for name in ("申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书"):
            screen.query_one("#materials", SelectionList).select(name)
        screen.query_one("#gaps").value = True
        await pilot.pause()
        date_box = screen.query_one("#promised_date")
        date_box.value = "2026-11-19"  # in the past
        await pilot.press("ctrl+s")
        await settle(pilot)
        label = screen.query_one("#err-accept_with_gaps-promised_date", Label)
        assert screen.saved is None and label.display and "承诺补交日期" in str(label.content)
        titles = [n.title for n in app._notifications]
        assert titles and all(t.count("未保存") == 1 for t in titles), titles
        date_box.focus()
        date_box.value = "2026-11-27"
        await pilot.pause()
        assert not label.display  # gone as soon as the clerk fixes it, before saving again
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.saved is not None


async def test_live_id_count_is_not_wiped_by_typing(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        app.screen.query_one("#id_number").focus()
        await pilot.press(*"52040")
        await pilot.pause()
        label = app.screen.query_one("#err-resident-id_number", Label)
        assert label.display and "5/18" in str(label.content)


async def test_residents_enter_opens_the_first_found_and_one_character_gets_a_hint(station_dir):
    from station.tui.screens.residents import ResidentScreen, ResidentSearchScreen
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ResidentSearchScreen)
        q = screen.query_one("#q")
        q.value = "王"
        await settle(pilot)
        assert "至少输入两个字" in str(screen.query_one("#found-info", Static).content)
        name = cases.list_cases(app.session, limit=1)[0]["resident_name"]
        q.value = name
        await settle(pilot)
        q.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResidentScreen)
