"""登记到乡镇 from the app: online against a real hub on 127.0.0.1, and with the township's file on
a stick; wherever the app says "the stick / sync" while not enrolled, the way to enrol is offered."""
from __future__ import annotations

import json

import pytest
from textual.widgets import Static

from station.services import demo
from station.services import settings as settings_service
from station.services.session import StationHome
from station.tui.screens.enrol import EnrolScreen
from station.tui.screens.today import TodayScreen
from station.tui.screens.usb import UsbScreen
from sync import client
from sync.http import for_station
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS, HubProcess
from tests.sync.test_enrol_tls import self_signed
from tests.tui.conftest import TODAY, app_for, demo_copy, settle


async def type_value(pilot, selector: str, value: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    widget.value = value
    await pilot.pause()


async def test_enrol_online_from_the_usb_screen_with_the_one_time_code(tmp_path, hub):
    station_dir = demo_copy(tmp_path)
    with hub.open() as h:
        code, _ = h.add_station(demo.DEMO_CODE, demo.DEMO_NAME)
    app = app_for(station_dir, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, UsbScreen)
        line = str(app.screen.query_one("#usb-enrol", Static).content)
        assert "尚未登记到乡镇" in line and "station" not in line
        assert "ctrl+g" in app.screen.active_bindings
        await pilot.press("ctrl+e")  # export while not enrolled: the enrolment dialog, not a dead end
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen)
        await pilot.press("escape")  # Esc cancels and changes nothing
        await settle(pilot)
        assert isinstance(app.screen, UsbScreen) and client.hub(app.session) is None
        await pilot.press("ctrl+g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EnrolScreen)
        await type_value(pilot, "#code", "2222233333")  # well formed, but not the township's code
        await type_value(pilot, "#hub-url", hub.url.removeprefix("http://"))  # as printed on the township's slip
        dialog.query_one("#enrol-online").press()
        await settle(pilot, rounds=6)
        assert app.screen is dialog and client.hub(app.session) is None
        assert "没有登记" in str(dialog.query_one("#enrol-result", Static).content)
        await type_value(pilot, "#code", code.lower()[:5] + "-" + code.lower()[5:])  # as read off the slip
        dialog.query_one("#enrol-online").press()
        await settle(pilot, rounds=6)
        assert isinstance(app.screen, UsbScreen)
        peer = client.hub(app.session)
        assert peer is not None and peer["url"] == hub.url
        assert any("已登记到" in n.message for n in app._notifications)
        assert not app.screen.query_one("#usb-enrol", Static).display  # the warning is gone
        assert "ctrl+g" not in app.screen.active_bindings
        pending = client.pending(app.session)
        client.sync_once(app.session, for_station(app.session, hub.url))  # the hub now takes this station's records
        assert pending > 0 and client.pending(app.session) == 0


async def test_enrol_with_the_file_on_a_stick_from_today(tmp_path):
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)
    station_dir = demo_copy(tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    code, doc = hub.add_station(demo.DEMO_CODE, demo.DEMO_NAME)
    (stick / f"enrol-{demo.DEMO_CODE}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        settings_service._put(s, "usb_folder", str(stick))  # the stick the station used before
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        today = app.screen
        assert isinstance(today, TodayScreen)
        assert "按 G 登记到乡镇" in str(today.query_one("#sync-line", Static).content)
        assert "g" in today.active_bindings
        await pilot.press("f8")  # 同步 while not enrolled: the way to enrol, not a message
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen)
        app.screen.query_one("#enrol-cancel").press()  # 取消 changes nothing
        await settle(pilot)
        assert app.screen is today and client.hub(app.session) is None
        await pilot.press("g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EnrolScreen)
        assert dialog.query_one("#enrol-file").value == str(stick / f"enrol-{demo.DEMO_CODE}.json")  # found on the stick
        await type_value(pilot, "#code", "2222233333")  # not the code on the township's slip
        dialog.query_one("#enrol-file-go").press()
        await settle(pilot, rounds=6)
        assert app.screen is dialog and client.hub(app.session) is None
        assert "登记码不正确" in str(dialog.query_one("#enrol-result", Static).content)
        assert not (stick / f"enrol-reply-{demo.DEMO_CODE}.json").exists()
        await type_value(pilot, "#code", code)
        dialog.query_one("#enrol-file-go").press()
        await settle(pilot, rounds=6)
        assert app.screen is today
        assert client.hub(app.session)["hub_id"] == "JZ01"
        reply = stick / f"enrol-reply-{demo.DEMO_CODE}.json"
        assert reply.is_file()
        await settle(pilot)
        assert "按 G" not in str(today.query_one("#sync-line", Static).content)
        assert "g" not in today.active_bindings  # enrolled: no longer offered, nor in the footer
        await pilot.press("f9")
        await settle(pilot)
        assert "已登记到 旧州镇便民服务中心" in str(app.screen.query_one("#enrol-status", Static).content)
    report = import_path(hub, stick)  # the township takes the reply in
    assert report.enrolled == [demo.DEMO_CODE]
    hub.store.close()


@pytest.fixture
def tls_hub(tmp_path):
    """``township serve`` over https with the township's own self-signed certificate."""
    HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    process = HubProcess(tmp_path / "hub", tls=self_signed(tmp_path, "township"))
    process.start()
    yield process
    process.stop()


async def test_enrol_online_over_https_with_the_townships_certificate(tmp_path, tls_hub):
    """A hub behind TLS: without the township's certificate the app says so in Chinese (no command
    line hint) and enrols nothing; with the certificate file it enrols and keeps the certificate."""
    station_dir = demo_copy(tmp_path)
    with tls_hub.open() as h:
        code, _ = h.add_station(demo.DEMO_CODE, demo.DEMO_NAME)
    app = app_for(station_dir, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EnrolScreen)
        await type_value(pilot, "#code", code)
        await type_value(pilot, "#hub-url", tls_hub.url)
        await type_value(pilot, "#hub-ca", str(tmp_path / "no-such.pem"))
        dialog.query_one("#enrol-online").press()
        await settle(pilot)
        assert "不是 PEM 格式的证书" in str(dialog.query_one("#err-ca").content)
        await type_value(pilot, "#hub-ca", "")
        dialog.query_one("#enrol-online").press()
        await settle(pilot, rounds=6)
        said = str(dialog.query_one("#enrol-result", Static).content)
        assert "无法验证乡镇服务器" in said and "station" not in said and "--" not in said
        assert client.hub(app.session) is None
        await type_value(pilot, "#hub-ca", str(tls_hub.tls[0]))
        dialog.query_one("#enrol-online").press()
        await settle(pilot, rounds=6)
        assert app.screen is not dialog
        assert client.hub(app.session)["url"] == tls_hub.url
        assert client.hub_ca(app.session) == tls_hub.tls[0].read_text()
