"""服务站信息 from 设置: the supervisor sets name, address, hours and phone (audited, a bad phone
refused beside its field); the receipt printed afterwards carries all four (PDF read back)."""
from __future__ import annotations

import re
import subprocess

from textual.widgets import Label

from station.services import bulletin, cases
from station.tui.screens.case_detail import CaseDetailScreen
from station.tui.screens.settings import SettingsScreen
from tests.tui.conftest import app_for, settle
from tests.tui.test_print_pdf import printer_list

PROFILE = {"name": "旧州镇石板村便民服务站(新址)", "address": "石板村村委会一楼东侧", "hours": "周一至周五 8:30-17:30", "phone": "0851-3312345"}


def pdf_text(pdf) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", text)


async def test_profile_set_in_settings_is_printed_on_the_receipt(station_dir, fake_lp):
    clerk = app_for(station_dir)
    async with clerk.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert clerk.screen.query_one("#profile-address").disabled  # a clerk reads, the supervisor edits
        assert not clerk.screen.query_one("#save-profile").display
    app = app_for(station_dir, user="zhanzhang")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        for key, value in PROFILE.items():
            screen.query_one(f"#profile-{key}").value = value
        screen.query_one("#profile-phone").value = "12345"
        await settle(pilot)  # typed first, then saved (an edit clears the field's old error)
        screen.query_one("#save-profile").press()
        await settle(pilot)
        assert "电话号码应为" in str(screen.query_one("#err-profile-phone", Label).content)
        assert bulletin.profile(app.session)["address"] == ""  # nothing saved
        screen.query_one("#profile-phone").value = PROFILE["phone"]
        screen.query_one("#save-profile").press()
        await settle(pilot)
        assert not screen.query_one("#err-profile-phone", Label).display  # the error goes once fixed
        saved = bulletin.profile(app.session)
        assert {k: saved[k] for k in PROFILE} == PROFILE
        assert app.session.store.scalar("SELECT count(*) FROM audit WHERE action = 'bulletin.profile'") == 1
        number = cases.list_cases(app.session, limit=1)[0]["number"]
        app.open_case(number)
        await settle(pilot)
        assert isinstance(app.screen, CaseDetailScreen)
        printer_list(fake_lp, "HP-LaserJet-1020")
        await pilot.press("ctrl+r")  # the receipt: 打印 (P) in the print dialog
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot, rounds=5)
    text = pdf_text(fake_lp / "job.pdf")
    for value in PROFILE.values():
        assert re.sub(r"\s+", "", value) in text, value
    assert "扫描右上二维码" in text and "沿此线剪开" in text  # the longer facts table still fits its half
