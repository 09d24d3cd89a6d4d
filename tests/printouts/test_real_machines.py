"""Printouts on machines as the world hands them: fonts that lack digits, empty ledger cells,
village groups in natural order, and postings that never leave a page holding only the stamp."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from printouts import data, fonts
from printouts.render import render
from tests.printouts.test_documents import case_with, pdf_text

DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@pytest.fixture
def font_dir(tmp_path, monkeypatch):
    """A font search that sees only the fonts the test copies into one folder."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    monkeypatch.delenv("STATION_FONT", raising=False)
    monkeypatch.setenv("STATION_FONT_DIRS", str(folder))
    fonts.cjk_font.cache_clear()
    yield folder
    fonts.cjk_font.cache_clear()  # the next test chooses again from the machine's own fonts


@pytest.mark.skipif(not DROID.is_file(), reason="needs fonts-droid-fallback")
def test_font_without_digits_is_skipped_and_the_receipt_keeps_its_numbers(session, font_dir, tmp_path):
    shutil.copy(DROID, font_dir)
    choice = fonts.cjk_font()
    assert choice.name == fonts.FALLBACK and choice.path is None
    assert "DroidSansFallbackFull.ttf" in choice.warning and "数字" in choice.warning
    number = case_with(session, missing=False)
    sheet = data.case_sheet(session, number)
    doc = render(session, "receipt", number)
    text = pdf_text(doc.pdf, tmp_path)
    assert number in text and sheet.received_on.isoformat() in text and "0851-33001234" in text
    assert sheet.resident_name in text
    f = tmp_path / "receipt.pdf"
    f.write_bytes(doc.pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(f), str(tmp_path / "look")], check=True)
    assert (tmp_path / "look-1.png").stat().st_size > 5_000


@pytest.mark.skipif(not (DROID.is_file() and WQY.is_file()), reason="needs fonts-droid-fallback and fonts-wqy-microhei")
def test_a_complete_font_in_the_folder_is_chosen_over_one_without_digits(font_dir):
    shutil.copy(DROID, font_dir / "a-droid.ttf")  # sorts first: the check, not the order, must skip it
    shutil.copy(WQY, font_dir / "b-wqy.ttc")
    choice = fonts.cjk_font()
    assert choice.embedded and choice.path == str(font_dir / "b-wqy.ttc")


def test_missing_glyphs_are_named():
    lacking = fonts.missing_glyphs(str(DROID)) if DROID.is_file() else None
    if lacking is None:
        pytest.skip("needs fonts-droid-fallback")
    assert "0" in lacking and "A" in lacking and "(" in lacking and "件" not in lacking
    if WQY.is_file():
        assert fonts.missing_glyphs(str(WQY)) == ""


@pytest.mark.skipif(not DROID.is_file(), reason="needs fonts-droid-fallback")
def test_a_configured_font_without_digits_is_refused_with_the_reason(font_dir, monkeypatch):
    monkeypatch.setenv("STATION_FONT", str(DROID))
    choice = fonts.cjk_font()
    assert choice.name == fonts.FALLBACK and not choice.embedded
    assert f"指定的字体 {DROID}" in choice.warning and "缺少数字" in choice.warning
