"""A township account on a county's hub sees and works only its own township's cases (staff_policy):
through the ``township`` command, the console and the hub's HTTP API, on both hub stores.

The world (tests/console/conftest.py) is a hub holding two stations' real cases; here the county
puts XX0101 into township SB (石板乡) and XX0102 into PS (坪上乡) and adds two SB accounts."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from station.core.cases import EventType
from station.errors import NotFound, PermissionDenied
from sync.hub import county, decisions, staff
from sync.hub.service import HubHome
from tests.console.conftest import console, settle
from tests.sync.conftest import HUB_PASS, ROOT, HubProcess

JB_PASS = "shiban-jingban-88"  # sbjb: 经办人 of township SB
FZ_PASS = "shiban-fuze-99"  # sbfz: 负责人 of township SB


@pytest.fixture(params=["sqlite", "postgresql"])
def console_store(request) -> str:
    return request.param


@pytest.fixture
def county_world(world):
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        county.add_township(hub, "SB", "石板乡")
        county.add_township(hub, "PS", "坪上乡")
        county.assign(hub, "XX0101", "SB")
        county.assign(hub, "XX0102", "PS")
        staff.add(hub, "sbjb", "石经办", "经办人", JB_PASS, township="SB")
        staff.add(hub, "sbfz", "石负责", "负责人", FZ_PASS, township="sb")
    return world


def township(world, *args, user="sbjb", passphrase=JB_PASS, as_json=True):
    env = {**os.environ, "TOWNSHIP_USER": user, "TOWNSHIP_PASSPHRASE": passphrase}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, *(["--json"] if as_json else []),
                           "--data-dir", str(world.hub_dir)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def case_audit(world) -> list[tuple[str, str, str]]:
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        rows = hub.store.s.query("SELECT user, action, target FROM audit WHERE action LIKE 'case.%' ORDER BY seq")
    return [(r["user"], r["action"], r["target"]) for r in rows]


def test_cli_a_township_account_lists_reads_and_decides_its_own_townships_cases_only(county_world):
    w = county_world
    mine, theirs = w.numbers["XX0101"], w.numbers["XX0102"]
    r = township(w, "case", "list")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(c["number"] for c in json.loads(r.stdout)) == sorted(mine)
    r = township(w, "case", "list", "--station", "XX0102")
    assert r.returncode == 6 and "服务站 XX0102 不属于乡镇 SB" in r.stdout
    assert [s["code"] for s in json.loads(township(w, "station", "list").stdout)] == ["XX0101"]

    # Another township's case reads exactly as a number that does not exist: nothing of it shown.
    for number in (theirs[0], "XX0102-2026-9999"):
        r = township(w, "case", "show", number, as_json=False)
        assert r.returncode == 3 and f"没有找到代办件 {number}(本账号只能查看乡镇 SB 的代办件)" in r.stderr
        assert r.stdout == "" and "Traceback" not in r.stderr
    assert township(w, "case", "show", mine[0]).returncode == 0

    for args in (("accept",), ("decide", "--outcome", "approved", "--summary", "准予"), ("return", "--reason", "缺材料")):
        r = township(w, "case", args[0], theirs[0], *args[1:])
        assert r.returncode == 3 and "本账号只能查看乡镇 SB 的代办件" in r.stdout
    r = township(w, "case", "accept", mine[0])
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "accepted"
    assert case_audit(w) == [("sbjb", "case.accepted_by_township", mine[0])]  # nothing on theirs

    # county listings and statistics: its own township, whatever it asks for
    assert sorted(c["number"] for c in json.loads(township(w, "county", "cases").stdout)) == sorted(mine)
    r = township(w, "county", "cases", "--township", "PS")
    assert r.returncode == 6 and "本账号只能查看乡镇 SB 的代办件和统计,不能查看乡镇 PS 的" in r.stdout
    stats = json.loads(township(w, "county", "stats").stdout)
    assert set(stats["by_township"]) == {"SB"} and sum(stats["total"].values()) == len(mine)
    assert json.loads(township(w, "county", "townships").stdout) == [{"code": "SB", "name": "石板乡", "stations": 1}]


def test_cli_statistics_by_township_and_for_the_county(county_world):
    w = county_world
    mine, theirs = w.numbers["XX0101"], w.numbers["XX0102"]
    everyone = json.loads(township(w, "stats", "--month", "2026-11", user="admin", passphrase=HUB_PASS).stdout)
    assert [r["station"] for r in everyone["stations"]] == ["XX0101", "XX0102"]
    assert [(t["township"], t["received"]) for t in everyone["townships"]] == [("PS", len(theirs)), ("SB", len(mine))]
    assert everyone["total"]["station_name"] == "全县合计" and everyone["total"]["received"] == len(mine) + len(theirs)
    text = township(w, "stats", "--month", "2026-11", user="admin", passphrase=HUB_PASS, as_json=False).stdout
    assert "乡镇 SB 小计" in text and "乡镇 PS 小计" in text and "全县合计" in text

    own = json.loads(township(w, "stats", "--month", "2026-11", user="sbfz", passphrase=FZ_PASS).stdout)
    assert [r["station"] for r in own["stations"]] == ["XX0101"] and own["total"]["received"] == len(mine)
    assert [t["township"] for t in own["townships"]] == ["SB"]
    r = township(w, "stats", "--month", "2026-11", "--station", "XX0102", user="sbfz", passphrase=FZ_PASS)
    assert r.returncode == 6 and "服务站 XX0102 不属于乡镇 SB" in r.stdout
    r = township(w, "stats", "--month", "2026-11", "--township", "PS", user="sbfz", passphrase=FZ_PASS)
    assert r.returncode == 6 and "不能查看乡镇 PS 的" in r.stdout
    one = json.loads(township(w, "stats", "--month", "2026-11", "--township", "ps", user="admin", passphrase=HUB_PASS).stdout)
    assert [r["station"] for r in one["stations"]] == ["XX0102"] and one["total"]["received"] == len(theirs)


def test_cli_a_township_account_manages_nothing_county_wide_and_scopes_are_checked(county_world):
    w = county_world
    r = township(w, "user", "add", "lisi", "--name", "李四", user="sbfz", passphrase=FZ_PASS)
    assert r.returncode == 6 and "乡镇 SB 的账号不能管理乡镇工作人员账号,请找县级负责人办理" in r.stdout
    r = township(w, "county", "assign", "XX0102", "--township", "SB", user="sbfz", passphrase=FZ_PASS)
    assert r.returncode == 6 and "不能添加乡镇或划归服务站" in r.stdout
    r = township(w, "serve", "--port", "1", user="sbfz", passphrase=FZ_PASS, as_json=False)
    assert r.returncode == 6 and "乡镇 SB 的账号不能运行同步服务" in r.stderr

    admin = {"user": "admin", "passphrase": HUB_PASS}
    r = township(w, "user", "township", "sbjb", "--township", "NOPE", **admin)
    assert r.returncode != 0 and "没有乡镇 NOPE:请先用 township county add-township 添加" in r.stdout
    r = township(w, "user", "township", "sbjb", **admin)
    assert r.returncode != 0 and "请给出 --township 乡镇编码 或 --county 之一" in r.stdout
    r = township(w, "user", "township", "admin", "--township", "SB", **admin)
    assert r.returncode != 0 and "这是最后一位全县范围的负责人" in r.stdout
    listed = {u["username"]: u["reach_label"] for u in json.loads(township(w, "user", "list", **admin).stdout)}
    assert listed == {"admin": "全县", "sbjb": "乡镇 SB", "sbfz": "乡镇 SB"}
    # moved to township PS, the same account now sees PS's cases and no longer SB's
    assert township(w, "user", "township", "sbjb", "--township", "PS", **admin).returncode == 0
    assert sorted(c["number"] for c in json.loads(township(w, "case", "list").stdout)) == sorted(w.numbers["XX0102"])
    assert township(w, "case", "show", w.numbers["XX0101"][0]).returncode == 3
    assert township(w, "user", "township", "sbjb", "--county", **admin).returncode == 0
    assert len(json.loads(township(w, "case", "list").stdout)) == len(w.numbers["XX0101"]) + len(w.numbers["XX0102"])
    with HubHome(w.hub_dir).unlock("admin", HUB_PASS) as hub:
        moves = hub.store.s.query("SELECT target, detail FROM audit WHERE action = 'user.township' ORDER BY seq")
    assert [(m["target"], json.loads(m["detail"])) for m in moves] == [("sbjb", {"from": "SB", "to": "PS"}),
                                                                       ("sbjb", {"from": "PS", "to": None})]


def test_the_library_refuses_the_same_for_bulk_decisions_and_quarantine(county_world):
    w = county_world
    mine, theirs = w.numbers["XX0101"], w.numbers["XX0102"]
    with HubHome(w.hub_dir).unlock("sbjb", JB_PASS) as hub:
        assert sorted(r["number"] for r in decisions.queue_rows(hub)) == sorted(mine)
        with pytest.raises(PermissionDenied, match="服务站 XX0102 不属于乡镇 SB"):
            decisions.queue_rows(hub, "XX0102")
        with pytest.raises(NotFound, match="本账号只能查看乡镇 SB"):
            with hub.lock, hub.store.transaction():  # the path every bulk decision row takes
                hub.record_case_event(theirs[0], EventType.ACCEPTED, {})
        assert hub.overdue_follow_ups(__import__("datetime").date(2026, 12, 31)) == []
        from sync.hub import quarantine
        with pytest.raises(PermissionDenied):
            quarantine.list_quarantined(hub, "XX0102")
    assert case_audit(w) == []


async def test_console_a_township_account_sees_its_stations_queue_and_cases_only(county_world):
    w = county_world
    mine, theirs = w.numbers["XX0101"], w.numbers["XX0102"]
    app = console(w, user="sbjb", passphrase=JB_PASS)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "乡镇 SB" in pilot.app.sub_title and pilot.app.hub.township == "SB"
        table = pilot.app.screen.query_one("#stations")
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == ["XX0101"]
        await pilot.press("f3")
        await settle(pilot)
        queue = pilot.app.screen.query_one("#queue")
        assert sorted(queue.get_row_at(i)[0] for i in range(queue.row_count)) == sorted(mine)
        assert "共5件" in str(pilot.app.screen.query_one("#page-info").content)
        station_select = pilot.app.screen.query_one("#f-station")
        assert [value for _, value in station_select._options if isinstance(value, str)] == ["XX0101"]

        pilot.app.open_case(theirs[0])  # a number typed or kept from before: refused, nothing shown
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "QueueScreen"
        assert any("本账号只能查看乡镇 SB 的代办件" in str(n.message) for n in pilot.app._notifications)
        pilot.app.open_case(mine[1])
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "CaseScreen"
        await pilot.press("a")  # 受理, its own township's case
        await settle(pilot)
        await pilot.press("escape")
        await pilot.press("f9")  # accounts: county-wide work, not offered
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "QueueScreen"
    assert case_audit(w) == [("sbjb", "case.accepted_by_township", mine[1])]


async def test_console_statistics_by_township_and_for_the_county(county_world):
    w = county_world

    async def stats_rows(user, passphrase):
        async with console(w, user=user, passphrase=passphrase).run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("f5")
            await settle(pilot)
            table = pilot.app.screen.query_one("#stats")
            return [(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[1])) for i in range(table.row_count)]
    mine, theirs = len(w.numbers["XX0101"]), len(w.numbers["XX0102"])
    assert await stats_rows("admin", HUB_PASS) == [("XX0101 石板村", str(mine)), ("XX0102 坪上村", str(theirs)),
                                                   ("乡镇 PS 小计", str(theirs)), ("乡镇 SB 小计", str(mine)),
                                                   ("全县合计", str(mine + theirs))]
    assert await stats_rows("sbfz", FZ_PASS) == [("XX0101 石板村", str(mine)), ("乡镇 SB 小计", str(mine))]


def test_http_the_hubs_api_serves_stations_only(county_world):
    """The hub's HTTP API has no staff-facing endpoint (staff work through the command and the console
    on the hub's machine): nothing there lists, reads or decides a case, for any account."""
    hub = HubProcess(county_world.hub_dir)
    hub.start()
    try:
        paths = set(requests.get(hub.url + "/openapi.json", timeout=10).json()["paths"])
        assert paths == {"/v1/health", "/v1/enroll/start", "/v1/enroll/finish", "/v1/push", "/v1/pull"}
        number = county_world.numbers["XX0102"][0]
        for method, path in (("get", "/v1/cases"), ("get", f"/v1/cases/{number}"), ("post", f"/v1/cases/{number}/decide")):
            r = requests.request(method, hub.url + path, timeout=10, auth=("sbjb", JB_PASS))
            assert r.status_code in (404, 405) and number not in r.text
    finally:
        hub.stop()


