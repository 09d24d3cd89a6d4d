"""The app's 基础设施台账: a project, a payment refused over budget, progress, acceptance."""
from __future__ import annotations

from textual.widgets import DataTable

from station.tui.screens.infra import InfraScreen, ProjectForm, StepForm
from tests.tui.conftest import app_for, demo_copy, settle


async def test_project_from_the_app(tmp_path):
    app = app_for(demo_copy(tmp_path), user="zhanzhang")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InfraScreen)
        await pilot.press("ctrl+n")
        form = app.screen
        assert isinstance(form, ProjectForm)
        fields = (("name", "三组通组公路硬化"), ("funding_source", "一事一议财政奖补"), ("budget", "185000"), ("contractor", "旧州镇建筑队"))
        for key, value in fields:
            form.query_one(f"#{key}").value = value
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = screen.query_one("#projects", DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[3]) == "185,000.00"
        table.focus()
        await pilot.press("ctrl+y")
        pay = app.screen
        assert isinstance(pay, StepForm)
        pay.query_one("#amount").value = "200000"
        pay.query_one("#payee").value = "旧州镇建筑队"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, StepForm) and "超过预算" in str(app.screen.query_one("#err-amount").content)
        app.screen.query_one("#amount").value = "74000"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("ctrl+g")
        app.screen.query_one("#percent").value = "100"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("ctrl+a")
        app.screen.query_one("#note").value = "验收合格"
        await pilot.press("ctrl+s")
        await settle(pilot)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[4] == "74,000.00" and row[6] == "100%" and row[7] == "已验收"
