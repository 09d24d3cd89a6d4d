"""Fuzzing spreadsheet reading and writing (issue 12): whatever bytes arrive as a .csv or .xlsx,
reading ends in rows or in the project's typed refusal (``StationError``), never another
exception; and no export ever carries a formula.

Budget: 200 examples per test in the normal run; ``HYPOTHESIS_PROFILE=long`` runs 5,000 each
(see tests/bench/README.md).
"""
from __future__ import annotations

import csv
import io
import os
import random
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgers import service, sheets
from station.errors import StationError
from tests.conftest import PASS, make_id

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
BUDGET = settings(max_examples=5_000 if LONG else 200, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])

HEADERS = ["户主姓名", "身份证号码", "村民小组", "面积(亩)", "补贴标准(元/亩)", "补贴金额(元)", "一卡通账号", "月份"]
chinese = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
cell_text = st.text(st.one_of(chinese, st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])), max_size=30)
gbk_text = st.text(st.one_of(chinese, st.sampled_from(list("0123456789.,-=+@ \t\r\n\"'组户号")), st.characters(min_codepoint=32, max_codepoint=126)),
                   max_size=30)
cells = st.one_of(st.none(), cell_text, st.integers(-10**12, 10**12), st.decimals(allow_nan=False, allow_infinity=False, places=2),
                  st.sampled_from(HEADERS), st.just(make_id()))


def read(path: Path) -> tuple[list[str], list[list]] | None:
    """The property: rows, or a typed refusal."""
    try:
        headers, rows = sheets.read_table(path)
    except StationError as exc:
        assert exc.title and exc.details, exc
        return None
    assert len(headers) <= sheets.MAX_COLUMNS and all(len(r) <= sheets.MAX_COLUMNS for r in rows)
    return headers, rows


@BUDGET
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".xlsx", ".xls"]))
def test_random_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("b") / f"x{suffix}"
    path.write_bytes(data)
    read(path)


