"""Hostile spreadsheets (issue 12): bombs are refused with a Chinese message naming the limit, in
bounded memory and time; exports never carry a live formula and write amounts as numbers."""
from __future__ import annotations

import csv
import os
import re
import resource
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ledgers import service, sheets
from station.errors import ValidationFailed
from tests.conftest import PASS
from tests.ledgers.test_ledgers import HEADERS, imp, row, xlsx

# Bombs run in a child process under an address-space cap, so a parser that materialises them
# fails there (MemoryError) instead of taking the machine down with it.
CHILD_MEMORY = 1024 * 1024 * 1024


def rewrite_sheet(path: Path, edit) -> Path:
    """Rewrite the first worksheet's XML of a real workbook (the bombs are edits of a tiny file)."""
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    name = "xl/worksheets/sheet1.xml"
    before = parts[name].decode("utf-8")
    after = edit(before)
    assert after != before
    parts[name] = after.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for n, data in parts.items():
            out.writestr(n, data)
    return path


def declare(ref: str):
    return lambda x: re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>', x)


def dimension_bomb(path: Path) -> Path:
    """Declares the whole sheet (A1:XFD1048576) and ends with an empty row 1,048,576, as Excel may
    write a formatted last row: a reader trusting the dimension fills a million rows × 16,384 columns."""
    xlsx(path, [row(1), row(2)])
    return rewrite_sheet(path, lambda x: declare("A1:XFD1048576")(x).replace("</sheetData>", '<row r="1048576"/></sheetData>'))


def column_bomb(path: Path) -> Path:
    """A real value in column XFD (16,384) of every data row, and the dimension saying so."""
    xlsx(path, [row(n) for n in range(1, 4)])

    def edit(x: str) -> str:
        x = declare("A1:XFD4")(x)
        return re.sub(r'(<row r="([2-9])"[^>]*>.*?)</row>', lambda m: f'{m.group(1)}<c r="XFD{m.group(2)}" t="n"><v>1</v></c></row>', x)
    return rewrite_sheet(path, edit)


def cli(station: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATION_PASSPHRASE": PASS, "STATION_USER": "zhanzhang"}
    env.pop("STATION_HOME", None)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(station)], capture_output=True,
                          text=True, env=env, timeout=120, preexec_fn=cap, stdin=subprocess.DEVNULL)


@pytest.fixture
def station(home, session) -> Path:
    session.close()
    return home.dir


def test_declared_dimension_is_ignored_cli(station, tmp_path):
    path = dimension_bomb(tmp_path / "dim.xlsx")
    assert path.stat().st_size < 10_000
    t = time.monotonic()
    result = cli(station, "ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026", "--dry-run")
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "共 2 行,正确 2 行" in result.stdout
    assert time.monotonic() - t < 30


def test_column_bomb_is_refused_naming_the_limit_cli(station, tmp_path):
    path = column_bomb(tmp_path / "cols.xlsx")
    result = cli(station, "ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026", "--dry-run")
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2
    assert f"{sheets.MAX_COLUMNS} 列" in result.stdout + result.stderr


def test_a_row_of_a_hundred_thousand_cells_is_refused(session, tmp_path):
    """More cells in one row than Excel itself allows: refused before openpyxl builds the row."""
    path = xlsx(tmp_path / "wide.xlsx", [row(1)])
    rewrite_sheet(path, lambda x: x.replace("</row></sheetData>", "<c/>" * 100_000 + "</row></sheetData>"))
    with pytest.raises(ValidationFailed) as exc:
        imp(session, path, dry_run=True)
    assert any("16384" in d.message or "16,384" in d.message for d in exc.value.details)


def test_row_numbers_beyond_excel_are_refused_quickly(session, tmp_path):
    path = xlsx(tmp_path / "far.xlsx", [row(1)])
    rewrite_sheet(path, lambda x: x.replace('<row r="2"', '<row r="999999999999"'))
    t = time.monotonic()
    with pytest.raises(ValidationFailed):
        imp(session, path, dry_run=True)
    assert time.monotonic() - t < 10


