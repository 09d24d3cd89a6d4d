"""Printouts on machines as the world hands them: fonts that lack digits, empty ledger cells,
village groups in natural order, and postings that never leave a page holding only the stamp."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from printouts import fonts
from printouts.render import render
from tests.conftest import make_id
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
def test_only_a_font_without_digits_refuses_the_build_and_names_the_font_to_install(session, font_dir, tmp_path):
    shutil.copy(DROID, font_dir)
    number = case_with(session, missing=False)
    printed_before = session.store.scalar("SELECT count(*) FROM audit WHERE action = 'print'")
    for kind in ("receipt", "register"):
        with pytest.raises(fonts.FontMissing) as refused:
            render(session, kind, number)
        message = refused.value.title
        assert "不能打印" in message and "文泉驿微米黑" in message and "fonts-wqy-microhei" in message
        assert "DroidSansFallbackFull.ttf 缺少数字" in message  # what was found, and why it will not do
    assert session.store.scalar("SELECT count(*) FROM audit WHERE action = 'print'") == printed_before  # nothing left the station


@pytest.mark.skipif(not WQY.is_file(), reason="needs fonts-wqy-microhei")
def test_a_character_the_font_lacks_in_the_document_itself_refuses_the_build(home, today, font_dir, tmp_path):
    # 㐀 (CJK extension A) is not in WenQuanYi Micro Hei, and no fixed sample holds a resident's name
    from station.services import cases
    from tests.conftest import PASS, intake_doc
    shutil.copy(WQY, font_dir)
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    try:
        plain = cases.intake(s, intake_doc())["number"]
        rare = cases.intake(s, intake_doc(resident={"id_number": make_id(seq=3), "name": "王㐀明"}))["number"]
        assert plain in pdf_text(render(s, "receipt", plain).pdf, tmp_path)  # the font itself is fine
        with pytest.raises(fonts.FontMissing) as refused:
            render(s, "receipt", rare)
        assert "㐀" in refused.value.title and "fonts-wqy-microhei" in refused.value.title
    finally:
        s.close()


@pytest.mark.skipif(not WQY.is_file(), reason="needs fonts-wqy-microhei")
def test_a_font_lacking_a_character_the_document_draws_is_passed_over_for_one_that_has_it(home, today, font_dir, tmp_path):
    from fontTools.ttLib import TTFont

    from station.services import cases
    from tests.conftest import PASS, intake_doc
    lacking = TTFont(str(WQY), fontNumber=0)
    for table in lacking["cmap"].tables:  # the font as it is, less one common surname
        table.cmap.pop(ord("王"), None)
    for record in lacking["name"].names:  # another font has another name (reportlab tells fonts apart by it)
        if record.nameID in (1, 4, 6):
            record.string = "NoWang"
    lacking.save(str(font_dir / "a-no-wang.ttf"))  # sorts first, and has all of REQUIRED
    shutil.copy(WQY, font_dir / "b-wqy.ttc")
    assert fonts.cjk_font().path == str(font_dir / "a-no-wang.ttf")
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    try:
        plain = cases.intake(s, intake_doc())["number"]
        wang = cases.intake(s, intake_doc(resident={"id_number": make_id(seq=3), "name": "王秀英"}))["number"]
        assert render(s, "receipt", plain).font == str(font_dir / "a-no-wang.ttf")
        doc = render(s, "receipt", wang)
        assert doc.font == str(font_dir / "b-wqy.ttc") and "王秀英" in pdf_text(doc.pdf, tmp_path)
        assert render(s, "receipt", plain).font == str(font_dir / "a-no-wang.ttf")  # the switch was for that document only
    finally:
        s.close()
        fonts.covering.cache_clear()


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


@pytest.mark.skipif(not (DROID.is_file() and WQY.is_file()), reason="needs fonts-droid-fallback and fonts-wqy-microhei")
def test_a_configured_font_without_digits_is_passed_over_with_the_reason(font_dir, monkeypatch):
    shutil.copy(WQY, font_dir)
    monkeypatch.setenv("STATION_FONT", str(DROID))
    choice = fonts.cjk_font()
    assert choice.embedded and choice.path == str(font_dir / WQY.name)
    assert f"指定的字体 {DROID}" in choice.warning and "缺少数字" in choice.warning
