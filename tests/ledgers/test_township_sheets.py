"""Spreadsheets shaped the way townships send them: a merged title row and a 填报单位 line above the
header, a 合计 row at the bottom, ID and bank numbers typed as numeric cells, and ``--map`` with the
Chinese field labels. Every file is built here with openpyxl, the way Excel/WPS save it."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from textual.widgets import Static

from ledgers import service
from ledgers.rules import FIELDS
from station.errors import ValidationFailed
from tests.conftest import make_id
from tests.ledgers.test_hostile_sheets import cli, rewrite_sheet
from tests.ledgers.test_hostile_sheets import station as station  # noqa: F401  (fixture)
from tests.ledgers.test_ledgers import imp

TITLE = "2026年耕地地力保护补贴发放花名册"
HEADER = ["序号", "户主姓名", "身份证号码", "组别", "面积(亩)", "补贴金额(元)", "银行账号", "备注"]


def household(n: int, amount: str = "406.85") -> list:
    return [n, f"李{n}", make_id(seq=n), f"{n % 3 + 1}组", "3.25", amount, f"62170000{n:011d}", ""]


def township_book(path: Path, rows: list[list], footer: list[list] = (), unit_line: bool = True, header=HEADER) -> Path:
    """Title merged across A1:H1, optionally a blank row and a 填报单位 line, then the header."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([TITLE])
    sheet.merge_cells("A1:H1")
    if unit_line:
        sheet.append([])
        sheet.append(["填报单位:青山镇石桥村", None, None, None, None, "填报日期:2026年3月5日"])
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    for r in footer:
        sheet.append(r)
    book.save(path)
    return path


def total_row(rows: list[list], label_col: int = 0) -> list:
    cells: list = [None] * len(HEADER)
    cells[label_col] = "合  计"
    cells[5] = str(sum(Decimal(r[5]) for r in rows))
    return cells


# --- 1. the header row is found by content -----------------------------------------------------

@pytest.mark.parametrize("unit_line", [True, False])
def test_title_rows_above_the_header_are_skipped(session, tmp_path, unit_line):
    rows = [household(n) for n in range(1, 6)]
    path = township_book(tmp_path / "花名册.xlsx", rows, unit_line=unit_line)
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert report.rows == 5 and report.valid == 5 and report.total_fen == 5 * 40685
    assert report.mapping["head_name"] == "户主姓名" and report.mapping["bank_card"] == "银行账号"
    first_data_row = 5 if unit_line else 3
    assert report.header_row == first_data_row - 1


