"""The must-show set: township-shaped files made here (title rows, two-row merged headers, several
sheets, .xls, 合计 and signature rows, IDs stored as numbers, amounts with 元, full-width digits,
formulas with and without cached values, GBK CSV). Each imports with the right row count and
total to the fen, or is refused naming the sheet, the row and the column (Excel's letters).
Then: choosing the sheet, and column choices remembered for the program's next file."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from ledgers import service
from station.errors import StationError, ValidationFailed
from tests.ledgers.test_hostile_sheets import station as station  # noqa: F401  (fixture)
from tests.ledgers.test_ledgers import imp
from tests.ledgers.test_township_sheets import HEADER, formula_book, household, total_row, township_book, xls_book

SIGNED = ["制表人:王会计", None, None, "审核人:张主任", None, "日期:2026年3月5日"]


def titled(tmp: Path) -> Path:
    return township_book(tmp / "标题行.xlsx", [household(n) for n in range(1, 6)])


def titled_no_unit(tmp: Path) -> Path:
    return township_book(tmp / "只有标题.xlsx", [household(n) for n in range(1, 5)], unit_line=False)


def two_row_header(tmp: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2026年耕地地力保护补贴发放花名册"])
    sheet.merge_cells("A1:H1")
    sheet.append(["序号", "户主姓名", "身份证号码", "组别", "补贴情况", None, "银行账号", "备注"])
    sheet.append([None, None, None, None, "面积(亩)", "补贴金额(元)", None, None])
    for col in "ABCDGH":
        sheet.merge_cells(f"{col}2:{col}3")
    sheet.merge_cells("E2:F2")
    rows = [household(n) for n in range(1, 4)]
    for r in rows + [total_row(rows), SIGNED]:
        sheet.append(r)
    book.save(tmp / "两行表头.xlsx")
    return tmp / "两行表头.xlsx"


def several_sheets(tmp: Path) -> Path:
    path = township_book(tmp / "多个工作表.xlsx", [household(n) for n in range(1, 4)])
    book = openpyxl.load_workbook(path)
    book.active.title = "花名册"
    book.create_sheet("填表说明", 0).append(["填表说明:身份证号码列请设为文本格式"])
    book.create_sheet("汇总").append(["村", "户数", "金额"])
    book.save(path)
    return path


def total_and_signatures(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 5)]
    sub = total_row(rows[:2])
    sub[0] = "小计"
    return township_book(tmp / "合计签名.xlsx", rows[:2] + [sub] + rows[2:], footer=[total_row(rows), SIGNED])


def xls(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 5)]
    rows[1][5] = 406.85  # amounts as numbers, as .xls holds them
    return xls_book(tmp / "老格式.xls", rows, footer=[total_row(rows), ["制表人:王会计"]])


def yuan_and_thousands(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 5)]
    for r, amount in zip(rows, ("1,406.85元", "¥406.85", "406.85 元", "1,000"), strict=True):
        r[5] = amount
    return township_book(tmp / "带元.xlsx", rows)


def full_width(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 4)]
    rows[0][5] = "４０６．８５"
    rows[1][5] = "４０６．８５元"
    return township_book(tmp / "全角.xlsx", rows)


def formulas_cached(tmp: Path) -> Path:
    return formula_book(tmp / "公式有结果.xlsx", cached=True)


def gbk_csv(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 4)]
    lines = ["2026年耕地地力保护补贴发放花名册,,,,,,,", "填报单位:青山镇石桥村,,,,,单位:元,,", ",".join(HEADER)]
    lines += [",".join(str(c) for c in r) for r in rows]
    lines += [',合计,,,,"1,220.55",,', "制表人:王会计,,,审核人:张主任,,,,"]
    path = tmp / "名单.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    return path


def ids_as_numbers(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 4)]
    rows[1][2] = float(rows[1][2][:15] + "000")  # what Excel keeps of 18 digits
    return township_book(tmp / "身份证成数字.xlsx", rows)


def xls_card_as_number(tmp: Path) -> Path:
    rows = [household(n) for n in range(1, 4)]
    rows[2][6] = 6.21700000000003e18  # a 19-digit card typed as a number
    return xls_book(tmp / "卡号成数字.xls", rows)


def formulas_without_results(tmp: Path) -> Path:
    return formula_book(tmp / "公式无结果.xlsx", cached=False)


IMPORTED = [(titled, 5, 5 * 40685), (titled_no_unit, 4, 4 * 40685), (two_row_header, 3, 3 * 40685),
            (several_sheets, 3, 3 * 40685), (total_and_signatures, 4, 4 * 40685), (xls, 4, 4 * 40685),
            (yuan_and_thousands, 4, 140685 + 40685 + 40685 + 100000), (full_width, 3, 3 * 40685),
            (formulas_cached, 3, 3 * 40885), (gbk_csv, 3, 3 * 40685)]
REFUSED = [(ids_as_numbers, "工作表“Sheet” 第 6 行 C 列", "身份证号码"),
           (xls_card_as_number, "工作表“Sheet1” 第 7 行 G 列", "银行"),
           (formulas_without_results, "工作表“Sheet” 第 5 行 F 列", "公式")]


def test_the_set_has_every_shape_the_issue_names():
    assert len(IMPORTED) + len(REFUSED) >= 12


@pytest.mark.parametrize(("build", "rows", "total_fen"), IMPORTED, ids=[b.__name__ for b, *_ in IMPORTED])
def test_each_file_imports_with_the_right_rows_and_total(session, tmp_path, build, rows, total_fen):
    path = build(tmp_path)
    report = imp(session, path, dry_run=True)
    assert report.error_count == 0, report.errors
    assert (report.rows, report.valid, report.total_fen) == (rows, rows, total_fen)
    written = imp(session, path)
    assert written.written == rows
    assert sum(e["amount_fen"] for e in service.entries(session, "subsidy", "耕地地力保护补贴", "2026")) == total_fen


@pytest.mark.parametrize(("build", "place", "what"), REFUSED, ids=[b.__name__ for b, *_ in REFUSED])
def test_each_bad_file_is_refused_naming_sheet_row_and_column(session, tmp_path, build, place, what):
    path = build(tmp_path)
    with pytest.raises(StationError) as refused:
        imp(session, path)
    said = str(refused.value) + "".join(d.message for d in refused.value.details)
    assert place in said and what in said, said
    assert service.entries(session, "subsidy", "耕地地力保护补贴", "2026") == []


# --- the sheet to read --------------------------------------------------------------------------

def test_the_clerk_can_pick_another_sheet_and_a_wrong_name_is_refused(session, tmp_path):
    path = several_sheets(tmp_path)
    book = openpyxl.load_workbook(path)
    second = book.create_sheet("二组补报")
    second.append(HEADER)
    second.append(household(9, "120.00"))
    book.save(path)
    auto = imp(session, path, dry_run=True)
    assert auto.sheet == "花名册" and auto.sheets == ["填表说明", "花名册", "汇总", "二组补报"]
    picked = imp(session, path, dry_run=True, sheet="二组补报")
    assert (picked.sheet, picked.rows, picked.total_fen) == ("二组补报", 1, 12000)
    with pytest.raises(ValidationFailed) as refused:
        imp(session, path, dry_run=True, sheet="三组")
    assert "没有名为“三组”的工作表" in refused.value.details[0].message and "二组补报" in refused.value.details[0].message


# --- column choices remembered per program ---------------------------------------------------

def odd_header(path: Path, n0: int) -> Path:
    header = ["序号", "领款人", "身份证号码", "组别", "面积(亩)", "补贴金额(元)", "银行账号", "备注"]
    return township_book(path, [household(n) for n in range(n0, n0 + 2)], header=header)


def test_a_column_chosen_once_is_used_for_the_programs_next_file(session, tmp_path):
    first = odd_header(tmp_path / "三月.xlsx", 1)
    with pytest.raises(service.MissingColumns):
        imp(session, first, dry_run=True)
    assert imp(session, first, overrides={"户主姓名": "领款人"}).written == 2
    assert service.remembered_map(session, "subsidy", "耕地地力保护补贴") == {"户主姓名": "领款人"}
    nxt = imp(session, odd_header(tmp_path / "四月.xlsx", 3), period="2026-04")  # no choice given this time
    assert nxt.written == 2 and nxt.mapping["head_name"] == "领款人"
    assert any("沿用上次" in n and "户主姓名←领款人" in n for n in nxt.notes), nxt.notes
    with pytest.raises(service.MissingColumns):  # another program: its own choices
        imp(session, odd_header(tmp_path / "其他.xlsx", 5), program="玉米生产者补贴")


def test_a_remembered_column_never_overrides_a_file_that_names_the_field(session, tmp_path):
    imp(session, odd_header(tmp_path / "三月.xlsx", 1), overrides={"户主姓名": "领款人"})
    header = ["序号", "户主姓名", "身份证号码", "组别", "面积(亩)", "补贴金额(元)", "银行账号", "领款人"]
    rows = [household(n) for n in (7, 8)]
    for r in rows:
        r[7] = "代领:" + r[1]
    report = imp(session, township_book(tmp_path / "五月.xlsx", rows, header=header), period="2026-05", dry_run=True)
    assert report.mapping["head_name"] == "户主姓名" and not any("沿用上次" in n for n in report.notes)


def test_the_cli_reads_a_chosen_sheet_and_remembers_map(station, tmp_path):  # noqa: F811
    from tests.ledgers.test_hostile_sheets import cli
    path = several_sheets(tmp_path)
    book = openpyxl.load_workbook(path)
    late = book.create_sheet("补报")
    late.append(["序号", "领款人", "身份证号码", "组别", "面积(亩)", "补贴金额(元)", "银行账号", "备注"])
    late.append(household(9, "120.00"))
    book.save(path)
    args = ("ledger", "import", str(path), "--program", "耕地地力保护补贴", "--period", "2026")
    shown = cli(station, *args, "--sheet", "补报", "--map", "户主姓名=领款人")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "工作表“补报”(共 4 个:填表说明、花名册、汇总、补报)" in shown.stdout and "已写入 1 行" in shown.stdout
    again = cli(station, "ledger", "import", str(odd_header(tmp_path / "四月.xlsx", 20)), "--program", "耕地地力保护补贴",
                "--period", "2026-04")
    assert again.returncode == 0 and "沿用上次为本项目选的列:户主姓名←领款人" in again.stdout, again.stdout + again.stderr
    main_sheet = cli(station, *args)  # the same workbook's 花名册: its own import, not "already imported"
    assert main_sheet.returncode == 0 and "工作表“花名册”" in main_sheet.stdout and "已写入 3 行" in main_sheet.stdout, main_sheet.stdout
    assert "已导入过" in cli(station, *args, "--sheet", "补报").stdout and "已导入过" in cli(station, *args).stdout
    wrong = cli(station, *args, "--sheet", "三组", "--dry-run")
    assert wrong.returncode != 0 and "没有名为“三组”的工作表" in wrong.stdout + wrong.stderr
