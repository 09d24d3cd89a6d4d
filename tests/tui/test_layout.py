"""80x24: F1 always in the footer, a case's steps in its body, notices off the result, tables that fit."""
from __future__ import annotations

from textual.widgets import DataTable, SelectionList, Static
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from station.services import cases
from station.tui.columns import Column, fit
from station.tui.screens.case_detail import ACTIONS, CaseDetailScreen
from station.tui.screens.help import HelpScreen
from station.tui.screens.intake import IntakeScreen
from tests.tui import walker
from tests.tui.conftest import app_for, intake_with_item, settle
from tests.tui.test_walker import _prepare


def test_fit_leaves_out_the_least_needed_columns_rather_than_cutting_all():
    cols = [Column("户主", 8, 1), Column("身份证", 18, 2), Column("原因", 16, 4, min_width=8), Column("类型", 4, 5), Column("金额", 11, 3)]
    assert fit(cols, 200) == [(0, 8), (1, 18), (2, 16), (3, 4), (4, 11)]
    narrow = fit(cols, 55)
    assert [i for i, _ in narrow] == [0, 1, 2, 4]  # 类型 left out, 原因 shrunk to fit
    assert sum(w + 2 for _, w in narrow) <= 55 and dict(narrow)[2] >= 8
    assert all(w >= cols[i].least for i, w in narrow)


async def test_case_at_80x24_footer_starts_with_f1_and_body_lists_the_steps(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        number = cases.list_cases(app.session, status="received", limit=1)[0]["number"]
        app.open_case(number)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseDetailScreen)
        keys = list(screen.query(FooterKey))
        assert keys[0].action == "help"
        assert walker.screen_text(app).splitlines()[-1].lstrip().startswith("F1 帮助")
        footer = keys[0].parent
        wanted = {a.binding.action for a in screen.active_bindings.values() if a.binding.show}
        assert len(keys) < len(wanted), "at 80 columns some keys are left to F1"
        assert all(k.region.right <= footer.region.right for k in keys)  # none cut in the middle
        line = str(screen.query_one("#case-keys", Static).content)
        allowed = [(k, d) for k, e, d in ACTIONS if screen.check_action("event", (e.value,))]
        assert allowed and "S 上报乡镇" in line
        for k, _, d in ACTIONS:
            assert (f"{k.upper()} {d}" in line) == ((k, d) in allowed), (k, d, line)
        assert "G 结果送达" not in line  # not decided yet
        timeline = screen.query_one("#timeline", DataTable)
        assert len(timeline.columns) == 4 and sum(c.get_render_width(timeline) for c in timeline.columns.values()) <= 80
        # F1 shows every step the footer had no room for.
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert {d for _, d in allowed} <= {d for _, d in app.screen.keys}


async def test_notice_after_saving_an_intake_does_not_cover_the_result(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await intake_with_item(pilot)
        assert isinstance(screen, IntakeScreen)
        screen.query_one("#materials", SelectionList).select("申请人居民身份证")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.pause(0.3)
        assert screen.saved is not None
        result = screen.query_one("#intake-result", Static)
        toasts = list(app.screen.query(Toast))
        assert toasts, ([n.message for n in app._notifications], app.screen.query("*"))
        for toast in toasts:
            assert not toast.region.overlaps(result.region), (toast.region, result.region)


async def test_tables_fit_80_columns_and_show_all_at_120(tmp_path):
    station_dir, _ = _prepare(tmp_path)
    for size, all_shown in (((80, 24), False), ((120, 40), True)):
        app = app_for(station_dir, user="zhanzhang")
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for key, table_id in (("f6", "#ledger-entries"), ("f10", "#board")):
                await pilot.press(key)
                await settle(pilot)
                table = app.screen.query_one(table_id, DataTable)
                widths = [c.get_render_width(table) for c in table.columns.values()]
                assert sum(widths) <= size[0], (table_id, widths)
                assert all(c.width >= 4 for c in table.columns.values())
                if table_id == "#ledger-entries":  # nine columns need 101 cells: at 80 the least needed are left out
                    assert (len(table.columns) == 9) == all_shown, (size, [str(c.label) for c in table.columns.values()])
                    assert {"户主", "身份证", "金额(元)", "状态"} <= {str(c.label) for c in table.columns.values()}
                else:  # the title shrinks instead
                    assert len(table.columns) == 5
                assert table.row_count >= 1
