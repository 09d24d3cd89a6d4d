"""Today (今日): what needs the clerk now. Counts refresh every few seconds and on return."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Static

from station.services import backup, cases, syncstate
from station.tui.base import StationScreen
from station.tui.compact import Footer
from station.tui.screens.backup import describe_age

REFRESH_S = 15
CARDS = [("received_today", "今日收件"), ("due_soon", "即将到期"), ("overdue", "已超期"),
         ("results_to_deliver", "待送达结果"), ("follow_ups_open", "差评待回访")]


class TodayScreen(StationScreen):
    """今日概览"""

    BINDINGS = [("enter", "open", "打开"), ("r", "refresh", "刷新"), ("u", "app.go('usb')", "U盘"), ("s", "app.sync_now", "同步"),
                ("l", "app.go('ledger')", "台账"), ("b", "app.go('bulletin')", "公示栏")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="cards"):
            for key, label in CARDS:
                yield Static(f"{label}\n—", id=f"card-{key}", classes="card")
        yield Static("需要关注的代办件(超期、即将到期、待送达、待回访):", classes="section")
        yield DataTable(id="attention", cursor_type="row", zebra_stripes=True)
        yield Static("", id="calendar-warning", classes="warning")
        yield Static("", id="sync-line", classes="status-line")
        yield Static("", id="backup-line", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#attention", DataTable)
        table.add_column("件号", width=18, key="number")
        table.add_column("群众", width=8)
        table.add_column("事项", width=20)
        table.add_column("情况", width=12)
        table.add_column("期限", width=10)
        self.set_interval(REFRESH_S, self.action_refresh)
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        if self.session is not None:
            self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="today")
    def _load(self) -> None:
        s = self.session
        counts = cases.counts_for_today(s)
        rows = ([("已超期", r) for r in cases.list_cases(s, overdue=True, limit=20)]
                + [("即将到期", r) for r in cases.list_cases(s, due_soon=True, limit=20)]
                + [("待送达", r) for r in cases.list_cases(s, status="decided", limit=20)]
                + [("差评待回访", r) for r in cases.list_cases(s, follow_up_open=True, limit=20)])
        sync = syncstate.describe(syncstate.status(s))
        self.app.call_from_thread(self._show, counts, rows, sync, backup.last_age(s))

    def _show(self, counts: dict, rows: list, sync: str, backup_age: backup.BackupAge) -> None:
        for key, label in CARDS:
            card = self.query_one(f"#card-{key}", Static)
            card.update(f"{label}\n{counts[key]}")
            card.set_class(key in ("overdue", "follow_ups_open") and counts[key] > 0, "alarm")
        table = self.query_one("#attention", DataTable)
        keep = table.cursor_row
        table.clear()
        seen = set()
        for why, r in rows:
            if r["number"] in seen:
                continue
            seen.add(r["number"])
            table.add_row(r["number"], r["resident_name"], r["item_name"], why, r["due_on"] or "待补齐", key=r["number"])
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        self.query_one("#calendar-warning", Static).update(counts["calendar_warning"] or "")
        self.query_one("#sync-line", Static).update("同步:" + sync)
        line = self.query_one("#backup-line", Static)
        line.update(describe_age(backup_age))
        line.set_class(backup_age.due, "warning")  # a disk that dies takes everything since the last one

    @on(DataTable.RowSelected, "#attention")
    def _row(self, event: DataTable.RowSelected) -> None:
        self.app.open_case(event.row_key.value)

    def action_open(self) -> None:
        table = self.query_one("#attention", DataTable)
        if table.row_count:
            self.app.open_case(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
