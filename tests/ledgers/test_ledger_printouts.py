"""Ledger printouts and postings read back from real PDFs: no ``None`` in empty cells, village
groups in natural order, and no page holding only the closing stamp line."""
from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from ledgers.posting import posting_rows
from printouts import posting
from printouts.records import Column, PostingSheet
from printouts.render import render
from station.core.ordering import group_key
from tests.conftest import make_id
from tests.ledgers.test_ledgers import imp, row, xlsx

CN_GROUPS = ["一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组", "九组", "十组", "十一组", "十二组", "二十组"]


def text_of(pdf: bytes, tmp_path: Path, name: str) -> str:
    f = tmp_path / name
    f.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout


def groups_in_order(text: str, pattern: str) -> list[str]:
    seen: list[str] = []
    for g in re.findall(pattern, text):
        if not seen or seen[-1] != g:
            seen.append(g)
    return seen


def test_ledger_printout_prints_empty_cells_empty(session, tmp_path):
    # a yearly subsidy: no month, no correction reason, no status — the columns stay blank
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 6)]))
    text = text_of(render(session, "ledger", ledger="subsidy", program="耕地地力保护补贴", period="2026").pdf, tmp_path, "l.pdf")
    assert "王3" in text and "月份" in text
    assert "None" not in text
    posting_text = text_of(render(session, "posting", ledger="subsidy", program="耕地地力保护补贴", period="2026").pdf,
                           tmp_path, "p.pdf")
    assert "王3" in posting_text and "None" not in posting_text


def test_group_key_orders_chinese_and_arabic_numerals_naturally():
    shuffled = ["三组", "十一组", "二组", "十组", "一组", "二十组", "五组", "十二组", "九组", "四组", "八组", "七组", "六组"]
    assert sorted(shuffled, key=group_key) == CN_GROUPS
    assert sorted(["10组", "2组", "1组", "11组", "3组"], key=group_key) == ["1组", "2组", "3组", "10组", "11组"]
    assert sorted(["第二村民小组", "第十村民小组", "第一村民小组"], key=group_key) == ["第一村民小组", "第二村民小组", "第十村民小组"]
    assert sorted(["", "二组", "一组"], key=group_key) == ["", "一组", "二组"]  # no group first, never an error


def test_posting_lists_village_groups_in_natural_order(session, tmp_path):
    order = [12, 3, 11, 1, 10, 2, 5, 13, 4, 9, 6, 8, 7]  # imported out of order, one household per group
    rows = []
    for i, g in enumerate(order, 1):
        r = row(i)
        r[3] = CN_GROUPS[g - 1]
        rows.append(r)
    imp(session, xlsx(tmp_path / "cn.xlsx", rows))
    text = text_of(render(session, "posting", ledger="subsidy", program="耕地地力保护补贴", period="2026").pdf, tmp_path, "cn.pdf")
    assert groups_in_order(text, r"[一二三四五六七八九十]+组") == CN_GROUPS


def test_posting_orders_arabic_group_numbers_naturally(session, tmp_path):
    rows = []
    for i, g in enumerate([10, 2, 1, 11, 3], 1):
        r = row(i)
        r[3] = f"{g}组"
        rows.append(r)
    imp(session, xlsx(tmp_path / "ar.xlsx", rows), program="玉米生产者补贴")
    text = text_of(render(session, "posting", ledger="subsidy", program="玉米生产者补贴", period="2026").pdf, tmp_path, "ar.pdf")
    assert groups_in_order(text, r"(?<![\d*])\d{1,2}组") == ["1组", "2组", "3组", "10组", "11组"]


def test_posting_never_leaves_the_stamp_line_alone_on_a_page(tmp_path):
    cols = (Column("序号", "seq", 10, "RIGHT"), Column("户主", "name", 18), Column("村民小组", "village_group", 16),
            Column("身份证号码", "id_number", 36), Column("面积(亩)", "area", 14, "RIGHT"), Column("金额(元)", "amount", 24, "RIGHT"))
    checked = 0
    for n in range(20, 60):  # every table length across a page break: some leave the closing block no room
        raw = [{"name": f"王{i}", "village_group": "三组", "id_number": make_id(seq=i), "area": "3.25", "amount_fen": 32500}
               for i in range(1, n + 1)]
        rows, total = posting_rows(raw)
        sheet = PostingSheet("旧州镇石板村便民服务站", "石板村2026年耕地地力保护补贴发放名单公示", "2026年耕地地力保护补贴",
                             date(2026, 11, 20), date(2026, 11, 26), "0851-33001234", cols, rows, total, date(2026, 11, 20))
        out = tmp_path / f"posting-{n}.pdf"
        with open(out, "wb") as fh:
            posting.build(sheet, fh)
        pages = [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(out).pages]
        last = pages[-1]
        assert "特此公示" in last and "(盖章)" in last, n
        assert "合计" in last and f"王{n}" in last, (n, len(pages))  # the closing block stands under table rows
        assert all(f"王{i}" in "".join(pages) for i in range(1, n + 1)), n  # every household still printed
        checked += len(pages) > 1
    assert checked  # the range did cross a page break
