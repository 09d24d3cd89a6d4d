"""The app syncs in the background: results arrive, and a dead hub is explained on Today."""
from __future__ import annotations

import asyncio

from textual.widgets import Static

from station.services import cases, demo
from station.services.session import StationHome
from station.tui import AppConfig, make_app
from sync import enrolment
from sync.http import HttpTransport
from tests.tui.conftest import TODAY, demo_copy, settle


async def wait_for(predicate, seconds: float = 15.0) -> bool:
    for _ in range(int(seconds / 0.1)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_background_sync_brings_results_and_reports_a_dead_hub(hub, tmp_path):
    station_dir = demo_copy(tmp_path)
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        with hub.open() as h:
            code, _ = h.add_station(s.station_code, s.station_name)
        enrolment.enroll_online(s, code, HttpTransport(hub.url), hub.url)
        waiting = cases.counts_for_today(s)["results_to_deliver"]
    app = make_app(AppConfig(station_dir, today=lambda: TODAY, user="daiban", passphrase=demo.DEMO_PASSPHRASE, watch_scans=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        line = lambda: str(app.screen.query_one("#sync-line", Static).content)  # noqa: E731
        assert await wait_for(lambda: "上次同步成功" in line() and "待上传0条" in line()), line()
        with hub.open() as h:
            number = next(c["number"] for c in h.store.cases(None, "accepted", 50))
            h.case_event(number, "decided", {"outcome": "approved", "summary": "准予"})
        await pilot.press("f8")  # sync now
        card = lambda: str(app.screen.query_one("#card-results_to_deliver", Static).content)  # noqa: E731
        assert await wait_for(lambda: card().endswith(str(waiting + 1))), card()
        assert cases.load(app.session, number)[0].status.value == "decided"
        hub.kill()
        cases.add_event(app.session, number, "result_delivered", {"method": "当面领取"})
        await pilot.press("f8")
        assert await wait_for(lambda: "连不上乡镇服务器" in line()), line()
        assert "待上传" in line() and app.background_sync.failures >= 1
    hub.start()


async def test_an_enrolled_station_does_not_offer_the_townships_steps(hub, tmp_path):
    """Before enrolling, a submitted case offers 乡镇已受理 / 记录办理结果 (a paper decision is typed in);
    once enrolled, those come from the township and the case screen no longer offers them."""
    from tests.sync.conftest import enroll
    station_dir = demo_copy(tmp_path)
    app = make_app(AppConfig(station_dir, today=lambda: TODAY, user="daiban", passphrase=demo.DEMO_PASSPHRASE, watch_scans=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        number = next(c["number"] for c in cases.list_cases(app.session, status="submitted", limit=5))
        app.open_case(number)
        await settle(pilot)
        shown = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
        assert {"乡镇已受理", "记录办理结果", "退回补正"} <= shown
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        with hub.open() as h:
            code, _ = h.add_station(s.station_code, s.station_name)
        enroll(s, hub, code)
    app = make_app(AppConfig(station_dir, today=lambda: TODAY, user="daiban", passphrase=demo.DEMO_PASSPHRASE, watch_scans=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.open_case(number)
        await settle(pilot)
        shown = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
        assert "上报乡镇" not in shown and not shown & {"乡镇已受理", "记录办理结果", "退回补正"}
        assert "备注" in shown  # the clerk still notes what happens
