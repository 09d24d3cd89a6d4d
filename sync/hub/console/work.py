"""批量, 统计 and 搁置: the console's faces of the hub's bulk decision, statistics and quarantine
services (``sync.hub.decisions``, ``sync.hub.stats``, ``sync.hub.quarantine``)."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, Static

from station.errors import StationError
from station.tui.base import Dialog, say
from station.tui.compact import Footer, Input, Select
from sync.hub.console.screens import ConsoleScreen


class BulkScreen(ConsoleScreen):
    """批量:导出待办模板,导入填好的办理结果"""

    # Priority: these keys work while the file field has the focus (where Ctrl+E/Ctrl+A would move the cursor).
    BINDINGS = [("escape", "app.go('overview')", "返回"), Binding("ctrl+e", "export", "导出模板", priority=True),
                Binding("ctrl+t", "check", "检查文件", priority=True), Binding("ctrl+a", "import_all", "全部导入", priority=True),
                Binding("ctrl+o", "import_valid", "只导入正确的行", priority=True)]

    def __init__(self):
        super().__init__()
        self.report = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Label("表格文件(.xlsx):", classes="section")
        yield Input(id="bulk-file", placeholder="例:E:\\待办办件.xlsx")
        yield Static("Ctrl+E 把当前待办导出为模板 · 填好“处理”和“理由”后 Ctrl+T 检查", id="bulk-status", classes="status-line")
        yield DataTable(id="bulk-report", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#bulk-report", DataTable)
        table.add_column("位置", width=22)
        table.add_column("问题", width=50)
        self.query_one("#bulk-file", Input).focus()

    def path(self) -> Path:
        return Path(self.query_one("#bulk-file", Input).value.strip()).expanduser()

    def _status(self, text: str) -> None:
        self.query_one("#bulk-status", Static).update(text)

    def action_export(self) -> None:
        from sync.hub import decisions
        try:
            n = decisions.export_queue(self.hub, self.path())
        except StationError as exc:
            self.app.show_error(exc)
            return
        self._status(f"已导出 {n} 件待办到 {self.path()}:填写“处理”(受理/退回补正/准予/不予)和“理由”后 Ctrl+T 检查")

    @on(Input.Submitted, "#bulk-file")
    def action_check(self) -> None:
        from sync.hub import decisions
        try:
            self.report = decisions.check_decisions(self.hub, self.path(), today=self.app.today())
        except StationError as exc:
            self.app.show_error(exc)
            return
        self._show(self.report)

    def _show(self, report) -> None:
        from sync.hub.decisions import where
        table = self.query_one("#bulk-report", DataTable)
        table.clear()
        for e in report.errors:
            table.add_row(Text(where(e), style="red"), e["message"])
        filled = report.rows - report.blank
        if report.applied:
            self._status(f"已记录 {report.applied} 件的处理结果(服务站下次同步时送达)"
                         + (f";{report.error_count} 处有错的行未导入" if report.error_count else ""))
        elif report.error_count:
            self._status(f"填写了处理的 {filled} 行:正确 {len(report.valid)} 行,有错 {report.error_count} 处。"
                         f"Ctrl+A 全部导入(有错时不导入任何一行)· Ctrl+O 只导入正确的 {len(report.valid)} 行")
        else:
            self._status(f"填写了处理的 {filled} 行,全部正确。Ctrl+A 导入")
        if report.errors:
            table.focus()

    def _import(self, mode: str) -> None:
        from sync.hub import decisions
        if self.report is None:
            self.action_check()
            if self.report is None:
                return
        try:
            report = decisions.import_decisions(self.hub, self.path(), mode=mode, today=self.app.today())
        except decisions.DecisionsRefused as exc:
            self._show(exc.report)
            self.app.notify(exc.title, title="未导入", severity="error", timeout=8)
            return
        except StationError as exc:
            self.app.show_error(exc)
            return
        self.report = report
        self._show(report)
        self.app.notify(f"已记录 {report.applied} 件", title="批量办理")

    def action_import_all(self) -> None:
        self._import("all")

    def action_import_valid(self) -> None:
        self._import("valid")


class StatsScreen(ConsoleScreen):
    """统计:各服务站月度收件、办结、按时率、逾期、评价"""

    BINDINGS = [("escape", "app.go('overview')", "返回"), Binding("ctrl+x", "xlsx", "导出表格", priority=True),
                Binding("ctrl+p", "pdf", "打印报表", priority=True)]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="filters"):
            yield Input(f"{self.app.today():%Y-%m}", id="stats-month", placeholder="月份 2026-11")
            yield Select([], prompt="全部服务站", id="stats-station", allow_blank=self.everyone())
            yield Input(id="stats-folder", placeholder="导出到文件夹")
        yield Static("", id="stats-status", classes="status-line")
        yield DataTable(id="stats", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def everyone(self) -> bool:
        return self.hub.allowed("stats.all")

    def on_mount(self) -> None:
        stations = [(f"{s['code']} {s['name']}", s["code"]) for s in self.hub.visible_stations() if s["status"] != "pending"]
        select = self.query_one("#stats-station", Select)
        select.set_options(stations)
        if not self.everyone() and stations:  # 经办人: one station at a time
            select.value = stations[0][1]
        table = self.query_one("#stats", DataTable)
        for label, width in (("服务站", 14), ("收件", 4), ("办结", 4), ("按时率", 6), ("逾期", 4), ("平均工作日", 10),
                             ("差评率", 6), ("回访", 4)):
            table.add_column(label, width=width)
        table.focus()
        self.reload()

    def _station(self) -> str | None:
        value = self.query_one("#stats-station", Select).value
        return value if isinstance(value, str) else None

    @on(Input.Submitted, "#stats-month")
    @on(Select.Changed, "#stats-station")
    def reload(self) -> None:
        from sync.hub import stats
        self.rows = []
        try:
            self.hub.require("stats.own" if self._station() else "stats.all")
            self.rows = stats.monthly(self.hub, self.query_one("#stats-month", Input).value.strip(), self._station(),
                                      today=self.app.today())
        except StationError as exc:
            self.app.show_error(exc)
        table = self.query_one("#stats", DataTable)
        table.clear()

        def pct(v) -> str:
            return "—" if v is None else f"{v}%"
        subtotals = stats.by_township(self.rows)  # a county's hub: each township's 小计, then the county's
        for r in [*self.rows, *subtotals, *([stats.total(self.rows, "全县合计")] if subtotals and not self.hub.township else [])]:
            table.add_row(r["station_label"], r["received"], r["decided"], pct(r["closed_in_time_pct"]), r["overdue"],
                          "—" if r["avg_workdays"] is None else r["avg_workdays"], pct(r["bad_pct"]), r["follow_ups"])
        self.query_one("#stats-status", Static).update(
            f"{len(self.rows)} 个服务站 · 按时率=按时办结/办结 · Ctrl+X 导出表格 · Ctrl+P 打印报表(PDF)")

    def _target(self, suffix: str) -> Path:
        folder = Path(self.query_one("#stats-folder", Input).value.strip() or ".").expanduser()
        return folder / f"月度统计-{self.query_one('#stats-month', Input).value.strip()}{suffix}"

    def action_xlsx(self) -> None:
        from sync.hub import stats
        target = self._target(".xlsx")
        try:
            stats.to_xlsx(self.rows, target)
        except (OSError, StationError) as exc:
            self.app.notify(f"{target}:{getattr(exc, 'strerror', None) or exc}", title="未能导出", severity="error")
            return
        self.app.notify(f"已导出 {target}", title="统计")

    def action_pdf(self) -> None:
        from sync.hub import stats
        target = self._target(".pdf")
        try:
            stats.to_pdf(self.rows, target, self.hub.name, self.hub.user, printed_on=self.app.today())
        except (OSError, StationError) as exc:
            self.app.notify(f"{target}:{getattr(exc, 'strerror', None) or exc}", title="未能生成报表", severity="error")
            return
        self.app.notify(f"已生成 {target},可打印", title="统计")


class QuarantineScreen(ConsoleScreen):
    """搁置:未能接收的记录和暂存的数据包,问题解决后重试"""

    BINDINGS = [("escape", "app.go('overview')", "返回"), ("r", "retry", "重试"), ("x", "discard", "丢弃"),
                ("ctrl+r", "refresh", "刷新")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="quarantine-status", classes="status-line")
        yield DataTable(id="quarantine", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#quarantine", DataTable)
        for label, width in (("类型", 4), ("服务站", 8), ("编号", 9), ("原因", 36), ("能否重试", 16)):
            table.add_column(label, width=width)
        table.focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        from sync.hub import quarantine as q
        table = self.query_one("#quarantine", DataTable)
        table.clear()
        items, held = q.list_quarantined(self.hub), q.list_held(self.hub)
        for r in items:
            table.add_row("记录", r["station"], f"第{r['seq']}号", r["reason"],
                          "可以" if r["retryable"] else Text(r["not_retryable"] or "", style="yellow"), key=f"q:{r['id']}")
        for r in held:
            table.add_row("数据包", r["station"], f"{r['seq_from']}-{r['seq_to']}", r["reason"], f"等第{r['waiting_for']}号",
                          key=f"h:{r['id']}")
        self.query_one("#quarantine-status", Static).update(
            f"搁置的记录 {len(items)} 条 · 暂存的数据包 {len(held)} 个 · R 重试" +
            (" · X 丢弃(须填原因)" if self.hub.allowed("quarantine.discard") else ""))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "discard":
            return self.hub.allowed("quarantine.discard")
        return True

    def _selected(self) -> tuple[str, int] | None:
        table = self.query_one("#quarantine", DataTable)
        if not table.row_count:
            return None
        kind, _, ident = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value.partition(":")
        return kind, int(ident)

    def action_retry(self) -> None:
        from sync.hub import quarantine as q
        chosen = self._selected()
        if chosen is None:
            return
        kind, ident = chosen
        try:
            result = (q.retry_held if kind == "h" else q.retry_quarantined)(self.hub, ident)
        except StationError as exc:
            self.app.show_error(exc)
            return
        if result.applied:
            self.app.notify("已重新接收", title="重试")
        else:
            self.app.notify(result.reason or "", title="仍不能接收", severity="warning", timeout=8)
        self.action_refresh()

    def action_discard(self) -> None:
        chosen = self._selected()
        if chosen is not None:
            self.app.push_screen(DiscardForm(*chosen), lambda done: done and self.action_refresh())


class DiscardForm(Dialog[bool]):
    """丢弃:写明原因(记入审计)"""

    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "丢弃")]

    def __init__(self, kind: str, ident: int):
        super().__init__()
        self.kind, self.ident = kind, ident

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"丢弃{'暂存的数据包' if self.kind == 'h' else '搁置的记录'} {self.ident}", classes="dialog-title")
            yield Input(id="reason", placeholder="丢弃原因(记入审计)")
            yield Label("", id="discard-error", classes="field-error")
            yield Label("Ctrl+S 丢弃 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def action_save(self) -> None:
        from sync.hub import quarantine as q
        hub = self.app.hub

        def may(user: str) -> bool:
            return user == hub.user and hub.allowed("quarantine.discard")
        try:
            (q.discard_held if self.kind == "h" else q.discard_quarantined)(hub, self.ident, self.query_one("#reason", Input).value,
                                                                             hub.user, may)
        except StationError as exc:
            say(self.query_one("#discard-error", Label), "; ".join(d.message for d in exc.details) or exc.title)
            return
        self.app.notify("已丢弃(记入审计)", title="搁置")
        self.dismiss(True)
