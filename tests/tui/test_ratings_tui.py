"""The 好差评 loop in the app: overdue 回访/整改 on 今日, the rules under 设置 (read-only), the ratings export."""
from __future__ import annotations

import json
from datetime import date

from textual.widgets import DataTable, Static

from station.services import cases, demo
from station.services import rules as rules_service
from station.services.session import StationHome
from station.tui.screens.ratings import RatingsExportForm
from tests.conftest import make_id
from tests.tui.conftest import TODAY, app_for, settle


def _bad_case_rated_on(station_dir, day: date) -> str:
    moving = {"today": day - __import__("datetime").timedelta(days=10)}
    s = StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: moving["today"])
    try:
        n = cases.intake(s, {"resident": {"id_number": make_id(seq=91), "name": "许正清"}, "item": "SB-001",
                             "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]})["number"]
        for etype, payload in [("submitted", {}), ("accepted_by_township", {}), ("decided", {"outcome": "approved", "summary": "准予"}),
                               ("result_delivered", {"method": "当面领取"})]:
            cases.add_event(s, n, etype, payload)
        moving["today"] = day
        cases.add_event(s, n, "rated", {"level": 2, "reason_category": "服务态度差"})
        rules_service.import_doc(s, {"version": "县-2026", "published": "2026-11-01", "publisher": "某县政务服务中心",
                                     "rectify_workdays": 5}, "文件")
    finally:
        s.close()
    return n


async def test_overdue_follow_up_on_today_and_rules_under_settings(station_dir):
    # Rated on Friday 13 November: 回访 due Monday 16th, 整改 (15 working days, the rules then) due 4 December.
    number = _bad_case_rated_on(station_dir, date(2026, 11, 13))
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#attention", DataTable)
        rows = {table.get_row_at(i)[0]: table.get_row_at(i) for i in range(table.row_count)}
        assert rows[number][3] == "回访超期" and rows[number][4] == "2026-11-16"
        assert TODAY == date(2026, 11, 20)  # the 5-day rules installed later did not make 整改 overdue
        await pilot.press("f9")
        await settle(pilot)
        shown = str(app.screen.query_one("#rules-info", Static).content)
        assert "规则版本:县-2026" in shown and "差评整改时限:5 个工作日" in shown


async def test_ratings_export_from_the_case_list(station_dir, tmp_path):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert isinstance(app.screen, RatingsExportForm)
        app.screen.query_one("#file").value = str(tmp_path / "好差评.txt")
        await pilot.click("#go")
        await settle(pilot)
        assert "xlsx" in str(app.screen.query_one("#err-file").content)
        app.screen.query_one("#file").value = str(tmp_path / "好差评.json")
        app.screen.query_one("#file").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, RatingsExportForm), str(app.screen.query_one("#err-file").content)
        rows = json.loads((tmp_path / "好差评.json").read_text("utf-8"))["rows"]
        assert rows and len(rows) == cases.count_cases(app.session, status="rated")
        assert all(r["评价等级"] for r in rows)


async def test_overdue_objection_on_the_board_and_today(station_dir):
    day = {"today": date(2026, 11, 9)}
    s = StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: day["today"])
    try:
        from station.services import bulletin
        nid = bulletin.new_notice(s, "公示", "临时救助对象公示", "名单见附表")
        bulletin.publish(s, nid, "2026-11-09", "2026-11-16")
        bulletin.add_objection(s, nid, "李四", "名单有误")  # due five working days later: 16 November
    finally:
        s.close()
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert "公示异议超期未答复 1 条" in str(app.screen.query_one("#calendar-warning", Static).content)
        await pilot.press("f10")
        await settle(pilot)
        assert "异议超期未答复:临时救助对象公示 · 李四(应于 2026-11-16 前答复)" in str(app.screen.query_one("#checklist", Static).content)


async def test_gap_case_chased_on_today_and_delivery_asks_confirmation(station_dir):
    from station.tui.screens.case_detail import CaseDetailScreen, Confirm, EventForm
    day = {"today": date(2026, 11, 2)}
    s = StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: day["today"])
    try:
        n = cases.intake(s, {"resident": {"id_number": make_id(seq=92), "name": "许正明"}, "item": "MZ-001",
                             "materials_received": ["申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书"],
                             "accept_with_gaps": {"promised_date": "2026-11-09"}})["number"]
        for etype, payload in [("submitted", {}), ("accepted_by_township", {}), ("decided", {"outcome": "approved", "summary": "准予"})]:
            cases.add_event(s, n, etype, payload)
    finally:
        s.close()
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#attention", DataTable)
        rows = {table.get_row_at(i)[0]: table.get_row_at(i) for i in range(table.row_count)}
        assert rows[n][3] == "容缺超期" and rows[n][4] == "2026-11-09"
        app.open_case(n)
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CaseDetailScreen)
        assert "已逾期未补交" in str(detail.query_one("#case-materials", Static).content)
        shown = {b.binding.description for b in detail.active_bindings.values() if b.enabled}
        assert "打印补正通知" in shown
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, Confirm) and "家庭成员收入证明" in app.screen.question
        await pilot.press("n")  # not now: nothing recorded
        await settle(pilot)
        assert app.screen is detail and detail.state.status.value == "decided"
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, EventForm)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert detail.state.status.value == "delivered"
        last = cases.load(app.session, n)[1][-1]
        assert last.payload["gap_confirmed"] is True and "家庭成员收入证明" in last.payload["gap_missing"]


async def test_publish_dialog_refuses_a_posting_shorter_than_the_rules(station_dir):
    from station.services import bulletin
    from station.tui.screens.bulletin import PublishForm
    s = StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY)
    try:
        nid = bulletin.new_notice(s, "公示", "危房改造对象公示", "名单见附表")
    finally:
        s.close()
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        app.screen.query_one("#board", DataTable).focus()
        await pilot.press("ctrl+u")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, PublishForm) and "公示不少于7天" in str(form.query_one(".dialog-title", Static).content)
        form.query_one("#from").value = "2026-11-20"
        form.query_one("#to").value = "2026-11-24"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form and "公示期不得少于 7 天" in str(form.query_one("#err-posting_period").content)
        assert bulletin.notice(app.session, nid)["status"] == "draft"
