"""农村基础设施建设台账: projects with budget, payments, progress and acceptance (站长)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Label, Static

from station.tui.base import FormScreen, StationScreen, error_label
from station.tui.columns import SCROLLBAR, Column, fit, pick, set_columns
from station.tui.compact import Button, Footer, Input

PROJECT_COLUMNS = [Column("项目", 24, 1, min_width=12), Column("资金来源", 14, 7), Column("施工单位", 12, 8), Column("预算", 12, 5),
                   Column("已付", 12, 6), Column("余额", 12, 4), Column("进度", 5, 2), Column("状态", 6, 3)]


class InfraScreen(StationScreen):
    """基础设施台账"""

    BINDINGS = [("escape", "app.pop_screen", "返回"), ("ctrl+n", "new", "新项目"), ("ctrl+g", "progress", "记录进度"),
                ("ctrl+y", "pay", "记录付款"), ("ctrl+a", "accept", "验收")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="infra-summary", classes="status-line")
        yield DataTable(id="projects", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.shown = set_columns(self.query_one("#projects", DataTable), PROJECT_COLUMNS, self.app.size.width)
        self.reload()

    def on_resize(self, event) -> None:
        if getattr(self, "shown", None) is not None and [i for i, _ in fit(PROJECT_COLUMNS, event.size.width - SCROLLBAR)] != self.shown:
            self.on_mount()

    def reload(self) -> None:
        from ledgers import infra
        table = self.query_one("#projects", DataTable)
        table.clear()
        projects = infra.projects(self.session)
        for p in projects:
            d = p.as_dict()
            table.add_row(*pick([d["name"], d["funding_source"], d["contractor"] or "—", d["budget"], d["paid"], d["remaining"],
                                 f"{d['progress']}%", d["status_label"]], self.shown), key=p.id)
        self.query_one("#infra-summary", Static).update(f"共 {len(projects)} 个项目" if projects else "还没有项目(Ctrl+N 登记)")

    def _selected(self) -> str | None:
        table = self.query_one("#projects", DataTable)
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None

    def check_action(self, action: str, parameters) -> bool | None:
        return self.session.user.is_supervisor if action == "accept" else True

    def _open(self, form) -> None:
        self.app.push_screen(form, lambda ok: ok and self.reload())

    def action_new(self) -> None:
        self._open(ProjectForm())

    def action_progress(self) -> None:
        if (pid := self._selected()):
            self._open(StepForm(pid, "progress"))

    def action_pay(self) -> None:
        if (pid := self._selected()):
            self._open(StepForm(pid, "pay"))

    def action_accept(self) -> None:
        if (pid := self._selected()):
            self._open(StepForm(pid, "accept"))


class ProjectForm(FormScreen):
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("登记基础设施项目", classes="dialog-title")
            for key, label in (("name", "项目名称"), ("funding_source", "资金来源"), ("budget", "预算(元)"), ("contractor", "施工单位")):
                yield Label(label)
                yield Input(id=key)
                yield error_label(key)
            yield Button("保存 (Ctrl+S)", id="save", variant="primary")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from ledgers import infra
        v = {k: self.query_one(f"#{k}", Input).value for k in ("name", "funding_source", "budget", "contractor")}
        self.save_with(lambda: infra.create(self.app.session, v["name"], v["funding_source"], v["budget"], v["contractor"]))


class StepForm(FormScreen):
    """Progress, a payment, or acceptance of one project."""

    FIELDS = {"progress": [("percent", "进度(%)"), ("note", "说明")],
              "pay": [("amount", "金额(元),冲减填负数"), ("payee", "收款单位"), ("reason", "冲减原因")],
              "accept": [("note", "验收意见")]}
    TITLES = {"progress": "记录工程进度", "pay": "记录付款(不能超过预算)", "accept": "记录验收(工程须已完工)"}

    def __init__(self, project_id: str, step: str):
        super().__init__()
        self.project_id = project_id
        self.step = step

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.TITLES[self.step], classes="dialog-title")
            for key, label in self.FIELDS[self.step]:
                yield Label(label)
                yield Input(id=key)
                yield error_label(key)
            yield error_label("project")
            yield Button("保存 (Ctrl+S)", id="save", variant="primary")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from ledgers import infra
        v = {k: self.query_one(f"#{k}", Input).value for k, _ in self.FIELDS[self.step]}
        s, pid = self.app.session, self.project_id
        if self.step == "progress":
            percent = int(v["percent"]) if v["percent"].strip().lstrip("-").isdigit() else -1
            self.save_with(lambda: infra.progress(s, pid, percent, v["note"]))
        elif self.step == "pay":
            self.save_with(lambda: infra.pay(s, pid, v["amount"] or "0", v["payee"], reason=v["reason"]))
        else:
            self.save_with(lambda: infra.accept(s, pid, v["note"]))