async def test_console_a_county_lead_adds_an_account_for_one_township_which_then_sees_only_it(county_world):
    w = county_world
    async with console(w).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        table = pilot.app.screen.query_one("#staff")
        assert [str(c) for c in table.get_row_at(1)] == ["sbjb", "石经办", "经办人", "在用", "乡镇 SB"]
        await pilot.press("a")
        await settle(pilot)
        form = pilot.app.screen
        form.query_one("#username").value = "psjb"
        form.query_one("#display_name").value = "坪经办"
        form.query_one("#township").value = "PS"
        form.query_one("#passphrase").value = form.query_one("#again").value = "pingshang-jb-66"
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = pilot.app.screen.query_one("#staff")
        assert [str(c) for c in table.get_row_at(table.row_count - 1)] == ["psjb", "坪经办", "经办人", "在用", "乡镇 PS"]
    r = township(w, "case", "list", user="psjb", passphrase="pingshang-jb-66")
    assert sorted(c["number"] for c in json.loads(r.stdout)) == sorted(w.numbers["XX0102"])


def test_a_township_account_imports_only_its_own_townships_bundles_from_a_stick(county_world):
    """One stick carries new records from both townships' stations: an SB account imports XX0101's and
    leaves XX0102's on the stick untouched (said as skipped, not refused); a county account then takes them."""
    from sync import usb
    from tests.console.conftest import take

    w = county_world
    stick = w.stick("shared-stick")
    new = {}
    for code in ("XX0101", "XX0102"):
        s = w.session(code)
        new[code] = take(s, "MZ-001", 900 + len(new))
        usb.export_to(s, stick)
        s.close()
    theirs = sorted(p.name for p in stick.rglob("*.vsb") if "XX0102" in p.name)
    assert theirs
    r = township(w, "import", str(stick))
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert "XX0101" in report["stations"] and "XX0102" not in report["stations"]
    assert any("XX0102" in x["reason"] and "不属于乡镇 SB" in x["reason"] for x in report["skipped"])
    assert sorted(p.name for p in stick.rglob("*.vsb") if "XX0102" in p.name and "ack" not in p.parent.name) == theirs
    with HubHome(w.hub_dir).unlock("admin", HUB_PASS) as hub:
        assert hub.store.case(new["XX0101"]) is not None
        assert hub.store.case(new["XX0102"]) is None
    r = township(w, "import", str(stick), user="admin", passphrase=HUB_PASS)
    assert r.returncode == 0 and json.loads(r.stdout)["stations"]["XX0102"]["records"] >= 1
    with HubHome(w.hub_dir).unlock("admin", HUB_PASS) as hub:
        assert hub.store.case(new["XX0102"]) is not None
