"""The import wizard through the app's pilot: a workbook with several sheets offers them as a
choice list; a column the file names oddly is mapped from a choice list of its headers, imported,
and remembered — the next file from the township with the same header imports without asking."""
from __future__ import annotations

from pathlib import Path

import openpyxl
from textual.widgets import Static

from ledgers import service
from tests.ledgers.test_township_sheets import household, township_book

ODD = ["序号", "领款人", "身份证号码", "组别", "面积(亩)", "补贴金额(元)", "银行账号", "备注"]


def workbook(path: Path, first: int) -> Path:
    """填表说明 first, the list (with 领款人 for the head's name) on 花名册, a late 补报 sheet."""
    township_book(path, [household(n) for n in range(first, first + 3)], header=ODD)
    book = openpyxl.load_workbook(path)
    book.active.title = "花名册"
    book.create_sheet("填表说明", 0).append(["填表说明:身份证号码列请设为文本格式"])
    late = book.create_sheet("补报")
    late.append(ODD)
    late.append(household(first + 10, "120.00"))
    book.save(path)
    return path


async def open_wizard(pilot, app, path: Path, period: str):
    from station.tui.screens.ledger import ImportWizard
    from tests.tui.conftest import settle
    await pilot.press("l")
    await settle(pilot)
    await pilot.press("ctrl+o")
    await settle(pilot)
    wizard = app.screen
    assert isinstance(wizard, ImportWizard)
    wizard.query_one("#program").value = "耕地地力保护补贴"
    wizard.query_one("#period").value = period
    wizard.query_one("#file").value = str(path)
    await settle(pilot)
    await pilot.click("#check")
    await settle(pilot)
    return wizard


async def test_map_a_column_pick_a_sheet_and_the_choice_is_remembered(tmp_path):
    from station.tui.compact import Select
    from tests.tui.conftest import app_for, demo_copy, settle
    march = workbook(tmp_path / "三月.xlsx", 1)
    app = app_for(demo_copy(tmp_path), user="zhanzhang")
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        wizard = await open_wizard(pilot, app, march, "2026-03")
        sheet = wizard.query_one("#w-sheet", Select)  # offered at once, with the list's sheet chosen
        assert sheet.value == "花名册" and [str(p) for p, _ in sheet._options] == ["填表说明", "花名册", "补报"]
        head = wizard.query_one("#map-head_name", Select)
        assert "领款人" in [str(p) for p, v in head._options if isinstance(v, str)]
        head.value = "领款人"
        await settle(pilot)
        await pilot.click("#check")
        await settle(pilot)
        report = str(wizard.query_one("#report", Static).content)
        assert "工作表“花名册”" in report and "正确 3 行" in report and "户主姓名←领款人" in report, report
        sheet.value = "补报"  # the late sheet instead: checked again at once
        await settle(pilot, 5)
        wizard.query_one("#map-head_name", Select).value = "领款人"
        await settle(pilot)
        await pilot.click("#check")
        await settle(pilot)
        report = str(wizard.query_one("#report", Static).content)
        assert "工作表“补报”" in report and "正确 1 行(合计 120.00 元)" in report, report
        sheet.value = "花名册"
        await settle(pilot, 5)
        wizard.query_one("#map-head_name", Select).value = "领款人"
        await settle(pilot)
        await pilot.click("#check")
        await settle(pilot)
        await pilot.click("#all")
        await settle(pilot)
        assert not isinstance(app.screen, type(wizard))
        assert len(service.entries(app.session, "subsidy", "耕地地力保护补贴", "2026-03")) == 3
        # April's file from the same township, same odd header: no question this time
        wizard = await open_wizard(pilot, app, workbook(tmp_path / "四月.xlsx", 20), "2026-04")
        assert not wizard.query("#column-choices Select")
        report = str(wizard.query_one("#report", Static).content)
        assert "沿用上次为本项目选的列" in report and "正确 3 行" in report, report
