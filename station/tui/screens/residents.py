"""Residents (群众): find one, see their details (masked) and all their cases.

A supervisor may reveal the full identity number and phone for a stated reason; the reveal
is audited and shown on this screen only, until it is left.
"""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Label, Static

from station.core.masking import mask_id, mask_phone
from station.errors import StationError
from station.services import residents, search
from station.tui.base import Dialog, StationScreen, error_label, show_field_errors
from station.tui.compact import Button, Footer, Input


class ResidentSearchScreen(StationScreen):
    """查找群众"""

    BINDINGS = [("escape", "app.go('today')", "返回")]

    def __init__(self):
        super().__init__()
        self.found: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Input(placeholder="姓名两个字、身份证或电话后几位、件号", id="q")
        yield DataTable(id="found", cursor_type="row", zebra_stripes=True)
        yield Static("", id="found-info", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#found", DataTable)
        table.add_column("姓名", width=8)
        table.add_column("身份证", width=18)
        table.add_column("性别", width=4)
        table.add_column("电话", width=12)
        table.add_column("村民小组", width=8)
        self.query_one("#q", Input).focus()

    @on(Input.Changed, "#q")
    def _typed(self, event: Input.Changed) -> None:
        if len(event.value.strip()) >= 2:
            self._search(event.value)
        else:
            self._too_short(event.value.strip())

    def _too_short(self, query: str) -> None:
        # One character matches half the village or nothing: say what to type instead of an empty list.
        self.query_one("#found", DataTable).clear()
        self.query_one("#found-info", Static).update(
            "请至少输入两个字:姓名中相连的两个字(如“秀英”),或身份证、电话号码的后几位,或件号。" if query else "")

    @on(Input.Submitted, "#q")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter opens the (first) resident found; ↓ goes into the list to choose another."""
        if len(event.value.strip()) >= 2:
            self._search(event.value, open_first=True)  # searched again: Enter may come before the last result
        else:
            self._too_short(event.value.strip())

    def on_key(self, event) -> None:
        if event.key == "down" and self.focused is self.query_one("#q", Input):
            self.query_one("#found", DataTable).focus()
            event.stop()

    @work(thread=True, exclusive=True, exit_on_error=False, group="resident-search")
    def _search(self, query: str, open_first: bool = False) -> None:
        result = search.search(self.session, query, limit=50)
        self.app.call_from_thread(self._show, result, open_first)

    def _show(self, result: dict, open_first: bool = False) -> None:
        table = self.query_one("#found", DataTable)
        table.clear()
        for r in result["residents"]:  # already masked by the service
            table.add_row(r["name"], r["id_number"], r["sex"], r["phone"] or "", r["village_group"] or "", key=r["id"])
        cases_line = "、".join(c["number"] for c in result["cases"][:5])
        found = len(result["residents"])
        self.query_one("#found-info", Static).update(
            (f"找到群众 {found} 人" + (f";相关件号:{cases_line}" if cases_line else "") + "。回车打开群众页,↓ 选择其他。")
            if found or cases_line else f"没有找到“{result['query']}”:可换姓名中另外两个字,或输入身份证、电话号码后几位。")
        if open_first and found:
            self.app.open_resident(result["residents"][0]["id"])
        elif open_first and result["kind"] == "case_number" and result["cases"]:
            self.app.open_case(result["cases"][0]["number"])

    @on(DataTable.RowSelected, "#found")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.app.open_resident(event.row_key.value)


class ResidentScreen(StationScreen):
    """群众信息"""

    BINDINGS = [("escape", "app.pop_screen", "返回"), ("v", "reveal", "查看完整号码")]

    def __init__(self, resident_id: str):
        super().__init__()
        self.resident_id = resident_id
        self.revealed: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("正在读取…", id="resident-facts")
        yield Static("办理过的代办件(回车打开):", classes="section")
        yield DataTable(id="resident-cases", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#resident-cases", DataTable)
        for label, width in (("件号", 18), ("收件", 10), ("事项", 22), ("状态", 12), ("期限", 10)):
            table.add_column(label, width=width)
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        person = residents.get(self.session, self.resident_id)
        rows = residents.cases_of(self.session, self.resident_id)
        self.app.call_from_thread(self._show, person, rows)

    def _show(self, person: dict, rows: list[dict]) -> None:
        self.person = person
        shown = self.revealed or {"id_number": mask_id(person["id_number"]), "phone": mask_phone(person["phone"])}
        self.query_one("#resident-facts", Static).update(
            f"{person['name']} · {person['sex']} · 出生 {person['birth_date']}\n"
            f"身份证 {shown['id_number']} · 电话 {shown['phone'] or '—'}"
            + ("(已按站长要求显示完整号码,已记入审计)" if self.revealed else "") + "\n"
            f"村民小组 {person['village_group'] or '—'} · 住址 {person['address'] or '—'}")
        table = self.query_one("#resident-cases", DataTable)
        table.clear()
        from station.core.cases import Status
        for r in rows:
            table.add_row(r["number"], r["received_on"], r["item_name"], Status(r["status"]).label, r["due_on"] or "待补齐", key=r["number"])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return self.session is not None and self.session.user.is_supervisor  # clerks never see the key
        return True

    def action_reveal(self) -> None:
        def done(numbers: dict | None) -> None:
            if numbers:
                self.revealed = numbers
                self._show(self.person, [])
                self._load()
        self.app.push_screen(RevealForm(self.resident_id), done)

    @on(DataTable.RowSelected, "#resident-cases")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.app.open_case(event.row_key.value)


class RevealForm(Dialog[dict | None]):
    BINDINGS = [("escape", "cancel", "取消")]

    def __init__(self, resident_id: str):
        super().__init__()
        self.resident_id = resident_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("查看完整身份证号码和电话", classes="dialog-title")
            yield Label("查看原因(记入审计):")
            yield Input(id="reason")
            yield error_label("reason")
            yield Button("确认查看", id="reveal-go", variant="warning")

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#reveal-go")
    def _go(self) -> None:
        self._reveal(self.query_one("#reason", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _reveal(self, reason: str) -> None:
        try:
            numbers = residents.reveal(self.app.session, self.resident_id, reason)
        except StationError as exc:
            self.app.call_from_thread(show_field_errors, self, exc.details or [])
        else:
            self.app.call_from_thread(self.dismiss, numbers)

    def action_cancel(self) -> None:
        self.dismiss(None)