def test_entities_a_giant_cell_and_a_zip_of_many_parts_are_refused(tmp_path):
    laughs = xlsx(tmp_path / "laughs.xlsx", [row(1)])
    rewrite_sheet(laughs, lambda x: '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                  + x.replace("王1", "&b;"))
    with pytest.raises(ValidationFailed, match="无法读取表格"):
        sheets.read_table(laughs)
    giant = xlsx(tmp_path / "giant.xlsx", [row(1)])
    rewrite_sheet(giant, lambda x: x.replace("王1", "王" * (sheets.MAX_ROW_CHARS + 1)))
    with pytest.raises(ValidationFailed) as exc:
        sheets.read_table(giant)
    assert f"{sheets.MAX_ROW_CHARS:,}" in str(exc.value)
    many = xlsx(tmp_path / "many.xlsx", [row(1)])
    with zipfile.ZipFile(many, "a") as z:
        for n in range(sheets.XLSX_MAX_ENTRIES + 1):
            z.writestr(f"junk/{n}", b"")
    with pytest.raises(ValidationFailed) as exc:
        sheets.read_table(many)
    assert f"{sheets.XLSX_MAX_ENTRIES:,}" in str(exc.value)


def test_a_fifo_or_a_directory_is_refused_not_waited_on(session, tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "dir.xlsx").mkdir()
    for name in ("pipe.csv", "dir.xlsx"):
        with pytest.raises(ValidationFailed, match="无法读取表格"):
            sheets.read_table(tmp_path / name)
        with pytest.raises(ValidationFailed, match="无法读取表格"):
            imp(session, tmp_path / name, dry_run=True)


def test_too_many_rows_csv_is_refused_naming_the_limit(session, tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["户主姓名", "身份证号码", "补贴金额"])
        w.writerows(["户", "", "1.00"] for _ in range(sheets.MAX_ROWS + 1))
    with pytest.raises(ValidationFailed) as exc:
        imp(session, path, dry_run=True)
    assert f"{sheets.MAX_ROWS:,}" in str(exc.value)
    assert session.store.scalar("SELECT count(*) FROM ledger_entries") == 0


def test_exactly_the_row_limit_is_read(tmp_path):
    path = tmp_path / "limit.csv"
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["户主姓名", "身份证号码", "补贴金额"])
        w.writerows(["户", str(n), "1.00"] for n in range(sheets.MAX_ROWS))
    headers, rows = sheets.read_table(path)
    assert headers == ["户主姓名", "身份证号码", "补贴金额"] and len(rows) == sheets.MAX_ROWS and rows[-1][1] == str(sheets.MAX_ROWS - 1)


