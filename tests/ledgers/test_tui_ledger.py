"""The app's 台账 screen: import wizard with the validation report, correction, lock, export."""
from __future__ import annotations

from textual.widgets import DataTable, Static

from ledgers import service, sheets
from station.tui.screens.ledger import CorrectionForm, ImportWizard, LedgerScreen
from tests.ledgers.test_ledgers import row, xlsx
from tests.tui.conftest import app_for, demo_copy, settle


async def test_import_wizard_correct_lock_export(tmp_path):
    station_dir = demo_copy(tmp_path)
    path = xlsx(tmp_path / "名单.xlsx", [row(1), row(2), row(3, amount="1.00")])
    app = app_for(station_dir, user="zhanzhang")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LedgerScreen)
        assert "锁定本期" in {b.binding.description for b in screen.active_bindings.values() if b.enabled}
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
        assert "正确 2 行" in report and "错误 1 处" in report and "第 4 行" in report
        assert wizard.query_one("#all").disabled and not wizard.query_one("#valid").disabled
        assert service.entries(app.session) == []  # nothing written by checking
        await pilot.click("#valid")
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)
        table = screen.query_one("#ledger-entries", DataTable)
        assert table.row_count == 2 and "2 户次" in str(screen.query_one("#ledger-totals", Static).content)
        table.focus()
        await pilot.press("ctrl+k")
        await settle(pilot)
        assert isinstance(app.screen, CorrectionForm)
        app.screen.query_one("#reason").value = "面积核实有误"
        app.screen.query_one("#amount").value = "300.00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert table.row_count == 4 and [str(table.get_row_at(i)[7]) for i in range(4)] == ["原始", "原始", "冲减", "更正"]
        screen.query_one("#l-program").value = "耕地地力保护补贴"
        screen.query_one("#l-period").value = "2026"
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert service.is_locked(app.session, "subsidy", "耕地地力保护补贴", "2026")
        assert service.export(app.session, tmp_path / "out.xlsx", "subsidy") == 4
        assert sheets.read_table(tmp_path / "out.xlsx")[1][0][2] == "王1"
    clerk = app_for(station_dir)
    async with clerk.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert "锁定本期" not in {b.binding.description for b in clerk.screen.active_bindings.values() if b.enabled}
