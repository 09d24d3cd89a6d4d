"""The app's U盘 screen: export with progress; a returning stick is noticed and imported."""
from __future__ import annotations

import asyncio
import json

from textual.widgets import Static

from station.services import demo
from station.services.session import StationHome
from station.tui import AppConfig, make_app
from station.tui import app as app_module
from station.tui.screens.usb import UsbScreen
from sync import client, enrolment
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS
from tests.tui.conftest import TODAY, demo_copy, settle


async def test_export_to_stick_then_the_stick_comes_back(tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "STICK_POLL_S", 0.3)
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)
    station_dir = demo_copy(tmp_path)
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        code, doc = hub.add_station(s.station_code, s.station_name)
        (tmp_path / "enrol.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        enrolment.enroll_file(s, tmp_path / "enrol.json", code)
    import_path(hub, tmp_path)  # the township confirms the enrolment reply
    stick = tmp_path / "stick"
    stick.mkdir()
    app = make_app(AppConfig(station_dir, today=lambda: TODAY, user="daiban", passphrase=demo.DEMO_PASSPHRASE, watch_scans=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pending = client.pending(app.session)
        assert pending > 0
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, UsbScreen)
        app.screen.query_one("#target").value = str(stick)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert "已导出" in str(app.screen.query_one("#usb-result", Static).content)
        report = import_path(hub, stick)  # at the township
        assert report.stations[app.session.station_code].records == pending
        for _ in range(100):  # the notice follows the import from the worker thread: wait for both
            await asyncio.sleep(0.1)
            if client.pending(app.session) == 0 and any("已导入乡镇确认" in n.message for n in app._notifications):
                break
        assert client.pending(app.session) == 0  # the app noticed the stick's answer on its own
        assert any("已导入乡镇确认" in n.message for n in app._notifications)
    hub.store.close()


async def test_a_returning_stick_with_links_and_fifos_still_brings_the_answers(tmp_path, monkeypatch):
    """A FIFO and a dangling link among the township's answers: the app's stick watcher neither
    hangs nor fails; it takes the real answer and says what it refused."""
    import os

    import pytest
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs and links as on Linux/macOS")
    from station.services import settings as settings_service
    from sync import usb
    monkeypatch.setattr(app_module, "STICK_POLL_S", 0.3)
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)
    station_dir = demo_copy(tmp_path)
    stick = tmp_path / "stick"
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        code, doc = hub.add_station(s.station_code, s.station_name)
        (tmp_path / "enrol.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        enrolment.enroll_file(s, tmp_path / "enrol.json", code)
        import_path(hub, tmp_path)
        usb.export_to(s, stick)
        settings_service._put(s, "usb_folder", str(stick))  # where the app looks besides removable drives
        station_code = s.station_code
    import_path(hub, stick)
    answers = stick / station_code / usb.ACK_DIR
    os.mkfifo(answers / "0000-fifo.vsb")
    (answers / "0001-gone.vsb").symlink_to(tmp_path / "no-such-file")
    app = make_app(AppConfig(station_dir, today=lambda: TODAY, user="daiban", passphrase=demo.DEMO_PASSPHRASE, watch_scans=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if client.pending(app.session) == 0 and any("已导入乡镇确认" in n.message for n in app._notifications):
                break
        assert client.pending(app.session) == 0
        notes = [n.message for n in app._notifications]
        assert any("已导入乡镇确认" in n and "0000-fifo.vsb" in n and "0001-gone.vsb" in n for n in notes), notes
    hub.store.close()