def test_title_rows_in_the_cli(station, tmp_path):  # noqa: F811
    rows = [household(n) for n in range(1, 4)]
    path = township_book(tmp_path / "花名册.xlsx", rows, footer=[total_row(rows)])
    result = cli(station, "ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "共 3 行,正确 3 行" in result.stdout and "已写入 3 行" in result.stdout
    assert "head_name" not in result.stdout and "户主姓名←户主姓名" in result.stdout
    assert "第 8 行:合计行,已跳过" in result.stdout  # the total row is named as skipped


async def test_title_rows_in_the_app(tmp_path):
    from station.tui.screens.ledger import ImportWizard
    from tests.tui.conftest import app_for, demo_copy, settle
    rows = [household(n) for n in range(1, 4)]
    path = township_book(tmp_path / "花名册.xlsx", rows, footer=[total_row(rows)])
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
        report = str(wizard.query_one("#report", Static).content)
        assert "正确 3 行" in report and "错误 0 处" in report, report
        assert "head_name" not in report and "合计" in report
        assert not wizard.query_one("#all").disabled


# --- 2. total and signature rows ----------------------------------------------------------------

def test_total_subtotal_and_signature_rows_are_skipped_not_errors(session, tmp_path):
    rows = [household(n) for n in range(1, 5)]
    subtotal = [None, "小计", None, None, None, str(sum(Decimal(r[5]) for r in rows[:2])), None, None]
    footer = [total_row(rows, label_col=1), ["制表人:王会计", None, None, "审核人:张主任"]]
    path = township_book(tmp_path / "名单.xlsx", rows[:2] + [subtotal] + rows[2:], footer=footer)
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert report.rows == 4 and report.total_fen == 4 * 40685
    assert [s["row"] for s in report.skipped] == [7, 10, 11]
    assert all(s["reason"] for s in report.skipped)


def test_a_stated_total_that_differs_from_the_sum_is_one_clear_message(session, tmp_path):
    rows = [household(n) for n in range(1, 4)]
    wrong = total_row(rows)
    wrong[5] = "1000.00"
    path = township_book(tmp_path / "名单.xlsx", rows, footer=[wrong])
    report = imp(session, path, dry_run=True)
    assert report.error_count == 1 and report.rows == 3 and report.valid == 3
    (message,) = [e["message"] for e in report.errors]
    assert "1,000.00" in message and "1,220.55" in message and report.errors[0]["row"] == 8


# --- 3. --map with the Chinese labels; no internal names shown ---------------------------------

def test_map_accepts_the_chinese_field_labels(session, tmp_path):
    path = township_book(tmp_path / "名单.xlsx", [[1, "张三", make_id(seq=1), "1组", "", "100.00", "", ""]],
                         header=["序号", "甲", "乙", "组别", "面积(亩)", "丙", "银行账号", "备注"])
    report = imp(session, path, dry_run=True, overrides={"户主姓名": "甲", "身份证号码": "乙", "金额": "丙"})
    assert report.valid == 1 and report.mapping["head_name"] == "甲" and report.mapping["amount"] == "丙"
    assert report.header_row == 4


def test_missing_column_and_unknown_field_never_name_internal_fields(session, tmp_path):
    path = township_book(tmp_path / "名单.xlsx", [[1, "张三", make_id(seq=1), "1组", "", "100.00", "", ""]],
                         header=["序号", "甲", "身份证号码", "组别", "面积(亩)", "补贴金额", "银行账号", "备注"])
    with pytest.raises(ValidationFailed) as missing:
        imp(session, path, dry_run=True)
    with pytest.raises(ValidationFailed) as unknown:
        imp(session, path, dry_run=True, overrides={"姓甚名谁": "甲"})
    for exc in (missing.value, unknown.value):
        text = exc.title + " ".join(d.message for d in exc.details)
        assert not any(f in text for f in FIELDS), text
        assert "--map" not in text and "=" not in text, text  # the app has no --map: the service never names it
    assert "户主姓名" in " ".join(d.message for d in missing.value.details)


def test_cli_map_with_a_label_and_a_hint_without_internal_names(station, tmp_path):  # noqa: F811
    path = township_book(tmp_path / "名单.xlsx", [[1, "张三", make_id(seq=1), "1组", "", "100.00", "", ""]],
                         header=["序号", "甲", "身份证号码", "组别", "面积(亩)", "补贴金额", "银行账号", "备注"])
    base = ("ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026", "--dry-run")
    refused = cli(station, *base)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    shown = refused.stdout + refused.stderr
    assert "户主姓名" in shown and "--map 户主姓名=" in shown and "head_name" not in shown, shown
    mapped = cli(station, *base, "--map", "户主姓名=甲")
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
    assert "正确 1 行" in mapped.stdout and "head_name" not in mapped.stdout


async def wizard_report(tmp_path, path: Path) -> str:
    """Check ``path`` in the app's import wizard; everything the wizard then shows."""
    from station.tui.screens.ledger import ImportWizard
    from tests.tui.conftest import app_for, demo_copy, settle
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
        return str(wizard.query_one("#report", Static).content) + " ".join(str(label.content) for label in wizard.query("Label"))


async def test_app_messages_name_no_internal_field_and_no_cli_option(tmp_path):
    missing = township_book(tmp_path / "缺列.xlsx", [[1, "张三", make_id(seq=1), "1组", "", "100.00", "", ""]],
                            header=["序号", "甲", "身份证号码", "组别", "面积(亩)", "补贴金额", "银行账号", "备注"])
    shown = await wizard_report(tmp_path / "a", missing)
    assert "找不到“户主姓名”列" in shown and "第 4 行" in shown, shown
    many = township_book(tmp_path / "错.xlsx", [household(n, amount="-1") for n in range(1, 16)])
    shown_many = await wizard_report(tmp_path / "b", many)
    assert "错误 15 处" in shown_many and "另有 3 处" in shown_many, shown_many
    for text in (shown, shown_many):
        assert "--" not in text and "命令行" not in text and not any(f in text for f in FIELDS), text


# --- 4. numbers stored as numbers ---------------------------------------------------------------

def test_an_id_stored_as_a_float_is_refused_with_a_clear_message(session, tmp_path):
    good = household(1)
    lost = household(2)
    lost[2] = float(lost[2][:15] + "000")  # what Excel keeps of an 18-digit number: 15 significant digits
    card = household(3)
    card[6] = 6.21700000000003e18  # a 19-digit card typed as a number
    path = township_book(tmp_path / "名单.xlsx", [good, lost, card])
    report = imp(session, path, dry_run=True)
    assert report.valid == 1 and report.error_count == 2
    by_row = {e["row"]: e["message"] for e in report.errors}
    assert "文本" in by_row[6] and "身份证号码" in by_row[6]
    assert "文本" in by_row[7] and "银行" in by_row[7]


def test_scientific_text_from_a_csv_is_refused_too(session, tmp_path):
    path = tmp_path / "名单.csv"
    path.write_text(",".join(HEADER) + "\n1,张三,5.20402E+17,1组,3.25,406.85,,\n", encoding="utf-8")
    report = imp(session, path, dry_run=True)
    assert report.valid == 0 and report.error_count == 1 and "文本" in report.errors[0]["message"]


def test_exact_integers_are_accepted(session, tmp_path):
    """An integer cell holding every digit (written by tools other than Excel: ``<v>5204…</v>``) and
    a 15-digit card typed as a number have lost nothing and are accepted."""
    seq = next(s for s in range(1, 30) if make_id(seq=s).isdigit())
    whole, short = household(seq), household(seq + 1)
    whole[2] = "ID-AS-INT"
    short[6] = 621700000000001.0  # 15 significant digits: exact as a float
    path = township_book(tmp_path / "名单.xlsx", [whole, short])
    rewrite_sheet(path, lambda xml: re.sub(r'<c r="C5"[^>]*>.*?</c>', f'<c r="C5" t="n"><v>{make_id(seq=seq)}</v></c>', xml))
    raw = [c.value for c in next(openpyxl.load_workbook(path, read_only=True).active.iter_rows(min_row=5, max_row=5))]
    assert raw[2] == int(make_id(seq=seq))
    report = imp(session, path, dry_run=True)
    assert report.valid == 2, report.errors


# --- 5. the old binary .xls -------------------------------------------------------------------

def xls_book(path: Path, rows: list[list], footer: list[list] = ()) -> Path:
    """A real BIFF8 .xls as Excel 2003 and WPS save it (xlwt): merged title, 填报单位 line, header."""
    import xlwt
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    sheet.write_merge(0, 0, 0, len(HEADER) - 1, TITLE)
    sheet.write(2, 0, "填报单位:青山镇石桥村")
    for c, h in enumerate(HEADER):
        sheet.write(3, c, h)
    for r, values in enumerate(list(rows) + list(footer), start=4):
        for c, v in enumerate(values):
            if v not in (None, ""):
                sheet.write(r, c, v)
    book.save(str(path))
    return path


def test_an_xls_file_is_read_like_an_xlsx(session, tmp_path):
    rows = [household(n) for n in range(1, 5)]
    rows[1][5] = 406.85  # amounts typed as numbers
    rows[2][4] = 3.25
    path = xls_book(tmp_path / "花名册.xls", rows, footer=[total_row(rows), ["制表人:王会计"]])
    assert path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert report.rows == 4 and report.total_fen == 4 * 40685 and report.header_row == 4
    assert [s["row"] for s in report.skipped] == [9, 10]
    written = imp(session, path)
    assert written.written == 4


def test_an_xls_id_stored_as_a_number_is_refused_and_exact_numbers_are_fine(session, tmp_path):
    seq = next(s for s in range(1, 30) if make_id(seq=s).isdigit())
    lost, card = household(seq), household(seq + 1)
    lost[2] = float(lost[2])  # .xls holds every number as a float: 18 digits cannot survive
    card[6] = 621700000000001  # 15 digits: exact
    report = imp(session, xls_book(tmp_path / "名单.xls", [lost, card]), dry_run=True)
    assert report.valid == 1 and report.error_count == 1
    assert report.errors[0]["row"] == 5 and "文本" in report.errors[0]["message"]


def test_a_renamed_or_broken_xls_is_read_as_what_it_is_or_refused_cleanly(session, tmp_path):
    rows = [household(n) for n in range(1, 3)]
    renamed = township_book(tmp_path / "名单.xlsx", rows).rename(tmp_path / "名单.xls")
    assert imp(session, renamed, dry_run=True).valid == 2
    broken = tmp_path / "坏.xls"
    broken.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    html = tmp_path / "网页.xls"
    html.write_text("<html><table><tr><td>户主姓名</td></tr></table></html>", encoding="utf-8")
    for path in (broken, html):
        with pytest.raises(ValidationFailed) as refused:
            imp(session, path, dry_run=True)
        assert "不是有效的 Excel(.xls)文件" in str(refused.value)


# --- amounts as clerks type them ----------------------------------------------------------------

def test_amounts_with_yuan_thousands_separators_and_full_width_digits(session, tmp_path):
    rows = [household(n) for n in range(1, 5)]
    rows[0][5] = "406.85元"
    rows[1][5] = "￥406.85"
    rows[2][5] = "４０６．８５"  # typed with a Chinese input method in full-width mode
    rows[3][4], rows[3][5] = "３.２５", " 406.85 元 "
    big = household(5, amount="1,220.55")
    path = township_book(tmp_path / "名单.xlsx", rows + [big], footer=[[None, "合计", None, None, None, "2,847.95元"]])
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert report.valid == 5 and report.total_fen == 4 * 40685 + 122055


def test_text_that_is_not_an_amount_is_still_refused(session, tmp_path):
    rows = [household(1, amount="四百元"), household(2, amount="406.85美元"), household(3, amount="1,2,3")]
    report = imp(session, township_book(tmp_path / "名单.xlsx", rows), dry_run=True)
    assert report.valid == 0 and {e["row"] for e in report.errors} == {5, 6, 7}


def test_every_problem_names_its_column_as_excel_letters(station, tmp_path):  # noqa: F811
    rows = [household(n) for n in range(1, 4)]
    rows[1][2] = float(rows[1][2][:15] + "000")
    rows[2][5] = "四百元"
    path = township_book(tmp_path / "名单.xlsx", rows)
    result = cli(station, "ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026", "--dry-run")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "第 6 行 C 列:身份证号码被存成了数字" in result.stdout, result.stdout
    assert "第 7 行 F 列:金额“四百元”不是数字" in result.stdout, result.stdout


def test_a_household_whose_remark_looks_like_a_form_word_is_never_skipped(session, tmp_path):
    rows = [household(n) for n in range(1, 4)]
    rows[0][7] = "审核:已通过"
    rows[1][7] = "小计"
    rows[2][1] = "合计"  # a name cell that says 合计 but a household's ID beside it: an error, never silently dropped
    report = imp(session, township_book(tmp_path / "名单.xlsx", rows), dry_run=True)
    assert report.skipped == [] and report.rows == 3 and report.valid == 3


def test_a_two_row_header_with_merged_cells(session, tmp_path):
    """户主姓名 merged down E4:E5 and so on; 补贴情况 merged across over 面积(亩) and 补贴金额(元)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([TITLE])
    sheet.merge_cells("A1:H1")
    sheet.append(["序号", "户主姓名", "身份证号码", "组别", "补贴情况", None, "银行账号", "备注"])
    sheet.append([None, None, None, None, "面积(亩)", "补贴金额(元)", None, None])
    for col in "ABCDGH":
        sheet.merge_cells(f"{col}2:{col}3")
    sheet.merge_cells("E2:F2")
    rows = [household(n) for n in range(1, 4)]
    for r in rows:
        sheet.append(r)
    sheet.append(total_row(rows))
    path = tmp_path / "两行表头.xlsx"
    book.save(path)
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert report.rows == 3 and report.total_fen == 3 * 40685 and report.mapping["amount"] == "补贴金额(元)"
    assert report.header_row == 3 and [s["row"] for s in report.skipped] == [7]


# --- formula cells ---------------------------------------------------------------------------

def formula_book(path: Path, cached: bool) -> Path:
    """Amounts as =E*125 formulas and the 合计 as =SUM(): with cached values as Excel saves them, or
    without (as a program such as openpyxl writes them, never opened in Excel)."""
    rows = [household(n) for n in range(1, 4)]
    for i, r in enumerate(rows, start=5):
        r[5] = f"=E{i}*125.8"
    township_book(path, rows, footer=[[None, "合计", None, None, None, "=SUM(F5:F7)"]])
    if cached:
        def cache(xml: str) -> str:
            xml = re.sub(r"(<c r=\"F[5-7]\"[^>]*>)<f>(.*?)</f><v\s*/>", r"\1<f>\2</f><v>408.85</v>", xml)
            return re.sub(r"(<c r=\"F8\"[^>]*>)<f>(.*?)</f><v\s*/>", r"\1<f>\2</f><v>1226.55</v>", xml)
        rewrite_sheet(path, cache)
    return path


def test_formula_cells_are_read_by_their_cached_values(session, tmp_path):
    report = imp(session, formula_book(tmp_path / "公式.xlsx", cached=True), dry_run=True)
    assert report.error_count == 0 and report.rows == 3 and report.total_fen == 3 * 40885, report.errors
    assert report.notes == []


def test_formulas_without_cached_values_are_named_plainly(session, tmp_path):
    report = imp(session, formula_book(tmp_path / "公式.xlsx", cached=False), dry_run=True)
    assert report.valid == 0 and report.error_count == 3
    (note,) = report.notes
    assert "4 个公式" in note and "F5" in note and "保存" in note


def test_formulas_without_results_in_the_cli(station, tmp_path):  # noqa: F811
    path = formula_book(tmp_path / "公式.xlsx", cached=False)
    result = cli(station, "ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026", "--dry-run")
    assert result.returncode == 2 and "注意:表格中有 4 个公式没有保存计算结果(如 F5 格)" in result.stdout, result.stdout
    refused = cli(station, "ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026")
    assert refused.returncode == 2 and "4 个公式没有保存计算结果" in refused.stdout + refused.stderr


def test_a_gbk_csv_with_a_title_a_unit_line_and_a_total(session, tmp_path):
    rows = [household(n) for n in range(1, 4)]
    lines = [TITLE + ",,,,,,,", "填报单位:青山镇石桥村,,,,,单位:元,,", ",".join(HEADER)]
    lines += [",".join(str(c) for c in r) for r in rows]
    lines += [",合计,,,,1,220.55,,".replace("1,220.55", '"1,220.55"'), "制表人:王会计,,,审核人:张主任,,,,"]
    path = tmp_path / "名单.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert report.header_row == 3 and report.rows == 3 and report.total_fen == 3 * 40685
    assert [s["row"] for s in report.skipped] == [7, 8]


def test_the_sheet_holding_the_list_is_read_and_named(session, tmp_path):
    """A 填表说明 sheet first, the list on the second: the list is read and the report says which."""
    path = township_book(tmp_path / "名单.xlsx", [household(n) for n in range(1, 4)])
    book = openpyxl.load_workbook(path)
    book.active.title = "花名册"
    notes = book.create_sheet("填表说明", 0)
    notes.append(["填表说明:身份证号码列请设为文本格式"])
    notes.append(["金额单位:元"])
    book.create_sheet("Sheet3")
    book.save(path)
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0 and report.rows == 3, report.errors
    assert any("花名册" in n and "3 个工作表" in n for n in report.notes), report.notes


def test_an_xls_with_the_list_on_its_second_sheet(session, tmp_path):
    import xlwt
    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("说明").write(0, 0, "填表说明:金额单位为元")
    sheet = book.add_sheet("花名册")
    for c, h in enumerate(HEADER):
        sheet.write(0, c, h)
    for r, values in enumerate([household(n) for n in range(1, 3)], start=1):
        for c, v in enumerate(values):
            sheet.write(r, c, v)
    path = tmp_path / "名单.xls"
    book.save(str(path))
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0 and report.rows == 2, report.errors
    assert any("花名册" in n for n in report.notes), report.notes


async def test_the_app_lets_the_clerk_pick_a_missing_column_from_the_files_headers(tmp_path):
    from station.tui.compact import Select
    from station.tui.screens.ledger import ImportWizard
    from tests.tui.conftest import app_for, demo_copy, settle
    path = township_book(tmp_path / "名单.xlsx", [[1, "张三", make_id(seq=1), "1组", "", "100.00", "", ""]],
                         header=["序号", "甲", "乙", "组别", "面积(亩)", "丙", "银行账号", "备注"])
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
        choice = wizard.query_one("#map-head_name", Select)
        offered = [str(prompt) for prompt, value in choice._options if isinstance(value, str)]
        assert "甲" in offered and "组别" in offered and not wizard.query("#map-village_group")
        choice.value = "甲"
        wizard.query_one("#map-id_number", Select).value = "乙"
        await settle(pilot)
        await pilot.click("#check")  # 金额 still not found: asked again, the two picks kept
        await settle(pilot)
        assert [str(s.id) for s in wizard.query("#column-choices Select")] == ["map-amount"], str(wizard.query_one("#report", Static).content)
        wizard.query_one("#map-amount", Select).value = "丙"
        await settle(pilot)
        await pilot.click("#check")
        await settle(pilot)
        report = str(wizard.query_one("#report", Static).content)
        assert "正确 1 行" in report and "户主姓名←甲" in report, report
        assert not wizard.query_one("#all").disabled


def test_township_send_list_finds_the_header_and_leaves_the_total_behind(session, tmp_path):
    """The township sends its own spreadsheet (title rows, 合计 row) down with `township send-list`;
    the station receives exactly the households and imports them."""
    import os
    import subprocess
    import sys

    from sync import client, enrolment
    from sync.hub.service import HubHome
    from tests.sync.conftest import HUB_PASS, ROOT
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", HUB_PASS)
    code, _ = hub.add_station(session.station_code, session.station_name)
    enrolment.enroll_online(session, code, hub, "local")
    hub.store.close()
    rows = [household(n) for n in range(1, 6)]
    book = township_book(tmp_path / "花名册.xlsx", rows, footer=[total_row(rows)])
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "send-list", str(book), "--station", session.station_code,
                        "--program", "耕地地力保护补贴", "--period", "2026", "--data-dir", str(tmp_path / "hub")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "5 行" in r.stdout, r.stdout + r.stderr
    hub = HubHome(tmp_path / "hub").unlock("admin", HUB_PASS)

    class Local:
        def push(self, data):
            return hub.receive(data)
    result = client.sync_once(session, Local())
    assert result.quarantined == []
    assert session.store.scalar("SELECT count(*) FROM ledger_entries WHERE program = '耕地地力保护补贴'") == 5
    assert service.totals(session, "subsidy", by=("program",))[0]["total"] == "2,034.25"  # 5 × 406.85
    hub.store.close()
