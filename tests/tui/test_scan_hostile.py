"""The scanner's folder in the app: a link (or FIFO) dropped there is never offered for attaching;
a real scan next to it still is. Real watchdog, real links, bounded in time."""
from __future__ import annotations

import asyncio
import os

import pytest

from station.services import cases, demo, settings
from station.services.session import StationHome
from station.tui.screens.case_detail import Confirm
from tests.tui.conftest import TODAY, app_for, settle

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and links as on Linux/macOS")


async def wait_for_confirm(app, seconds: float) -> bool:
    for _ in range(int(seconds * 10)):
        await asyncio.sleep(0.1)
        if isinstance(app.screen, Confirm):
            return True
    return False


async def test_a_link_in_the_scanner_folder_is_not_offered(station_dir, tmp_path):
    scans, outside = tmp_path / "scans", tmp_path / "outside"
    scans.mkdir()
    outside.mkdir()
    secret = outside / "别人的证件.jpg"
    secret.write_bytes(b"\xff\xd8\xff\xe0" + b"NOT-A-SCAN" * 500)
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        settings.set_scan_folder(s, str(scans))
        number = cases.list_cases(s, status="received", limit=1)[0]["number"]
    app = app_for(station_dir, watch_scans=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.open_case(number)
        await settle(pilot)
        (scans / "户口簿.jpg").symlink_to(secret)
        os.mkfifo(scans / "管道.png")
        assert not await wait_for_confirm(app, 3)  # longer than the watcher's settle time
        assert app.pending_scans == []
        await pilot.press("a")  # attach by hand: nothing to attach
        await settle(pilot)
        assert not isinstance(app.screen, Confirm)
        real = scans / "身份证.jpg"
        real.write_bytes(b"\xff\xd8\xff\xe0" + b"SCAN" * 500)
        assert await wait_for_confirm(app, 10) and "身份证.jpg" in app.screen.question
    assert secret.read_bytes() == b"\xff\xd8\xff\xe0" + b"NOT-A-SCAN" * 500
