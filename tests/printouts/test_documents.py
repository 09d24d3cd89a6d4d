"""Every document built from a demo station, read back out of the PDF."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from printouts import data, fonts, longtable, register
from printouts.render import render
from station.errors import PrintFailed, ValidationFailed
from station.services import cases, signing

FULL_ID = re.compile(r"\b\d{17}[\dX]\b")
FULL_PHONE = re.compile(r"\b1[3-9]\d{9}\b")


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    f = tmp_path / "doc.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout


def squash(text: str) -> str:
    """Text without whitespace: pdftotext breaks lines and pads columns wherever the layout does."""
    return re.sub(r"\s+", "", text)


def case_with(session, **want) -> str:
    for row in cases.list_cases(session, limit=500):
        state, _ = cases.load(session, row["number"])
        if all(bool(getattr(state, k) if k != "missing" else state.missing) == v for k, v in want.items()):
            return row["number"]
    raise AssertionError(f"no demo case with {want}")


def test_receipt_text_masking_and_signed_code(session, tmp_path):
    number = case_with(session, missing=False)
    sheet = data.case_sheet(session, number)
    doc = render(session, "receipt", number)
    text = pdf_text(doc.pdf, tmp_path)
    for expected in ("代办事项受理回执", "受理回执存根", number, sheet.item_name, sheet.resident_name, sheet.resident_id,
                     "首问代办员", sheet.owner_name, "0851-33001234", "申请人(签字)"):
        assert expected in text, expected
    assert not FULL_ID.search(text) and not FULL_PHONE.search(text)
    assert sheet.token.replace("\n", "")[:20] in text.replace("\n", "")  # the code is printed under the QR too


def test_notice_lists_everything_missing_once(session, tmp_path):
    number = case_with(session, missing=True)
    sheet = data.case_sheet(session, number)
    text = pdf_text(render(session, "notice", number).pdf, tmp_path)
    assert "一次性告知书" in text and sheet.resident_name in text
    for m in sheet.missing:
        assert squash(m.name) in squash(text)
    assert f"还需补齐以下{len(sheet.missing)}项材料" in squash(text)
    if sheet.gap_promise:
        assert sheet.gap_promise.isoformat() in text and "承诺" in text


def test_notice_refused_when_nothing_is_missing(session):
    with pytest.raises(ValidationFailed, match="无需一次性告知书"):
        render(session, "notice", case_with(session, missing=False))


def test_proxy_authorization_has_signature_and_thumbprint(session, tmp_path):
    number = case_with(session, proxy=True)
    sheet = data.case_sheet(session, number)
    text = pdf_text(render(session, "proxy", number).pdf, tmp_path)
    assert "代办委托书" in text and "按手印" in text and "委托人(签字)" in text and "到场代办人" in text
    assert sheet.proxy["name"] in text and sheet.owner_name in text
    assert not FULL_ID.search(text) and not FULL_PHONE.search(text)


def test_register_pages_headers_subtotals_and_totals(session, tmp_path):
    doc = render(session, "register", period_from=None, period_to=None)
    assert doc.title.startswith("代办登记台账")
    sheet = data.register_sheet(session, session.today().replace(month=1, day=1), session.today())
    table = register.table(sheet)
    pages = longtable.pages_of(table)
    pdf = tmp_path / "reg.pdf"
    with open(pdf, "wb") as fh:
        register.build(sheet, fh)
    reader = PdfReader(pdf)
    assert len(reader.pages) == len(pages) >= 2
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    per_page = text.split("\f")
    for n, page in enumerate(per_page[: len(pages)], 1):
        flat = squash(page)
        assert "代办登记台账" in flat and "身份证号码" in flat and f"第{n}页共{len(pages)}页" in flat  # header on every page
    subtotals = [int(x) for x in re.findall(r"本页小计\s+(\d+) 件", text)]
    assert sum(subtotals) == len(sheet.rows) == int(re.search(r"合计\s+(\d+) 件", text).group(1))
    assert "站长(签字)" in per_page[len(pages) - 1]
    assert not FULL_ID.search(text) and not FULL_PHONE.search(text)


def test_fonts_embedded_and_page_draws(session, tmp_path):
    pdf = render(session, "receipt", case_with(session, missing=False)).pdf
    (tmp_path / "r.pdf").write_bytes(pdf)
    reader = PdfReader(tmp_path / "r.pdf")
    font_files = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descriptor = font.get_object().get("/FontDescriptor")
        if descriptor is not None:
            font_files.append("/FontFile2" in descriptor.get_object())
    assert fonts.cjk_font().embedded and any(font_files)  # the CJK TrueType subset is inside the PDF
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True)
    png = tmp_path / "page-1.png"
    assert png.stat().st_size > 10_000


def test_qr_on_paper_verifies_and_forgeries_fail(session, tmp_path):
    number = case_with(session, missing=False)
    (tmp_path / "r.pdf").write_bytes(render(session, "receipt", number).pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"), str(tmp_path / "p")], check=True)
    scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "p-1.png")], capture_output=True, text=True).stdout.strip()
    assert scanned.startswith(f"VS1:{number}:") and scanned.isascii()
    public = signing.public_key(session)
    assert signing.verify_token(scanned, session.station_code, public).valid
    # one changed digit anywhere in the case number or the due date
    for i, ch in enumerate(scanned[:30]):
        if ch.isdigit():
            forged = scanned[:i] + str((int(ch) + 1) % 10) + scanned[i + 1:]
            assert not signing.verify_token(forged, session.station_code, public).valid, forged
    other = signing.verify_token(scanned.replace("XX0101", "YY0202"), session.station_code, public)
    assert not other.valid and "其他服务站" in other.reason
    assert not signing.verify_token("not a receipt", session.station_code, public).valid


def test_receipt_from_another_station_with_the_same_code_fails(session, tmp_path):
    from station.services.session import StationHome
    other, _ = StationHome(tmp_path / "other").init("XX0101", "同编码的另一站", "zz", "某某", "other-pass-123")
    with other:
        forged = signing.receipt_token(other, "XX0101-2026-000001", None)
    check = signing.verify_token(forged, session.station_code, signing.public_key(session))
    assert not check.valid and "签名不符" in check.reason


def test_no_font_at_all_is_a_refusal_not_a_fallback(monkeypatch):
    monkeypatch.setattr(fonts, "CANDIDATES", [])
    monkeypatch.delenv("STATION_FONT_DIRS", raising=False)
    monkeypatch.setenv("STATION_FONT", "/no/such/font.ttf")
    fonts.cjk_font.cache_clear()
    try:
        with pytest.raises(fonts.FontMissing, match="本机未找到可用的中文字体"):
            fonts.cjk_font()
    finally:
        fonts.cjk_font.cache_clear()



def test_printing_pipes_the_pdf_to_lp(session, fake_lp):
    from printouts import printing
    doc = render(session, "receipt", case_with(session, missing=False))
    assert printing.send(doc.pdf, doc.title) == "已发送到打印机"
    assert (fake_lp / "job.pdf").read_bytes() == doc.pdf and doc.title in (fake_lp / "args").read_text()


def test_printer_failure_is_a_clear_message(session, fake_lp):
    from printouts import printing
    (fake_lp.parent / "bin" / "lp").write_text("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n")
    with pytest.raises(PrintFailed) as exc:
        printing.send(b"%PDF-1.4", "x")
    assert "打印失败" in exc.value.title and "does not exist" in exc.value.title


def test_every_print_is_audited(session):
    before = session.store.scalar("SELECT count(*) FROM audit WHERE action = 'print'")
    render(session, "receipt", case_with(session, missing=False))
    assert session.store.scalar("SELECT count(*) FROM audit WHERE action = 'print'") == before + 1


def test_public_posting_masks_every_number(tmp_path):
    from datetime import date

    from ledgers.posting import posting_rows
    from printouts import posting
    from printouts.records import Column, PostingSheet
    from tests.conftest import make_id
    raw = [{"name": f"王{n}", "village_group": "三组", "id_number": make_id(seq=n), "bank_card": f"6222021234567890{n:03d}",
            "phone": f"1381234{n:04d}", "area": "3.25", "amount_fen": 32500 + n} for n in range(1, 41)]
    rows, total = posting_rows(raw)
    cols = (Column("序号", "seq", 10, "RIGHT"), Column("户主", "name", 18), Column("村民小组", "village_group", 16),
            Column("身份证号码", "id_number", 36), Column("银行卡号", "bank_card", 38),
            Column("联系电话", "phone", 24), Column("面积(亩)", "area", 14, "RIGHT"), Column("金额(元)", "amount", 24, "RIGHT"))
    sheet = PostingSheet("旧州镇石板村便民服务站", "石板村2026年耕地地力保护补贴发放名单公示", "2026年耕地地力保护补贴",
                         date(2026, 11, 20), date(2026, 11, 26), "0851-33001234", cols, rows, total, date(2026, 11, 20))
    out = tmp_path / "posting.pdf"
    with open(out, "wb") as fh:
        posting.build(sheet, fh)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = squash(text)
    assert "王17" in flat and "公示期:2026-11-20至2026-11-26(共7天)" in flat and "0851-33001234" in flat
    assert total == sum(r["amount_fen"] for r in raw) and "13,008.20" in flat  # 40 × 325.00 + (1+…+40) fen
    for r in raw:
        for value in (r["id_number"], r["bank_card"], r["phone"]):
            assert value not in flat, value
    assert "520402********" in flat and "138****" in flat
