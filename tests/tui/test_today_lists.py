"""今日 hides nothing: each category shows its cases with the oldest due date first, and when there
are more than fit, a "更多…" line opens the case list filtered to that category, oldest due first,
with every one of them across its pages."""
from __future__ import annotations

from textual.widgets import DataTable, Static

from station.services import cases
from station.tui.screens.cases import CaseListScreen
from station.tui.screens.today import PER_CATEGORY, TodayScreen
from tests.tui.conftest import app_for, demo_copy, settle


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_every_overdue_case_is_reachable_from_today_oldest_first(tmp_path, monkeypatch):
    from station.tui.screens import cases as case_list
    monkeypatch.setattr(case_list, "PAGE", 10)  # 38 overdue cases: four pages to walk through
    station_dir = demo_copy(tmp_path, cases=160)
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = app.session
        overdue = cases.count_cases(s, overdue=True)
        assert overdue > PER_CATEGORY  # the demo has more than one screenful: the case the issue found
        every_due = sorted((r["due_on"], r["number"]) for r in cases.list_cases(s, overdue=True, limit=10_000))
        today = app.screen
        assert isinstance(today, TodayScreen)
        table = today.query_one("#attention", DataTable)
        shown = [r for r in rows(table) if r[3] == "已超期"]
        listed = [r for r in shown if r[0] != "更多…"]
        assert [(r[4], r[0]) for r in listed] == every_due[:PER_CATEGORY]  # the oldest due first, not the newest
        more = [r for r in shown if r[0] == "更多…"]
        assert len(more) == 1 and f"还有 {overdue - PER_CATEGORY} 件已超期" in more[0][2]
        table.focus()
        table.move_cursor(row=[r[0] for r in rows(table)].index("更多…"))
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseListScreen)
        assert screen.query_one("#f-overdue").value
        assert f"共{overdue}件" in str(screen.query_one("#page-info", Static).content)
        seen = []
        for _ in range(10):
            seen += [r[0] for r in rows(screen.query_one("#cases", DataTable))]
            if len(seen) >= overdue:
                break
            await pilot.press("n")
            await settle(pilot)
        assert seen == [n for _, n in every_due]  # all of them, in due order, page after page
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)


async def test_each_category_shows_all_or_says_how_many_more(station_dir):
    from station.tui.screens.today import CATEGORIES
    app = app_for(station_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        s = app.session
        table = app.screen.query_one("#attention", DataTable)
        totals = {}
        for key, why, filters in CATEGORIES:
            total = totals[key] = cases.count_cases(s, **filters)
            shown = [r for r in rows(table) if r[3] == why]
            if total <= PER_CATEGORY:
                # every one of them is in the table: under its own words, or once under an earlier
                # category's (a 容缺超期 case that is also due soon is listed once, as 容缺超期)
                on_table = {r[0] for r in rows(table)}
                assert {r["number"] for r in cases.list_cases(s, limit=1000, **filters)} <= on_table, why
                assert all(r[0] != "更多…" for r in shown), why
            else:
                assert len(shown) == PER_CATEGORY + 1 and shown[-1][0] == "更多…", why
                assert f"还有 {total - PER_CATEGORY} 件" in shown[-1][2]
        # the 40-case demo has both kinds: one category over the limit, others under it
        assert any(t > PER_CATEGORY for t in totals.values()) and any(0 < t <= PER_CATEGORY for t in totals.values())
