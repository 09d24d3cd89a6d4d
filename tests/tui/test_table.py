"""The case list's table draws plain cells itself (``station.tui.table``): the picture must be
exactly Textual's, character by character and style by style, for every kind of cell."""
from __future__ import annotations

import pytest
from rich.segment import Segment
from textual.app import App
from textual.widgets import DataTable

from station.tui.table import Table

CELLS = ["BE0001-2026-000001", "2026-11-20", "张秀英", "欧阳秀英", "最低生活保障申请", "最低生活保障申请(城乡困难家庭)",
         "已受理·超期", "待补齐", "", "a", "杨光明", "x" * 40, "中a中b中c中d中e中f中g中h中i中j", "更多…",
         "[b]粗体[/b]", ":smile: 笑", "tab\there", "半角 全角 混排 ABC", "ＡＢＣ"]
WIDTHS = [18, 10, 6, 20, 12, 16, 8, 7]


def _picture(lines: list[list[Segment]]) -> list[list[tuple[str, object]]]:
    """Each line as (character, style) per character: what the terminal shows, however the segments are cut."""
    return [[(ch, seg.style) for seg in line for ch in seg.text] for line in lines]


class _Both(App):
    def compose(self):
        yield Table(id="ours", zebra_stripes=True, cursor_type="row")
        yield DataTable(id="textual", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for w in WIDTHS:
                table.add_column("列", width=w)
            for i, value in enumerate(CELLS):
                table.add_row(*[value] * len(WIDTHS), key=str(i))


async def _pictures(pilot, table: DataTable, style, cursor: bool, hover: bool) -> list:
    table.focus()  # the cursor's colours depend on the focus: each table is drawn while it has it
    await pilot.pause()
    table._show_hover_cursor = True
    out = []
    for row in range(len(CELLS)):
        for col, width in enumerate(WIDTHS):
            table._clear_caches()
            out.append(((CELLS[row], width), _picture(table._render_cell(row, col, style, width + 2, cursor, hover))))
    return out


@pytest.mark.parametrize("cursor,hover", [(False, False), (True, False), (False, True), (True, True)])
async def test_plain_cells_look_exactly_as_textual_draws_them(cursor, hover):
    app = _Both()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        style = app.query_one("#textual").rich_style  # the same base style for both: only the drawing differs
        ours = await _pictures(pilot, app.query_one("#ours", Table), style, cursor, hover)
        textual = await _pictures(pilot, app.query_one("#textual", DataTable), style, cursor, hover)
        assert len(ours) == len(CELLS) * len(WIDTHS)
        for (cell, mine), (_, theirs) in zip(ours, textual, strict=True):
            assert mine == theirs, cell


async def test_the_fast_way_is_taken_for_plain_text():
    app = _Both()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        ours = app.query_one("#ours", Table)
        called = []
        original = DataTable._render_cell
        DataTable._render_cell = lambda self, *a, **k: called.append(a[:2]) or original(self, *a, **k)
        try:
            ours._cell_render_cache.clear()
            ours._render_cell(0, 0, ours.rich_style, 20)  # plain: drawn here
            ours._render_cell(14, 0, ours.rich_style, 20)  # markup: Textual's way
        finally:
            DataTable._render_cell = original
        assert called == [(14, 0)]


async def _garbage_after_a_new_page(table_class) -> int:
    """Objects the garbage collector has to find after one page replaced another."""
    import gc

    class One(App):
        def compose(self):
            yield table_class(cursor_type="row", zebra_stripes=True)

    app = One()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(DataTable)
        for w in WIDTHS:
            table.add_column("列", width=w)
        for page in range(2):
            gc.collect()
            gc.disable()  # what this page leaves, counted below, not collected on the way
            try:
                table.clear()
                for i in range(50):
                    table.add_row(f"BE0001-2026-{page:02d}{i:04d}", "2026-11-20", "张秀英", "最低生活保障申请", "已受理", "2026-12-01",
                                  "杨光明", "x")
                await pilot.pause()
            finally:
                gc.enable()
        gc.disable()
        try:
            table.clear()
            await pilot.pause()
            return gc.collect()
        finally:
            gc.enable()


async def test_a_new_page_leaves_little_for_the_garbage_collector():
    ours, textual = await _garbage_after_a_new_page(Table), await _garbage_after_a_new_page(DataTable)
    assert ours < textual / 3, (ours, textual)
