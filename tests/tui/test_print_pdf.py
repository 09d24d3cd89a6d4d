"""Printing from the app on machines as they are: no printer (save a PDF, open it in the viewer),
a printer chosen under 设置, and fonts that cannot print the text (refused, nothing sent)."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from printouts import fonts
from station.services import cases, print_settings
from station.tui.printing import PrintDialog, SavedDialog
from station.tui.screens.settings import SettingsScreen
from tests.tui.conftest import app_for, settle

DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
PDFTOTEXT = shutil.which("pdftotext")


def tool(bin_dir: Path, name: str, body: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def printer_list(fake_lp: Path, *names: str) -> None:
    """An ``lpstat`` next to the fake ``lp`` that knows these printers (CUPS' ``lpstat -e``)."""
    tool(fake_lp.parent / "bin", "lpstat", f"printf '{''.join(n + chr(92) + 'n' for n in names)}'")


@pytest.fixture
def no_printer(tmp_path, monkeypatch) -> Path:
    """PATH holds no lp, lpr or lpstat; only an ``xdg-open`` that records what it was asked to open."""
    bin_dir = tmp_path / "nobin"
    opened = tmp_path / "opened"
    tool(bin_dir, "xdg-open", f'printf "%s" "$1" > {opened}')
    monkeypatch.setenv("PATH", str(bin_dir))
    return opened


async def wait_for(pilot, check, rounds: int = 50) -> None:
    for _ in range(rounds):
        await settle(pilot, 1)
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError("never happened")


@pytest.mark.skipif(not PDFTOTEXT, reason="needs poppler-utils")
async def test_no_printer_saves_the_receipt_as_pdf_and_opens_it(station_dir, no_printer, tmp_path):
    folder = tmp_path / "我的文档" / "回执"
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.action_go("settings")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert "本机没有找到打印机" in str(screen.query_one("#printer-none").content)
        assert screen.query_one("#pdf_folder").value == str(print_settings.default_pdf_folder())
        screen.query_one("#pdf_folder").value = str(folder)
        screen.query_one("#save-pdf-folder").press()
        await settle(pilot)
        assert print_settings.pdf_folder(app.session) == folder and folder.is_dir()
        number = cases.list_cases(app.session, limit=1)[0]["number"]
        app.open_case(number)
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PrintDialog)
        assert "本机没有找到打印机" in str(dialog.query_one("#printer-line").content)
        assert dialog.query_one("#print-now").disabled
        await pilot.press("p")  # refused: there is no printer to send to
        await settle(pilot)
        assert app.screen is dialog
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SavedDialog))
        saved = app.screen.path
        assert saved.parent == folder and saved.name.endswith(".pdf") and number in saved.name
        assert str(saved) in str(app.screen.query_one("#saved-path").content)
        text = subprocess.run([PDFTOTEXT, "-layout", str(saved), "-"], capture_output=True, text=True, check=True).stdout
        assert "代办事项受理回执" in text and number in text and "0851-33001234" in text
        if os.name == "posix":
            assert stat.S_IMODE(saved.stat().st_mode) == 0o600  # residents' data: this user only
        await pilot.press("o")
        await wait_for(pilot, no_printer.exists)
        assert no_printer.read_text() == str(saved)
        assert not isinstance(app.screen, SavedDialog)


async def test_printer_chosen_under_settings_receives_the_job(station_dir, fake_lp):
    printer_list(fake_lp, "HP-LaserJet-1020", "Canon-LBP2900")
    app = app_for(station_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.action_go("settings")
        await settle(pilot)
        select = app.screen.query_one("#printer")
        select.value = "Canon-LBP2900"
        app.screen.query_one("#save-printer").press()
        await settle(pilot)
        assert print_settings.printer(app.session) == "Canon-LBP2900"
        number = cases.list_cases(app.session, limit=1)[0]["number"]
        app.open_case(number)
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Canon-LBP2900" in str(app.screen.query_one("#printer-line").content)
        await pilot.press("p")
        await wait_for(pilot, (fake_lp / "job.pdf").exists)
        assert "-d Canon-LBP2900" in (fake_lp / "args").read_text()
        assert (fake_lp / "job.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.skipif(not DROID.is_file(), reason="needs fonts-droid-fallback")
async def test_fonts_that_cannot_print_the_text_refuse_in_the_app_and_send_nothing(station_dir, fake_lp, tmp_path, monkeypatch):
    font_dir = tmp_path / "fonts"
    font_dir.mkdir()
    shutil.copy(DROID, font_dir)
    monkeypatch.delenv("STATION_FONT", raising=False)
    monkeypatch.setenv("STATION_FONT_DIRS", str(font_dir))
    fonts.cjk_font.cache_clear()
    try:
        app = app_for(station_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(pilot)
            print_settings.set_pdf_folder(app.session, str(tmp_path / "pdf"))
            app.open_case(cases.list_cases(app.session, limit=1)[0]["number"])
            await settle(pilot)
            await pilot.press("ctrl+r")
            await settle(pilot)
            await pilot.press("p")
            await wait_for(pilot, lambda: any("不能打印" in n.message for n in app._notifications))
            shown = next(n.message for n in app._notifications if "不能打印" in n.message)
            assert "文泉驿微米黑" in shown and "DroidSansFallbackFull.ttf" in shown
            await pilot.press("ctrl+r")
            await settle(pilot)
            await pilot.press("s")  # saving is refused the same way: no blank PDF anywhere
            await settle(pilot, 5)
            assert not isinstance(app.screen, SavedDialog)
        assert not (fake_lp / "job.pdf").exists() and not (fake_lp / "args").exists()
        assert not list((tmp_path / "pdf").iterdir())
    finally:
        fonts.cjk_font.cache_clear()


@pytest.mark.skipif(not PDFTOTEXT, reason="needs poppler-utils")
async def test_ledger_and_posting_print_from_the_ledger_screen_as_pdf(tmp_path, no_printer):
    from ledgers import service
    from tests.ledgers.test_township_sheets import household, township_book
    from tests.tui.conftest import demo_copy
    path = township_book(tmp_path / "名单.xlsx", [household(n) for n in range(1, 4)])
    app = app_for(demo_copy(tmp_path), user="zhanzhang")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        service.import_file(app.session, path, "subsidy", "耕地地力保护补贴", "2026")
        print_settings.set_pdf_folder(app.session, str(tmp_path / "pdf"))
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        await pilot.press("ctrl+r")  # no program or period yet: said so, nothing asked
        await settle(pilot)
        assert app.screen is screen and any("项目和期间" in n.message for n in app._notifications)
        screen.query_one("#l-program").value = "耕地地力保护补贴"
        screen.query_one("#l-period").value = "2026"
        await settle(pilot)
        texts = {}
        for key, kind in (("ctrl+r", "ledger"), ("ctrl+g", "posting")):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, PrintDialog)
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SavedDialog))
            saved = app.screen.path
            texts[kind] = subprocess.run([PDFTOTEXT, "-layout", str(saved), "-"], capture_output=True, text=True, check=True).stdout
            await pilot.press("escape")
            await settle(pilot)
        assert "李1" in texts["ledger"] and "1,220.55" in texts["ledger"], texts["ledger"]
        assert "公示" in texts["posting"] and "李1" in texts["posting"]
