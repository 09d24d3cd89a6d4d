"""Pilot tests of the township console over a real hub store filled by real bundles from two stations."""
from __future__ import annotations

import pytest

from station.services import cases
from sync import usb
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.console.conftest import SCAN, TODAY, console, settle
from tests.sync.conftest import HUB_PASS


@pytest.fixture(params=["sqlite", "postgresql"])
def console_store(request) -> str:
    """Every console test over both hub stores (the SQLCipher file and PostgreSQL)."""
    return request.param


async def test_login_screen_unlocks_once_and_shows_the_overview(world):
    app = console(world, user=None, passphrase=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "LoginScreen"
        pilot.app.screen.query_one("#login-pass").value = "wrong-passphrase"
        await pilot.press("enter")
        await settle(pilot)
        assert "不正确" in str(pilot.app.screen.query_one("#login-error").content)
        pilot.app.screen.query_one("#login-pass").value = HUB_PASS
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "OverviewScreen" and pilot.app.hub.user == "admin"


async def test_overview_counts_per_station_and_the_silent_one_stands_out(world):
    app = console(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#stations")
        rows = {table.get_row_at(i)[0].plain: [c.plain for c in table.get_row_at(i)] for i in range(table.row_count)}
        # Counted independently from the stations' own stores.
        for code in ("XX0101", "XX0102"):
            s = world.session(code)
            try:
                open_cases = s.store.scalar("SELECT count(*) FROM cases WHERE status IN ('received','submitted','accepted','returned')")
            finally:
                s.close()
            assert rows[code][6] == str(open_cases)
        assert "失联" not in rows["XX0101"][2] and "失联18天" in rows["XX0102"][2]
        assert rows["XX0101"][2].endswith("盘") and rows["XX0102"][2].endswith("盘")  # their bundles came on sticks
        assert table.get_row_at(1)[0].style == "bold red" and table.get_row_at(0)[0].style == ""
        assert "超过7天未联系 1 个" in str(pilot.app.screen.query_one("#overview-summary").content)


async def test_queue_is_oldest_due_first_and_filters(world):
    expected = []
    for code, numbers in world.numbers.items():
        s = world.session(code)
        try:
            for n in numbers:
                st, _ = cases.load(s, n)
                expected.append((st.due_on.isoformat(), st.received_on.isoformat(), n))
        finally:
            s.close()
    expected.sort()
    app = console(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = pilot.app.screen.query_one("#queue")
        shown = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert shown == [n for _, _, n in expected]
        pilot.app.screen.query_one("#f-station").value = "XX0102"
        await settle(pilot)
        shown = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert shown == [n for _, _, n in expected if n.startswith("XX0102")]
        assert "共3件" in str(pilot.app.screen.query_one("#page-info").content)


async def test_a_decision_and_a_return_made_in_the_console_reach_the_station_by_stick(world):
    a, b = world.numbers["XX0101"][1], world.numbers["XX0102"][0]
    app = console(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for number in (a, b):
            pilot.app.open_case(number)
            await settle(pilot)
            if number == a:
                await pilot.press("a")  # 受理
                await settle(pilot)
                await pilot.press("d")
                await settle(pilot)
                form = pilot.app.screen
                form.query_one("#outcome").value = "rejected"
                form.query_one("#summary").value = "年龄未满十六周岁,不符合参保条件"
                await pilot.press("ctrl+s")
            else:
                await pilot.press("t")
                await settle(pilot)
                pilot.app.screen.query_one("#reason").value = "户口簿复印件不清晰"
                await pilot.press("ctrl+s")
            await settle(pilot)
            assert type(pilot.app.screen).__name__ == "CaseScreen"
            await pilot.press("escape")
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        audited = hub.store.s.query("SELECT user, action, target FROM audit WHERE action LIKE 'case.%' ORDER BY seq")
    assert [(r["user"], r["action"], r["target"]) for r in audited] == [
        ("admin", "case.accepted_by_township", a), ("admin", "case.decided", a), ("admin", "case.returned_for_correction", b)]
    # The stations take a stick to the township and back (real bundles both ways).
    for code, number in (("XX0101", a), ("XX0102", b)):
        s = world.session(code)
        try:
            stick = world.stick(f"stick-{code}")
            # The clerk's day goes on (a stick carries something up, and the answers come back on it).
            cases.add_event(s, world.numbers[code][-1], "note_added", {"text": "群众来电询问进度"})
            usb.export_to(s, stick)
            with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
                import_path(hub, stick)
            usb.import_acks(s, stick)
            state, _ = cases.load(s, number)
        finally:
            s.close()
        if code == "XX0101":
            assert state.status.value == "decided" and state.decision == "rejected" and "不符合" in state.decision_summary
        else:
            assert state.status.value == "returned" and state.returned_reason == "户口簿复印件不清晰"


async def test_case_screen_masks_the_resident_and_opens_the_scan(world):
    opened = []
    app = console(world, viewer=lambda p: opened.append((p, p.read_bytes())))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pilot.app.open_case(world.numbers["XX0101"][0])
        await settle(pilot)
        resident = str(pilot.app.screen.query_one("#case-resident").content)
        assert "村民0" in resident and "********" in resident and "1380" not in resident.replace("138****1234", "")
        await pilot.press("o")
        await settle(pilot)
    assert len(opened) == 1 and opened[0][0].name == "户口簿.png" and opened[0][1] == SCAN


async def test_a_handler_sees_no_action_the_state_does_not_allow(world):
    app = console(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        number = world.numbers["XX0102"][1]
        pilot.app.open_case(number)
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        pilot.app.screen.query_one("#reason").value = "缺少合同原件"
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Returned: the township cannot accept or decide until the station resubmits.
        screen = pilot.app.screen
        assert screen.check_action("accept", ()) is False and screen.check_action("decide", ()) is False
        await pilot.press("d")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "CaseScreen"


async def test_forward_to_the_county_then_record_its_result(world):
    county_case = world.numbers["XX0101"][4]  # MZ-001 最低生活保障: the county decides
    township_case = world.numbers["XX0101"][0]  # MZ-003 临时救助: the township decides
    app = console(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pilot.app.open_case(township_case)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert pilot.app.screen.check_action("forward", ()) is False
        await pilot.press("escape")
        pilot.app.open_case(county_case)
        await settle(pilot)
        assert pilot.app.screen.check_action("forward", ()) is False  # not accepted yet
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.view["state"].forwarded_on == TODAY and screen.check_action("forward", ()) is False
        await pilot.press("d")
        await settle(pilot)
        assert "县级办理结果" in str(pilot.app.screen.query_one(".dialog-title").content)
        pilot.app.screen.query_one("#summary").value = "县民政局审核:准予纳入低保"
        await pilot.press("ctrl+s")
        await settle(pilot)
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        _, state, events = hub.case_state(county_case)
        assert state.status.value == "decided" and [e.payload.get("county") for e in events if e.type.value == "decided"] == [True]
        import pytest

        from station.errors import ValidationFailed
        with pytest.raises(ValidationFailed, match="不由县级办理"):
            hub.case_event(township_case, "forwarded_to_county", {})


async def test_a_stick_is_noticed_imported_with_progress_and_its_refusals_shown(world):
    stick = world.stick("usb")
    files = 0
    for code in ("XX0101", "XX0102"):  # both stations' clerks use the same stick
        s = world.session(code)
        try:
            cases.add_event(s, world.numbers[code][0], "note_added", {"text": "群众补充说明情况"})
            files += len(usb.export_to(s, stick).files)
        finally:
            s.close()
    assert files == 2
    (stick / "XX0101" / "XX0101-99999999-99999999.vsb").write_bytes(b"not a bundle at all")
    steps = []
    app = console(world, watch_sticks=True, stick_folders=[stick], stick_poll_s=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)
        await settle(pilot)
        assert any("发现U盘" in (n.title or "") for n in pilot.app._notifications)
        await pilot.press("f7")
        await settle(pilot)
        screen = pilot.app.screen
        bar = screen.query_one("#stick-progress")
        original = bar.update
        bar.update = lambda **kw: (steps.append(kw.get("progress")), original(**kw))[1]
        await pilot.press("enter")
        await settle(pilot, rounds=6)
        report = screen.query_one("#stick-report")
        lines = [[str(c) for c in report.get_row_at(i)] for i in range(report.row_count)]
        assert bar.progress == bar.total == files + 1
        assert any(line[0] == "拒收" and "XX0101-99999999-99999999.vsb" in line[1] for line in lines)
        assert sum(line[0] == "已导入" and "数据包 1 个" in line[1] for line in lines) == 2
        assert "拒收 1 个文件" in str(screen.query_one("#stick-status").content)
    assert list(dict.fromkeys(p for p in steps if p)) == list(range(1, files + 2))  # one step per file, in order
    # The acknowledgements went back onto the stick: each station marks its records delivered.
    from sync import client
    for code in ("XX0101", "XX0102"):
        s = world.session(code)
        try:
            usb.import_acks(s, stick)
            assert client.pending(s) == 0
        finally:
            s.close()


def stick_round_trip(world, code: str, name: str) -> None:
    """A station's clerk takes a stick to the township and back (something to carry up first)."""
    s = world.session(code)
    try:
        cases.add_event(s, world.numbers[code][0], "note_added", {"text": "到乡镇交换U盘"})
        stick = world.stick(name)
        usb.export_to(s, stick)
        with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
            import_path(hub, stick)
        usb.import_acks(s, stick)
    finally:
        s.close()


async def test_a_notice_published_to_one_station_reaches_it_and_shows_as_received(world):
    app = console(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = pilot.app.screen
        form.query_one("#title").value = "冬季停水通知"
        form.query_one("#body").value = "11月25日全天停水"
        form.query_one("#to").value = "2026-11-30"
        form.query_one("#targets").deselect("XX0101")
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = pilot.app.screen.query_one("#publications")
        assert [str(c) for c in table.get_row_at(0)][0::2] == ["公告:冬季停水通知", "0/1"]
        assert str(table.get_row_at(0)[3]) == "XX0102"
    stick_round_trip(world, "XX0102", "stick-b")
    stick_round_trip(world, "XX0101", "stick-a")
    for code, expected in (("XX0102", 1), ("XX0101", 0)):
        s = world.session(code)
        try:
            assert s.store.scalar("SELECT count(*) FROM notices WHERE title = '冬季停水通知'") == expected
        finally:
            s.close()
    # The hub learns the station has it from the station's next contact (its acknowledgement).
    stick_round_trip(world, "XX0102", "stick-b2")
    async with console(world).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        row = [str(c) for c in pilot.app.screen.query_one("#publications").get_row_at(0)]
        assert row[2:] == ["1/1", "全部已收到"]


async def test_a_handler_has_no_publish_screen(world):
    from sync.hub import staff
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        staff.add(hub, "zhangsan", "张三", "经办人", "jingban-pass-77")
    app = console(world, user="zhangsan", passphrase="jingban-pass-77")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert pilot.app.hub.role == "handler"
        await pilot.press("f8")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "OverviewScreen"


def fill(path, decisions: dict[str, tuple[str, str]]) -> None:
    """Staff fill in 处理 and 理由 for some case numbers, as in Excel."""
    import openpyxl
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        number = row[header.index("办件编号")].value
        if number in decisions:
            row[header.index("处理")].value, row[header.index("理由")].value = decisions[number]
    book.save(path)


async def test_bulk_decisions_one_bad_row_report_then_valid_only(world, tmp_path):
    a = world.numbers["XX0101"]
    b = world.numbers["XX0102"]
    path = tmp_path / "待办办件.xlsx"
    app = console(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#bulk-file").value = str(path)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert "已导出 8 件" in str(screen.query_one("#bulk-status").content)
        fill(path, {a[0]: ("准予", "符合条件"), a[1]: ("退回补正", "缺少病历"), b[0]: ("不予", "")})  # 不予 without a reason
        await pilot.press("ctrl+t")
        await settle(pilot)
        report = screen.query_one("#bulk-report")
        assert report.row_count == 1 and "理由" in str(report.get_row_at(0)[1]) + str(report.get_row_at(0)[0])
        assert "正确 2 行,有错 1 处" in str(screen.query_one("#bulk-status").content)
        await pilot.press("ctrl+a")  # all or nothing: nothing
        await settle(pilot)
        with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
            assert hub.case_state(a[0])[1].status.value == "submitted"
        await pilot.press("ctrl+o")  # valid rows only
        await settle(pilot)
        assert "已记录 2 件" in str(screen.query_one("#bulk-status").content)
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        assert [hub.case_state(n)[1].status.value for n in (a[0], a[1], b[0])] == ["decided", "returned", "submitted"]


async def test_stats_match_counts_from_the_stations_and_export(world, tmp_path):
    app = console(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_case(world.numbers["XX0102"][0])
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        pilot.app.screen.query_one("#summary").value = "准予登记"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#stats-folder").value = str(tmp_path)
        table = screen.query_one("#stats")
        rows = {str(table.get_row_at(i)[0]).split()[0]: [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}
        # Received this month, counted independently from each station's own store.
        for code in ("XX0101", "XX0102"):
            s = world.session(code)
            try:
                received = s.store.scalar("SELECT count(*) FROM cases WHERE received_on LIKE '2026-11-%'")
            finally:
                s.close()
            assert rows[code][1] == str(received)
        assert rows["XX0102"][2] == "1" and rows["XX0101"][2] == "0"
        await pilot.press("ctrl+x")
        await pilot.press("ctrl+p")
        await settle(pilot)
    assert (tmp_path / "月度统计-2026-11.xlsx").stat().st_size > 0
    assert (tmp_path / "月度统计-2026-11.pdf").read_bytes().startswith(b"%PDF")


async def test_quarantine_screen_lists_the_reason_and_a_lead_discards_with_a_reason(world):
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        with hub.store.transaction():  # a record the hub set aside (as receive does for a refused item)
            hub.store.quarantine("XX0101", 99, "event", "事件所属的代办件在乡镇不存在", {"id": "x", "case_id": "y"})
    app = console(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        table = pilot.app.screen.query_one("#quarantine")
        assert table.row_count == 1 and "不存在" in str(table.get_row_at(0)[3])
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("ctrl+s")  # no reason: refused
        await settle(pilot)
        assert "原因" in str(pilot.app.screen.query_one("#discard-error").content)
        pilot.app.screen.query_one("#reason").value = "测试数据,已与服务站核实"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen.query_one("#quarantine").row_count == 0
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        assert hub.store.s.scalar("SELECT user FROM audit WHERE action = 'quarantine.discard'") == "admin"


async def test_the_silent_days_setting_changes_who_stands_out(world):
    app = console(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        pilot.app.screen.query_one("#silent_days").value = "0"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "1 到 365" in str(pilot.app.screen.query_one("#err-silent_days").content)
        pilot.app.screen.query_one("#silent_days").value = "30"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "超过30天未联系 0 个" in str(pilot.app.screen.query_one("#overview-summary").content)
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        assert hub.store.s.scalar("SELECT user FROM audit WHERE action = 'settings.silent_days'") == "admin"


async def test_a_lead_adds_a_handler_in_the_console_who_then_logs_in_with_fewer_keys(world):
    app = console(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        form = pilot.app.screen
        form.query_one("#username").value = "lisi"
        form.query_one("#display_name").value = "李四"
        form.query_one("#passphrase").value = "lisi-pass-2026"
        form.query_one("#again").value = "lisi-pass-2026x"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "不一致" in str(form.query_one("#err-passphrase").content)
        form.query_one("#again").value = "lisi-pass-2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = pilot.app.screen.query_one("#staff")
        assert [str(c) for c in table.get_row_at(1)] == ["lisi", "李四", "经办人", "在用"]
    app = console(world, user="lisi", passphrase="lisi-pass-2026")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("f9", "f8"):
            await pilot.press(key)
            await settle(pilot)
            assert type(pilot.app.screen).__name__ == "OverviewScreen"
        assert pilot.app.screen.check_action("settings", ()) is False
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        assert hub.store.s.scalar("SELECT user FROM audit WHERE action = 'user.add' AND target = 'lisi'") == "admin"


async def test_queue_filters_by_item_and_overdue_with_working_days_late(world):
    from datetime import date
    app = console(world, today=date(2026, 11, 25))  # a Wednesday: the cases due 11-23 and 11-24 are late
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#f-overdue").value = True
        await settle(pilot)
        table = screen.query_one("#queue")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[4] for r in rows] == ["2026-11-23", "2026-11-23", "2026-11-24", "2026-11-24"]
        assert [r[5] for r in rows] == ["超2天", "超2天", "超1天", "超1天"]  # working days (Mon 23 → Wed 25)
        screen.query_one("#f-overdue").value = False
        screen.query_one("#f-item").value = "临时救助申请"
        await settle(pilot)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == world.numbers["XX0101"][:2]
