"""Every flow a clerk does, through the real app (Textual pilot) on a real encrypted station."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import DataTable, Label, SelectionList, Static

from station.core.cases import Status
from station.core.identity import check_char
from station.services import cases, demo, settings
from station.services.session import StationHome
from station.tui.screens.case_detail import CaseDetailScreen, Confirm, EventForm
from station.tui.screens.help import HelpScreen
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.residents import ResidentScreen
from station.tui.screens.today import TodayScreen
from station.tui.screens.unlock import LockScreen, UnlockScreen
from tests.conftest import make_id
from tests.tui.conftest import TODAY, app_for, settle
from tests.tui.test_print_pdf import printer_list


def text(widget) -> str:
    return str(widget.content)


def open_session(station_dir: Path, user: str = "daiban"):
    return StationHome(station_dir).unlock(user, demo.DEMO_PASSPHRASE, today=lambda: TODAY)


async def type_into(pilot, selector: str, value: str) -> None:
    """Type like a clerk (key by key); Chinese comes from an input method, so it is set whole."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    widget.value = ""
    if value.isascii():
        await pilot.press(*value)
    else:
        widget.value = value
    await pilot.pause()


async def test_unlock_wrong_then_right_shows_live_today(station_dir):
    app = app_for(station_dir, user=None)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press(*"wrong-pass-1", "enter")
        await settle(pilot)
        assert "密码不正确" in text(app.screen.query_one("#unlock-error", Label))
        assert app.session is None
        await pilot.press(*demo.DEMO_PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        expected = cases.counts_for_today(app.session)
        assert text(app.screen.query_one("#card-overdue", Static)).endswith(str(expected["overdue"]))
        assert text(app.screen.query_one("#card-results_to_deliver", Static)).endswith(str(expected["results_to_deliver"]))
        # Counts are live: a case decided elsewhere shows up after a refresh.
        with open_session(station_dir, "zhanzhang") as other:
            number = cases.list_cases(other, status="accepted", limit=1)[0]["number"]
            cases.add_event(other, number, "decided", {"outcome": "approved", "summary": "准予"})
        await pilot.press("r")
        await settle(pilot)
        assert text(app.screen.query_one("#card-results_to_deliver", Static)).endswith(str(expected["results_to_deliver"] + 1))
        assert "尚未连接乡镇服务器" in text(app.screen.query_one("#sync-line", Static))


async def test_intake_new_resident_bad_id_then_missing_material_notice(station_dir, fake_lp):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        good = "52040219560312003"
        good += check_char(good)
        bad = good[:-1] + ("0" if good[-1] != "0" else "1")
        await type_into(pilot, "#id_number", bad)
        assert "校验位" in text(screen.query_one("#err-resident-id_number", Label))  # checked as typed
        await type_into(pilot, "#item-search", "lsjz")  # 临时救助 by pinyin initials
        await pilot.press("enter")
        await settle(pilot)
        assert screen.item.code == "MZ-003"
        await pilot.press("space")  # tick the first material only
        before = cases.count_cases(app.session)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.saved is None and cases.count_cases(app.session) == before
        assert "校验位" in text(screen.query_one("#err-resident-id_number", Label))
        assert "姓名不能为空" in text(screen.query_one("#err-resident-name", Label))
        await type_into(pilot, "#id_number", good)
        assert "出生 1956-03-12" in text(screen.query_one("#err-resident-id_number", Label))
        screen.query_one("#name").value = "吴开芬"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.saved is not None and screen.saved["notice_issued"]
        assert "致困原因证明(医疗费用票据、事故证明等)" in screen.saved["missing"]
        assert "一次性告知" in text(screen.query_one("#intake-result", Static))
        state, events = cases.load(app.session, screen.saved["number"])
        assert [e.type.value for e in events] == ["received", "notice_issued"] and state.due_on is None
        printer_list(fake_lp, "HP-LaserJet-1020")  # as CUPS lists it, should this machine have a real lpstat
        await pilot.press("ctrl+o")  # the one-time notice: 打印 (P) in the print dialog
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert (fake_lp / "job.pdf").read_bytes().startswith(b"%PDF")
        assert screen.saved["number"] in (fake_lp / "args").read_text()
        assert any("已发送到打印机" in n.message for n in app._notifications)


async def test_intake_accept_with_gaps_existing_resident(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        some = cases.list_cases(app.session, limit=1)[0]["resident_name"]
        await type_into(pilot, "#resident-search", some)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.resident is not None and screen.resident["name"] == some
        await type_into(pilot, "#item-search", "dbsq")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.item.name == "最低生活保障申请"
        materials = screen.query_one("#materials", SelectionList)
        for name in ("申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书"):
            materials.select(name)
        screen.query_one("#gaps").value = True
        await pilot.pause()
        await type_into(pilot, "#promised_date", "2026-11-19")  # in the past
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.saved is None
        assert "承诺补交日期" in text(screen.query_one("#err-accept_with_gaps-promised_date", Label))
        await type_into(pilot, "#promised_date", "2026-11-27")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.saved and screen.saved["due_on"] == "2026-12-11"
        state, _ = cases.load(app.session, screen.saved["number"])
        assert str(state.gap_promise) == "2026-11-27" and state.resident_id == screen.resident["id"]


async def test_case_life_submit_decide_deliver_bad_rating_follow_up(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        r = cases.intake(app.session, {"resident": {"id_number": make_id(seq=37), "name": "许正清"}, "item": "SB-001",
                                       "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]})
        app.open_case(r["number"])
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CaseDetailScreen)
        shown = {b.binding.description for b in detail.active_bindings.values() if b.enabled}
        assert "上报乡镇" in shown and "群众评价" not in shown and "结果送达" not in shown

        async def act(key: str, fill=None):
            await pilot.press(key)
            await settle(pilot)
            form = app.screen
            assert isinstance(form, EventForm)
            if fill:
                await fill(form)
            await pilot.press("ctrl+s")
            await settle(pilot)

        await act("s")
        assert detail.state.status == Status.SUBMITTED

        await pilot.press("d")
        await settle(pilot)
        await pilot.press("ctrl+s")  # summary left empty: the form says so and stays open
        await settle(pilot)
        assert isinstance(app.screen, EventForm) and "请填写办理结果说明" in text(app.screen.query_one("#err-summary", Label))

        async def summary(form):
            form.query_one("#summary").value = "已办理参保登记"
        await summary(app.screen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert detail.state.status == Status.DECIDED
        await act("g")
        assert detail.state.status == Status.DELIVERED

        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#level").query("RadioButton").last().value = True
        await pilot.press("ctrl+s")  # a 差评 with no reason: the form says so and stays open
        await settle(pilot)
        assert isinstance(app.screen, EventForm) and "差评须选择原因" in text(app.screen.query_one("#err-reason", Label))
        app.screen.query_one("#reason-category").query("RadioButton")[1].value = True  # 办理时间长
        app.screen.query_one("#reason").value = "跑了两趟"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert detail.state.rating == 1 and detail.state.follow_up == "open"
        assert detail.state.bad_reason == {"category": "办理时间长", "text": "跑了两趟"}
        facts = text(detail.query_one("#case-facts", Static))
        rules, cal = app.session.rules(), app.session.calendar()
        assert "差评原因:办理时间长 跑了两趟" in facts
        assert f"整改期限 {rules.rectify_due(TODAY, cal).due}" in facts and f"回访期限 {rules.revisit_due(TODAY, cal).due}" in facts
        shown = {b.binding.description for b in detail.active_bindings.values() if b.enabled}
        assert {"差评回访", "申诉"} <= shown and "追评" not in shown

        async def revisit(form):
            form.query_one("#result").value = "电话联系本人,核实属实"
        await act("v", revisit)
        assert detail.state.revisited_on == TODAY

        async def close(form):
            for field, value in (("verification", "电话核实"), ("rectification", "加强告知"), ("revisit", "群众表示理解")):
                form.query_one(f"#{field}").value = value
        await act("f", close)
        assert detail.state.follow_up == "closed"

        async def better(form):
            form.query_one("#level").query("RadioButton")[1].value = True  # 满意
        await act("z", better)
        assert (detail.state.rating, detail.state.follow_up_rating) == (1, 4)

        async def grounds(form):
            form.query_one("#grounds").value = "群众误操作"
        await act("u", grounds)
        assert detail.state.appeal == "pending" and "待乡镇复核" in text(detail.query_one("#case-facts", Static))
        table = detail.query_one("#timeline", DataTable)
        labels = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert labels == ["收件登记", "上报乡镇", "办理结果", "结果送达", "群众评价", "差评回访", "差评整改完成", "追评", "申诉"]


async def test_scan_dropped_into_watched_folder_is_attached(station_dir, tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    with open_session(station_dir) as s:
        settings.set_scan_folder(s, str(scans))
        number = cases.list_cases(s, status="received", limit=1)[0]["number"]
    app = app_for(station_dir, watch_scans=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.open_case(number)
        await settle(pilot)
        scan = scans / "户口簿.jpg"
        scan.write_bytes(b"\xff\xd8\xff\xe0" + b"JPEG-DATA-OF-A-SCAN" * 500)
        for _ in range(100):  # the watcher waits for the file to stop growing
            await asyncio.sleep(0.1)
            if isinstance(app.screen, Confirm):
                break
        assert isinstance(app.screen, Confirm) and "户口簿.jpg" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert not scan.exists()  # nothing readable left outside the encrypted store
        from station.services import attachments
        state, _ = cases.load(app.session, number)
        stored = attachments.list_for_case(app.session, state.id)
        assert [a["name"] for a in stored] == ["户口簿.jpg"]
        assert attachments.read(app.session, stored[0]["id"]).startswith(b"\xff\xd8")
        assert "户口簿.jpg" in text(app.screen.query_one("#case-attachments", Static))


async def test_idle_lock_and_unlock(station_dir):
    app = app_for(station_dir, idle_lock_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        deadline = time.monotonic() + 5
        while not isinstance(app.screen, LockScreen) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert isinstance(app.screen, LockScreen)
        await pilot.press("f3")  # nothing behind the lock answers
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        app.config.idle_lock_seconds = 60
        await pilot.press(*"not-the-pass", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and "不正确" in text(app.screen.query_one("#lock-error", Label))
        await pilot.press(*demo.DEMO_PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen) and not app.locked


async def test_reveal_is_for_supervisors_and_audited(station_dir):
    with open_session(station_dir) as s:
        resident_id = cases.list_cases(s, limit=1)[0]["resident_id"]
        full = s.store.scalar("SELECT id_number FROM residents WHERE id = ?", (resident_id,))
    clerk = app_for(station_dir)
    async with clerk.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        clerk.open_resident(resident_id)
        await settle(pilot)
        assert isinstance(clerk.screen, ResidentScreen)
        assert full not in text(clerk.screen.query_one("#resident-facts", Static))
        assert "查看完整号码" not in {b.binding.description for b in clerk.screen.active_bindings.values() if b.enabled}
    boss = app_for(station_dir, user="zhanzhang")
    async with boss.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        boss.open_resident(resident_id)
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        boss.screen.query_one("#reason").value = "核对低保申请人身份"
        await pilot.press("enter")
        await settle(pilot)
        assert full in text(boss.screen.query_one("#resident-facts", Static))
        assert boss.session.store.scalar("SELECT count(*) FROM audit WHERE action = 'resident.reveal' AND target = ?", (resident_id,)) == 1


async def test_help_and_command_palette_list_actions_in_chinese(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict((d, k) for k, d in app.screen.keys)
        assert keys["保存"] == "Ctrl+S" and "收件" in keys and "锁屏" in keys
        await pilot.press("escape")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "保存" in titles and "代办件" in titles and "Theme" not in titles and "Quit" not in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert CommandPalette.is_open(app)


async def test_case_list_filters_and_pages(tmp_path):
    from station.tui.screens.cases import PAGE, CaseListScreen
    from tests.tui.conftest import demo_copy
    station_dir = demo_copy(tmp_path, cases=230)
    app = app_for(station_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseListScreen)
        table = screen.query_one("#cases", DataTable)
        assert table.row_count == PAGE and screen.total == 230
        await pilot.press("n")
        await settle(pilot)
        assert screen.page == 1 and table.row_count == PAGE
        await pilot.press(*"nnnn")
        await settle(pilot)
        assert screen.page == 4 and table.row_count == 230 - 4 * PAGE  # stops at the last page
        screen.query_one("#f-overdue").value = True
        await settle(pilot)
        overdue = cases.count_cases(app.session, overdue=True)
        assert screen.page == 0 and screen.total == overdue and table.row_count == min(overdue, PAGE)
        assert all("超期" in str(table.get_row_at(i)[4]) for i in range(table.row_count))  # 120 wide: all columns
        screen.query_one("#f-overdue").value = False
        screen.query_one("#f-status").value = "rated"
        await settle(pilot)
        assert screen.total == cases.count_cases(app.session, status="rated")
        assert {str(table.get_row_at(i)[4]) for i in range(table.row_count)} == {"已评价"}
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseDetailScreen)


async def test_settings_scan_folder_checked_and_idle_time_for_supervisor_only(station_dir, tmp_path):
    from station.tui.screens.settings import SettingsScreen
    app = app_for(station_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert screen.query_one("#idle_lock_minutes").disabled  # a clerk cannot change it
        await type_into(pilot, "#scan_folder", str(tmp_path / "no-such-folder"))
        await pilot.press("enter")
        await pilot.pause()
        assert "找不到文件夹" in text(screen.query_one("#err-scan_folder", Label))
        await type_into(pilot, "#scan_folder", str(tmp_path))
        await pilot.press("enter")
        await pilot.pause()
        assert settings.scan_folder(app.session) == tmp_path.resolve()
    boss = app_for(station_dir, user="zhanzhang")
    async with boss.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        await type_into(pilot, "#idle_lock_minutes", "500")
        await pilot.press("enter")
        await pilot.pause()
        assert "1 至 120" in text(boss.screen.query_one("#err-idle_lock_minutes", Label))
        await type_into(pilot, "#idle_lock_minutes", "10")
        await pilot.press("enter")
        await pilot.pause()
        assert settings.idle_lock_minutes(boss.session) == 10 and boss.idle_limit() == 600


async def test_settings_users_deactivate_and_rekey_for_supervisor(station_dir):
    import json

    from station.errors import AuthFailed
    from station.store import keys
    from station.tui.screens.settings import SettingsScreen
    clerk = app_for(station_dir)
    async with clerk.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert not clerk.screen.query_one("#users-section").display  # a clerk sees no users
    boss = app_for(station_dir, user="zhanzhang")
    async with boss.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        screen = boss.screen
        assert isinstance(screen, SettingsScreen)
        table = screen.query_one("#users-table", DataTable)
        rows = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[3]) for i in range(table.row_count)}
        assert rows == {"zhanzhang": "在用", "daiban": "在用"}
        table.move_cursor(row=[str(table.get_row_at(i)[0]) for i in range(table.row_count)].index("daiban"))
        key_before = boss.session.db_key
        screen.query_one("#deactivate-user").press()
        await settle(pilot)
        assert isinstance(boss.screen, Confirm)
        await pilot.press("y")
        await settle(pilot, rounds=6)
        rows = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[3]) for i in range(table.row_count)}
        assert rows["daiban"] == "已停用" and boss.session.db_key != key_before
        key_after_deactivate = boss.session.db_key
        screen.query_one("#rekey").press()
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, rounds=6)
        assert boss.session.db_key != key_after_deactivate
        assert json.loads((station_dir / "keys.json").read_text())["current"] == keys.key_id(boss.session.db_key)
    try:
        open_session(station_dir, "daiban").close()
        raise AssertionError("a deactivated clerk logged in")
    except AuthFailed as exc:
        assert "已停用" in exc.title
