"""The app's 公示栏 screen: checklist, a notice from draft to archive with an objection."""
from __future__ import annotations

from datetime import date

from textual.widgets import DataTable, Static

from station.services import bulletin
from station.tui.screens.bulletin import BulletinScreen, NoticeForm, ObjectionsForm, PublishForm
from tests.tui.conftest import app_for, demo_copy, settle


async def test_notice_from_draft_to_archive(tmp_path):
    station_dir = demo_copy(tmp_path)
    app = app_for(station_dir, user="zhanzhang")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BulletinScreen)
        checklist = str(screen.query_one("#checklist", Static).content)
        assert "一个公示栏" in checklist and "一个场所" in checklist  # the demo has no notices and no address yet
        assert "修改站务信息" in {b.binding.description for b in screen.active_bindings.values() if b.enabled}
        await pilot.press("ctrl+n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NoticeForm)
        form.query_one("#title").value = "关于开展冬季送温暖活动的公告"
        form.query_one("#body").text = "请各村民小组上报困难户名单。"
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = screen.query_one("#board", DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[0]) == "草稿"
        table.focus()
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert isinstance(app.screen, PublishForm)
        await pilot.press("ctrl+s")  # no posting period: refused beside the field
        await settle(pilot)
        assert isinstance(app.screen, PublishForm) and "公示期" in str(app.screen.query_one("#err-posting_period").content)
        app.screen.query_one("#from").value = "2026-11-20"
        app.screen.query_one("#to").value = "2026-11-26"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert str(table.get_row_at(0)[0]) == "正在公示" and "一个公示栏" not in str(screen.query_one("#checklist", Static).content)
        await pilot.press("ctrl+o")
        await settle(pilot)
        objections = app.screen
        assert isinstance(objections, ObjectionsForm)
        objections.query_one("#who").value = "王某(三组)"
        objections.query_one("#what").value = "名单上报时间太短"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert objections.query_one("#objection-list", DataTable).row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        app.config.today = lambda: date(2026, 11, 27)
        app.session.today = app.config.today
        await pilot.press("ctrl+a")  # the period is over, but the objection is unanswered
        await settle(pilot)
        assert any("未答复" in (n.title or "") for n in app._notifications)
        nid = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        oid = bulletin.notice(app.session, nid)["objection_list"][0]["id"]
        bulletin.answer_objection(app.session, oid, "延长至12月5日")
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert str(table.get_row_at(0)[0]) == "已归档"
    clerk = app_for(station_dir)
    async with clerk.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert "修改站务信息" not in {b.binding.description for b in clerk.screen.active_bindings.values() if b.enabled}