def test_csv_column_bomb_and_endless_line_are_refused(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text("户主姓名,身份证号码,补贴金额" + ",x" * 10_000 + "\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="列"):
        sheets.read_table(wide)
    endless = tmp_path / "endless.csv"
    endless.write_bytes(b"a" * (sheets.MAX_ROW_CHARS * 3))
    with pytest.raises(ValidationFailed) as exc:
        sheets.read_table(endless)
    assert f"{sheets.MAX_ROW_CHARS:,}" in str(exc.value)


def test_columns_up_to_the_limit_and_trailing_empty_cells_are_fine(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(",".join(f"列{i}" for i in range(sheets.MAX_COLUMNS)) + ",,,\n" + "1," * (sheets.MAX_COLUMNS - 1) + "1,,,,\n",
                    encoding="utf-8")
    headers, rows = sheets.read_table(path)
    assert len(headers) == sheets.MAX_COLUMNS and rows == [["1"] * sheets.MAX_COLUMNS]


HOSTILE_NAMES = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def test_exports_carry_no_live_formula_and_amounts_are_numbers(session, tmp_path):
    rows = [row(n, name=name) for n, name in enumerate(HOSTILE_NAMES, start=1)]
    with open(tmp_path / "evil.csv", "w", encoding="utf-8", newline="") as fh:  # in a CSV they are text, as a township may send
        csv.writer(fh).writerows([HEADERS, *rows])
    report = imp(session, tmp_path / "evil.csv")
    assert report.written == len(HOSTILE_NAMES)
    first = service.entries(session, "subsidy")[0]["id"]
    service.correct(session, first, "=1+1 核实")  # a reversal: a negative amount, and a hostile reason
    assert service.export(session, tmp_path / "out.xlsx", "subsidy") == len(HOSTILE_NAMES) + 1
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")  # not data_only: formulas would show as formulas
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    name_col, amount_col, reason_col = headers.index("户主姓名"), headers.index("金额(元)"), headers.index("更正原因")
    cells = [c for r in sheet.iter_rows(min_row=2) for c in r]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    names = [r[name_col].value for r in sheet.iter_rows(min_row=2)]
    assert names[:len(HOSTILE_NAMES)] == ["'" + n.strip() for n in HOSTILE_NAMES]
    amounts = [r[amount_col] for r in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "n" and c.number_format == "0.00" for c in amounts)
    one = Decimal("3.25") * Decimal("125.8")
    assert [Decimal(str(c.value)) for c in amounts][-1] == -one.quantize(Decimal("0.01"))
    assert list(sheet.iter_rows(min_row=2))[-1][reason_col].value == "'=1+1 核实"
    book.close()

    service.export(session, tmp_path / "out.csv", "subsidy")
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as fh:
        back = list(csv.reader(fh))
    head, body = back[0], back[1:]
    for r in body:
        for i, cell in enumerate(r):
            if i != head.index("金额(元)"):
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (head[i], cell)
    assert [r[head.index("户主姓名")] for r in body][:len(HOSTILE_NAMES)] == ["'" + n.strip() for n in HOSTILE_NAMES]
    amounts_text = [r[head.index("金额(元)")] for r in body]
    assert amounts_text[-1] == f"-{one.quantize(Decimal('0.01'))}" and amounts_text[0] == f"{one.quantize(Decimal('0.01'))}"
    assert all("," not in a and not a.startswith("'") for a in amounts_text)


def test_write_table_neutralises_text_but_not_numbers(tmp_path):
    rows = [["\tx", "\r=y", "-a", Decimal("-12.50"), Decimal("125.8000"), 3, "普通"]]
    sheets.write_table(tmp_path / "t.csv", ["a", "b", "c", "d", "e", "f", "g"], rows)
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh))[1] == ["'\tx", "'\r=y", "'-a", "-12.50", "125.8000", "3", "普通"]
    sheets.write_table(tmp_path / "t.xlsx", ["a", "b", "c", "d", "e", "f", "g"], rows)
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    cells = list(book.active.iter_rows(min_row=2))[0]
    # (XML reads a carriage return back as a line feed; what matters is the leading quote)
    assert [c.value for c in cells[:3]] == ["'\tx", "'\n=y", "'-a"] and all(c.data_type == "s" for c in cells[:3])
    assert [(c.data_type, c.number_format) for c in cells[3:6]] == [("n", "0.00"), ("n", "0.0000"), ("n", "0")]
    assert Decimal(str(cells[3].value)) == Decimal("-12.50")
    book.close()


async def test_app_shows_the_limit_without_a_traceback(tmp_path):
    """The import wizard shows the refusal (the limit named) in its report area."""
    from textual.widgets import Static

    from station.tui.screens.ledger import ImportWizard
    from tests.tui.conftest import app_for, demo_copy, settle
    path = tmp_path / "wide.csv"
    path.write_text("户主姓名,身份证号码,补贴金额" + ",x" * 300 + "\n", encoding="utf-8")
    app = app_for(demo_copy(tmp_path), user="zhanzhang")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        wizard = app.screen
        assert isinstance(wizard, ImportWizard)
        wizard.query_one("#program").value = "耕地地力保护补贴"
        wizard.query_one("#period").value = "2026"
        wizard.query_one("#file").value = str(path)
        await pilot.click("#check")
        await settle(pilot)
        shown = str(wizard.query_one("#report", Static).content) + " ".join(str(label.content) for label in wizard.query("Label"))
        assert f"{sheets.MAX_COLUMNS} 列" in shown, shown
        assert isinstance(app.screen, ImportWizard)
