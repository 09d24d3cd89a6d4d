"""The case list (代办件): filters, and one page at a time so 200,000 cases stay fast.

Rows are never all loaded: each page is a LIMIT/OFFSET query over the indexed filters, run
in a worker; typing in a filter restarts the worker (``exclusive``), so the screen never waits.
"""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Label, Static

from station.core.cases import Status
from station.services import cases, users
from station.tui.base import StationScreen, parse_day
from station.tui.compact import Checkbox, Footer, Input, Select
from station.tui.table import Table

PAGE = 50


class CaseListScreen(StationScreen):
    """代办件列表"""

    BINDINGS = [("escape", "app.go('today')", "返回"), ("n", "page(1)", "下一页"), ("p", "page(-1)", "上一页"),
                ("ctrl+f", "focus_filters", "筛选"),
                Binding("ctrl+e", "export_ratings", "导出好差评", show=False)]

    def action_export_ratings(self) -> None:
        from station.tui.screens.ratings import RatingsExportForm
        self.app.push_screen(RatingsExportForm())

    def __init__(self, preset: dict | None = None, preset_label: str | None = None):
        super().__init__()
        self.page = 0
        self.total = 0
        # Opened from 今日's "更多…": that category only, what is due first on top.
        self.preset = dict(preset or {})
        self.preset_label = preset_label

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="filters"):
            yield Select([(s.label, s.value) for s in Status], prompt="全部状态", id="f-status")
            yield Select([], prompt="全部事项", id="f-item")
            yield Select([], prompt="全部代办员", id="f-owner")
            yield Checkbox("只看超期", id="f-overdue")
        with Horizontal(id="filters2"):
            yield Label("收件日期起")
            yield Input(placeholder="例:2026-01-01", id="f-from")
            yield Label("止")
            yield Input(placeholder="例:2026-12-31", id="f-to")
            yield Static("", id="page-info")
        yield Table(id="cases", cursor_type="row", zebra_stripes=True)  # each page redrawn in a few ms
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#f-item", Select).set_options([(f"{i.name}", i.code) for i in self.session.catalog.items])
        self.query_one("#f-owner", Select).set_options([(u["display_name"], u["username"]) for u in users.list_users(self.session)])
        self.wide = None
        if self.preset.get("overdue"):
            self.query_one("#f-overdue", Checkbox).value = True
        if self.preset.get("status"):
            self.query_one("#f-status", Select).value = self.preset["status"]
        self._columns()
        self.query_one("#cases", DataTable).focus()
        self.reload()

    def on_resize(self) -> None:
        if self._columns():
            self.reload()

    def _columns(self) -> bool:
        """Received date and clerk only where there is room: at 80 columns the rest must fit."""
        wide = self.size.width >= 110
        if wide == self.wide:
            return False
        self.wide = wide
        table = self.query_one("#cases", DataTable)
        table.clear(columns=True)
        table.add_column("件号", width=18)
        if wide:
            table.add_column("收件", width=10)
        table.add_column("群众", width=6)
        table.add_column("事项", width=20 if wide else 12)
        table.add_column("状态", width=16)
        table.add_column("期限", width=10)
        if wide:
            table.add_column("代办员", width=8)
        return True

    def filters(self) -> dict:
        def chosen(sel: str):
            value = self.query_one(sel, Select).value
            return value if isinstance(value, str) else None
        return {**self.preset, "status": chosen("#f-status"), "item": chosen("#f-item"), "owner": chosen("#f-owner"),
                "overdue": self.query_one("#f-overdue", Checkbox).value,
                "received_from": parse_day(self.query_one("#f-from", Input).value),
                "received_to": parse_day(self.query_one("#f-to", Input).value)}

    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(Input.Changed)
    def _filter_changed(self) -> None:
        self.page = 0
        self.reload()

    def reload(self) -> None:
        self.query_one("#page-info", Static).update("正在查询…")
        self._load(self.filters(), self.page)

    @work(thread=True, exclusive=True, exit_on_error=False, group="case-list")
    def _load(self, filters: dict, page: int) -> None:
        rows = cases.list_cases(self.session, limit=PAGE, offset=page * PAGE, order="due" if self.preset else "newest", **filters)
        total = cases.count_cases(self.session, **filters)
        owners = users.display_names(self.session)
        self.app.call_from_thread(self._show, rows, total, page, owners)

    def _show(self, rows: list[dict], total: int, page: int, owners: dict[str, str]) -> None:
        # No store access here: the UI thread must never wait for a worker's query.
        self.total = total
        table = self.query_one("#cases", DataTable)
        table.clear()
        for r in rows:
            status = r["status_label"] + ("·超期" if r["overdue"] else "")
            cells = [r["number"], r["received_on"], r["resident_name"], r["item_name"], status, r["due_on"] or "待补齐",
                     owners.get(r["owner"], r["owner"])]
            if not self.wide:
                cells = [cells[0], *cells[2:6]]
            table.add_row(*cells, key=r["number"])
        pages = max(1, -(-total // PAGE))
        label = f"{self.preset_label}·按期限 " if self.preset_label else ""
        self.query_one("#page-info", Static).update(f"{label}共{total}件 · 第{page + 1}/{pages}页")

    def action_page(self, step: int) -> None:
        pages = max(1, -(-self.total // PAGE))
        new = min(max(self.page + step, 0), pages - 1)
        if new != self.page:
            self.page = new
            self.reload()

    def action_focus_filters(self) -> None:
        self.query_one("#f-status", Select).focus()

    @on(DataTable.RowSelected, "#cases")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.app.open_case(event.row_key.value)