def _workbook(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append([float(c) if isinstance(c, Decimal) else c for c in r])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _mutate_xml(xlsx: bytes, rng: random.Random) -> bytes:
    """Edit the XML inside the zip (where a byte flip on the zip would only break its CRC)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    name = rng.choice(sorted(n for n in parts if n.endswith(".xml")))
    text = bytearray(parts[name])
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(4)
        at = rng.randrange(len(text) + 1)
        if op == 0 and text:
            del text[at:at + rng.randint(1, 40)]
        elif op == 1:
            text[at:at] = rng.choice([b"<row r=\"1048577\"/>", b"<c r=\"XFD1\"><v>1</v></c>", b"<!DOCTYPE x [<!ENTITY a \"aa\">]>",
                                      b"<dimension ref=\"A1:XFD1048576\"/>", b"&a;", b"<c t=\"s\"><v>99999</v></c>", b"\xff\xfe", b"<row>"])
        elif op == 2 and text:
            text[at - 1 if at else 0] = rng.randrange(256)
        else:
            text[at:at] = text[rng.randrange(len(text) + 1):][:rng.randint(1, 200)]
    parts[name] = bytes(text)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return out.getvalue()


@BUDGET
@given(rows=st.lists(st.lists(cells, max_size=12), max_size=12), seed=st.integers(0, 2**32), how=st.sampled_from(["clean", "xml", "bytes", "cut"]))
def test_small_xlsx_clean_and_damaged(tmp_path_factory, rows, seed, how):
    rng = random.Random(seed)
    data = _workbook(rows)
    if how == "xml":
        data = _mutate_xml(data, rng)
    elif how == "bytes":
        data = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    elif how == "cut":
        data = data[:rng.randrange(len(data))]
    path = tmp_path_factory.mktemp("x") / "x.xlsx"
    path.write_bytes(data)
    got = read(path)
    if how == "clean":
        expected = [[c for c in r] for r in rows if any(c not in (None, "") for c in r)]
        if not expected:
            assert got is None
        else:
            assert got is not None and len(got[1]) == len(expected) - 1


def _also_utf8(data: bytes, encoding: str) -> bool:
    """A short GBK text can be valid UTF-8 too (丌 is D8 A2 in GBK, and D8 A2 is UTF-8 for U+0622):
    such a file is read as UTF-8, as before; a real list of names is never that ambiguous."""
    if encoding not in ("gbk", "gb18030"):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@BUDGET
@given(rows=st.lists(st.lists(st.one_of(st.none(), cell_text, st.floats(allow_nan=False, allow_infinity=False)), max_size=8), max_size=8),
       seed=st.integers(0, 2**32), flips=st.integers(0, 40), cut=st.booleans())
def test_small_xls_clean_and_damaged(tmp_path_factory, rows, seed, flips, cut):
    """A real .xls (xlwt), then bytes flipped or the file cut short: rows or the typed refusal."""
    import xlwt
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("名单")
    for c, h in enumerate(HEADERS):
        sheet.write(0, c, h)
    for r, values in enumerate(rows, start=1):
        for c, v in enumerate(values):
            if v is not None:
                sheet.write(r, c, v)
    buffer = io.BytesIO()
    book.save(buffer)
    data = bytearray(buffer.getvalue())
    rng = random.Random(seed)
    for _ in range(flips):
        data[rng.randrange(8, len(data))] = rng.randrange(256)
    if cut:
        data = data[:rng.randrange(8, len(data))]
    path = tmp_path_factory.mktemp("xls") / "x.xls"
    path.write_bytes(bytes(data))
    read(path)


@BUDGET
@given(rows=st.lists(st.lists(gbk_text, max_size=10), max_size=15), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]),
       noise=st.one_of(st.none(), st.binary(min_size=1, max_size=8)), at=st.floats(0, 1))
def test_csv_in_utf8_and_gbk(tmp_path_factory, rows, encoding, noise, at):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if noise is not None:
        cut = int(len(data) * at)
        data = data[:cut] + noise + data[cut:]
    path = tmp_path_factory.mktemp("c") / "x.csv"
    path.write_bytes(data)
    got = read(path)
    if noise is None and not _also_utf8(data, encoding):
        expected = [r for r in rows if any(c != "" for c in r)]
        if not expected:
            assert got is None
        else:
            same = got is not None and got[0] == [h.strip() for h in expected[0][:sheets.MAX_COLUMNS]] and \
                got[1] == [r[:sheets.MAX_COLUMNS] for r in expected[1:]]
            assert same


@pytest.fixture(scope="module")
def fuzz_session(tmp_path_factory):
    from station.services.session import StationHome
    from station.store import keys
    n, r = keys.SCRYPT_N, keys.SCRYPT_R
    keys.SCRYPT_N, keys.SCRYPT_R = 2**10, 8  # cheap KDF, as the shared fixture does per test
    try:
        s, _ = StationHome(tmp_path_factory.mktemp("fuzz") / "st").init("XX0101", "石板村", "zhanzhang", "罗世芬", PASS)
    finally:
        keys.SCRYPT_N, keys.SCRYPT_R = n, r
    yield s
    s.close()


@BUDGET
@given(rows=st.lists(st.lists(st.one_of(gbk_text, st.sampled_from(["3.25", "125.8", "408.85", "-12.50", "2026-11", make_id(), ""])),
                              min_size=8, max_size=8), max_size=20),
       headers=st.lists(st.sampled_from(HEADERS + ["甲", "", "=1+1"]), min_size=1, max_size=8),
       ledger=st.sampled_from(["subsidy", "relief"]), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_import_dry_run_never_crashes(fuzz_session, tmp_path_factory, rows, headers, ledger, suffix):
    path = tmp_path_factory.mktemp("i") / f"list{suffix}"
    if suffix == ".csv":
        with open(path, "w", encoding="gbk", errors="replace", newline="") as fh:
            csv.writer(fh).writerows([headers, *rows])
    else:
        path.write_bytes(_workbook([headers, *rows]))
    try:
        report = service.import_file(fuzz_session, path, ledger, "耕地地力保护补贴", "2026", dry_run=True)
    except StationError:
        return
    assert report.rows == report.valid + len({e["row"] for e in report.errors})


@BUDGET
@given(rows=st.lists(st.lists(st.one_of(cell_text, st.decimals(min_value=-10**9, max_value=10**9, places=2)), min_size=1, max_size=6),
                     min_size=1, max_size=10))
def test_exports_never_carry_a_formula(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("e")
    width = max(len(r) for r in rows)
    headers = [f"列{i}" for i in range(width)]
    sheets.write_table(tmp / "o.csv", headers, rows)
    with open(tmp / "o.csv", encoding="utf-8-sig", newline="") as fh:
        back = list(csv.reader(fh))[1:]
    for written, got in zip(rows, back, strict=False):
        for value, text in zip(written, got, strict=False):
            if isinstance(value, Decimal):
                assert Decimal(text) == value
            else:
                assert not text.startswith(sheets.FORMULA_LEADS) and text.lstrip("'") == value.lstrip("'") or text == "'" + value
    sheets.write_table(tmp / "o.xlsx", headers, rows)
    book = openpyxl.load_workbook(tmp / "o.xlsx")
    for r in book.active.iter_rows(min_row=2):
        for c in r:
            assert c.data_type != "f", c.value
            if isinstance(c.value, str):
                assert not c.value.startswith(sheets.FORMULA_LEADS)
    book.close()
