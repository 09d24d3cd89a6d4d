"""The console's screens: 登录, 总览 (stations at a glance), 待办 (the queue) and one case with
its actions. Queries run in workers; writes go through the hub's services only."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Static
from textual.widgets.option_list import Option

from station.core.cases import EventType, Status
from station.errors import StationError
from station.tui.base import Dialog, say, show_field_errors
from station.tui.compact import Button, Checkbox, Footer, Input, OptionList, Select
from sync.hub import views

PAGE = 100


class LoginScreen(Screen):
    """选择工作人员,输入密码"""

    BINDINGS = [("escape", "app.quit", "退出")]

    def __init__(self, users: list[str]):
        super().__init__()
        self.users = users

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box", classes="dialog"):
            yield Static("乡镇便民服务中心 · 工作台登录", classes="dialog-title")
            yield Label("选择工作人员(↑↓):")
            yield OptionList(*[Option(u, id=u) for u in self.users], id="login-user")
            yield Label("密码:")
            yield Input(password=True, id="login-pass", placeholder="输入密码后按回车")
            yield Label("", id="login-error", classes="field-error")
            yield Button("登录", id="login-go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#login-user", OptionList).highlighted = 0
        self.query_one("#login-pass", Input).focus()

    @on(OptionList.OptionSelected, "#login-user")
    def _user_chosen(self) -> None:
        self.query_one("#login-pass", Input).focus()

    @on(Input.Submitted, "#login-pass")
    @on(Button.Pressed, "#login-go")
    def _go(self) -> None:
        users = self.query_one("#login-user", OptionList)
        passphrase = self.query_one("#login-pass", Input).value
        if users.highlighted is None or not passphrase:
            say(self.query_one("#login-error", Label), "请选择工作人员并输入密码")
            return
        say(self.query_one("#login-error", Label), "正在解锁…")
        self.query_one("#login-go", Button).disabled = True
        self._unlock(self.users[users.highlighted], passphrase)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _unlock(self, username: str, passphrase: str) -> None:
        # The key derivation is deliberately slow: off the UI thread, once per session.
        try:
            hub = self.app.home.unlock(username, passphrase)
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc.title)
        else:
            self.app.call_from_thread(self.app.logged_in, hub)

    def _failed(self, message: str) -> None:
        say(self.query_one("#login-error", Label), message)
        self.query_one("#login-go", Button).disabled = False
        field = self.query_one("#login-pass", Input)
        field.value = ""
        field.focus()


class ConsoleScreen(Screen):
    @property
    def hub(self):
        return self.app.hub


class OverviewScreen(ConsoleScreen):
    """总览:各服务站最近联系、待下发、搁置、在办与超期"""

    BINDINGS = [("r", "refresh", "刷新"), ("enter", "open_station", "该站待办"), ("s", "settings", "设置")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="hub-state", classes="status-line")
        yield Static("", id="overview-summary", classes="status-line")
        yield DataTable(id="stations", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#stations", DataTable)
        # 80 columns: nine narrow columns (a silent station's contact says how long, in red).
        for label, width in (("编码", 7), ("服务站", 8), ("最近联系", 16), ("待发", 4), ("暂存", 4), ("搁置", 4),
                             ("在办", 4), ("超期", 4), ("差评未访", 8)):
            table.add_column(label, width=width)
        table.focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="overview")
    def _load(self) -> None:
        today = self.app.today()
        rows = views.overview(self.hub, today)
        state = views.hub_state(self.hub, self.app.started, self.app.config.now())
        self.app.call_from_thread(self._show, rows, state, views.silent_days(self.hub))

    def _show(self, rows: list[dict], state: str, limit: int) -> None:
        self.query_one("#hub-state", Static).update(state)
        table = self.query_one("#stations", DataTable)
        table.clear()
        silent = 0
        for r in rows:
            style = "bold red" if r["silent"] else ""
            silent += r["silent"]
            if r["status"] != "active":
                contact = {"pending": "待登记", "revoked": "已停用"}.get(r["status"], r["status"])
            elif r["silent_days"] is None:
                contact = "从未联系"
            else:
                via = {"http": "网", "stick": "盘"}.get(r["last_via"] or "", "")
                contact = r["last_seen"][5:10] + (f" 失联{r['silent_days']}天" if r["silent"] else " " + r["last_seen"][11:16]) + via
            cells = [r["code"], r["name"], contact, r["waiting"], r["held"], r["quarantined"], r["open"], r["overdue"],
                     r["bad_ratings"]]
            table.add_row(*[Text(str(c), style=style) for c in cells], key=r["code"])
        overdue = sum(r["overdue"] for r in rows)
        self.query_one("#overview-summary", Static).update(
            f"服务站 {len(rows)} 个 · 超过{limit}天未联系 {silent} 个 · 超期件 {overdue} 件 · 网=联网 盘=U盘 · 回车看该站")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "settings":
            return self.hub.allowed("station.manage")
        return True

    def action_settings(self) -> None:
        self.app.push_screen(SettingsForm(), lambda done: done and self.action_refresh())

    def action_open_station(self) -> None:
        table = self.query_one("#stations", DataTable)
        if table.row_count:
            code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.push_screen(QueueScreen(station=code))

    @on(DataTable.RowSelected, "#stations")
    def _selected(self) -> None:
        self.action_open_station()


class QueueScreen(ConsoleScreen):
    """待办:各站上报的代办件,最早到期的在前"""

    BINDINGS = [("escape", "app.go('overview')", "返回"), ("n", "page(1)", "下一页"), ("p", "page(-1)", "上一页"),
                ("ctrl+f", "focus_filters", "筛选")]

    def __init__(self, station: str | None = None):
        super().__init__()
        self.station = station
        self.page = 0
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="filters"):
            yield Select([], prompt="全部服务站", id="f-station")
            yield Select([], prompt="全部事项", id="f-item")
            yield Select([(s.label, s.value) for s in views.QUEUE_STATUS_CHOICES], prompt="待乡镇办理", id="f-status")
            yield Checkbox("只看超期", id="f-overdue")
        yield Static("", id="page-info", classes="status-line")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        stations = [(f"{s['code']} {s['name']}", s["code"]) for s in self.hub.visible_stations()]
        select = self.query_one("#f-station", Select)
        select.set_options(stations)
        if self.station:
            select.value = self.station
        # The catalog's names (not a DISTINCT over every case: that reads the whole table).
        self.cal = views.calendar(self.hub)  # read once per visit; it remembers the days it has counted
        self.query_one("#f-item", Select).set_options([(i.name, i.name) for i in views.catalog(self.hub).items])
        table = self.query_one("#queue", DataTable)
        for label, width in (("件号", 18), ("群众", 6), ("事项", 14), ("状态", 10), ("期限", 10), ("剩余", 6)):
            table.add_column(label, width=width)
        table.focus()
        self.reload()

    def filters(self) -> views.QueueFilter:
        def chosen(sel: str):
            value = self.query_one(sel, Select).value
            return value if isinstance(value, str) else None
        return views.QueueFilter(station=chosen("#f-station"), item=chosen("#f-item"), status=chosen("#f-status"),
                                 overdue=self.query_one("#f-overdue", Checkbox).value)

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _filter_changed(self) -> None:
        self.page = 0
        self.reload()

    def reload(self) -> None:
        self.query_one("#page-info", Static).update("正在查询…")
        self._load(self.filters(), self.page)

    def action_refresh(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue")
    def _load(self, f: views.QueueFilter, page: int) -> None:
        today = self.app.today()
        rows = views.queue(self.hub, today, f, limit=PAGE, offset=page * PAGE, cal=self.cal)
        total = views.queue_count(self.hub, today, f)
        self.app.call_from_thread(self._show, rows, total, page)

    def _show(self, rows: list[dict], total: int, page: int) -> None:
        self.total = total
        table = self.query_one("#queue", DataTable)
        table.clear()
        for r in rows:
            left = "—" if r["days_left"] is None else (f"超{-r['days_left']}天" if r["overdue"] else f"{r['days_left']}天")
            style = "bold red" if r["overdue"] else ""
            table.add_row(r["number"], r["resident_name"], r["item_name"], r["status_label"], r["due_on"] or "待补齐",
                          Text(left, style=style), key=r["number"])
        pages = max(1, -(-total // PAGE))
        self.query_one("#page-info", Static).update(f"共{total}件 · 第{page + 1}/{pages}页 · 剩余为工作日 · 回车打开")

    def action_page(self, step: int) -> None:
        pages = max(1, -(-self.total // PAGE))
        new = min(max(self.page + step, 0), pages - 1)
        if new != self.page:
            self.page = new
            self.reload()

    def action_focus_filters(self) -> None:
        self.query_one("#f-station", Select).focus()

    @on(DataTable.RowSelected, "#queue")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.app.open_case(event.row_key.value)


_ACTION_KEYS = {EventType.ACCEPTED: "accept", EventType.RETURNED: "return_case", EventType.DECIDED: "decide",
                EventType.FORWARDED: "forward"}


class CaseScreen(ConsoleScreen):
    """一件:群众(已遮蔽)、材料、扫描件、时间线和可办的操作"""

    BINDINGS = [("escape", "app.pop_screen", "返回"), ("a", "accept", "受理"), ("t", "return_case", "退回补正"),
                ("d", "decide", "办理结果"), ("f", "forward", "转报县级"), ("o", "open_scan", "打开扫描件")]

    def __init__(self, number: str):
        super().__init__()
        self.number = number
        self.view: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with VerticalScroll(id="case-body"):
            yield Static("", id="case-head")
            yield Static("", id="case-resident")
            yield Static("", id="case-materials")
            yield Label("扫描件(回车或 O 打开):", classes="section")
            yield OptionList(id="attachments")
            yield Label("时间线:", classes="section")
            yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#timeline", DataTable)
        for label, width in (("日期", 10), ("步骤", 10), ("来源", 8), ("说明", 36)):
            table.add_column(label, width=width)
        try:
            self.refresh_case()
        except StationError as exc:  # not there, or another township's case (staff_policy): say so and go back
            self.app.show_error(exc)
            self.app.call_later(self.app.pop_screen)

    def refresh_case(self) -> None:
        self.view = views.case_view(self.hub, self.number, self.app.today())
        v, s = self.view, self.view["state"]
        due = f"期限 {s.due_on}" + (f"(剩{v['days_left']}个工作日)" if v["days_left"] is not None and v["days_left"] >= 0
                                    else f"(已超期{-v['days_left']}个工作日)" if v["days_left"] is not None else "")
        level = f" · {v['deciding_level']}级办理" if v["deciding_level"] else ""
        self.query_one("#case-head", Static).update(
            f"{s.number} · {s.item_name} · {s.status.label}{level}\n{v['row']['station']} 收件 {s.received_on} · "
            + (due if s.due_on else "期限待材料补齐后起算"))
        r = v["resident"]
        self.query_one("#case-resident", Static).update(f"群众:{r['name']}  身份证 {r['id_masked']}" + (f"  电话 {r['phone']}" if r["phone"] else ""))
        mats = "  ".join(("✓" if got else "✗") + m for m, got in v["materials"]) or "无"
        extra = ""
        if s.returned_reason and s.status == Status.RETURNED:
            extra = f"\n退回原因:{s.returned_reason}"
        if s.forwarded_on and not s.decision:
            extra += f"\n已于 {s.forwarded_on} 转报县级,县级结果回来后按 D 登记"
        if s.decision:
            extra += f"\n办理结果:{'准予' if s.decision == 'approved' else '不予'} · {s.decision_summary}"
        self.query_one("#case-materials", Static).update(f"材料:{mats}{extra}")
        attachments = self.query_one("#attachments", OptionList)
        attachments.clear_options()
        attachments.add_options([Option(f"{a['name']}({a['size'] // 1024 + 1} KB)", id=a["id"]) for a in v["attachments"]]
                                or [Option("(没有扫描件)", id="-", disabled=True)])
        table = self.query_one("#timeline", DataTable)
        table.clear()
        for e in v["timeline"]:
            table.add_row(e["on"][:10], e["label"], e["node"], e["detail"])
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = {_ACTION_KEYS[a] for a in (self.view or {}).get("actions", [])}
        if action in _ACTION_KEYS.values():
            return action in allowed and self.hub.role is not None
        if action == "open_scan":
            return bool((self.view or {}).get("attachments"))
        return True

    def _record(self, etype: EventType, payload: dict) -> bool:
        try:
            state = self.hub.case_event(self.number, etype.value, payload, today=self.app.today())
        except StationError as exc:
            self.app.show_error(exc)
            return False
        self.app.notify(f"{state.number}:{state.status.label}(服务站下次同步时送达)", title=etype.label)
        self.refresh_case()
        return True

    def action_accept(self) -> None:
        self._record(EventType.ACCEPTED, {})

    def action_forward(self) -> None:
        self._record(EventType.FORWARDED, {})

    def action_return_case(self) -> None:
        self.app.push_screen(ReturnForm(self))

    def action_decide(self) -> None:
        self.app.push_screen(DecideForm(self))

    def action_open_scan(self) -> None:
        attachments = self.query_one("#attachments", OptionList)
        if attachments.highlighted is None:
            attachments.highlighted = 0
        self._open(attachments.get_option_at_index(attachments.highlighted).id)

    @on(OptionList.OptionSelected, "#attachments")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    def _open(self, attachment_id: str | None) -> None:
        if not attachment_id or attachment_id == "-":
            return
        meta = next(a for a in self.view["attachments"] if a["id"] == attachment_id)
        data = self.hub.store.attachment_data(attachment_id)
        # A private folder: the scan shows a resident's papers.
        folder = Path(tempfile.mkdtemp(prefix="township-scan-"))
        target = folder / Path(meta["name"]).name
        target.write_bytes(data)
        os.chmod(target, 0o600)
        self.app.open_file(target)
        self.app.notify(f"已用系统查看器打开 {target.name}", title="扫描件")


class _CaseForm(Dialog[bool]):
    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "保存")]

    def __init__(self, case: CaseScreen):
        super().__init__()
        self.case = case

    def _save(self, etype: EventType, payload: dict) -> None:
        try:
            self.case.hub.case_event(self.case.number, etype.value, payload, today=self.app.today())
        except StationError as exc:
            if show_field_errors(self, exc.details) or not exc.details:
                self.app.show_error(exc)
            return
        self.app.notify(f"{self.case.number}:已记录“{etype.label}”(服务站下次同步时送达)", title=etype.label)
        self.case.refresh_case()
        self.dismiss(True)


class ReturnForm(_CaseForm):
    """退回补正:写明需要群众补正的内容"""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"退回补正 · {self.case.number}", classes="dialog-title")
            yield Label("退回原因(群众需要补正什么):")
            yield Input(id="reason", placeholder="如:户口簿复印件不清晰,请重新复印")
            yield Label("", id="err-reason", classes="field-error")
            yield Label("Ctrl+S 保存 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def action_save(self) -> None:
        self._save(EventType.RETURNED, {"reason": self.query_one("#reason", Input).value.strip()})


class DecideForm(_CaseForm):
    """办理结果:准予或不予,并写明说明"""

    def compose(self) -> ComposeResult:
        county = self.case.view["state"].forwarded_on is not None
        with Vertical(classes="dialog"):
            yield Static(f"{'县级' if county else ''}办理结果 · {self.case.number}", classes="dialog-title")
            yield Select([("准予", "approved"), ("不予", "rejected")], value="approved", allow_blank=False, id="outcome")
            yield Label("", id="err-outcome", classes="field-error")
            yield Label("结果说明(不予时写明理由):")
            yield Input(id="summary", placeholder="如:符合条件,准予办理")
            yield Label("", id="err-summary", classes="field-error")
            yield Label("Ctrl+S 保存 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#outcome", Select).focus()

    @on(Input.Submitted, "#summary")
    def action_save(self) -> None:
        payload = {"outcome": self.query_one("#outcome", Select).value, "summary": self.query_one("#summary", Input).value.strip()}
        if self.case.view["state"].forwarded_on is not None:
            payload["county"] = True  # the county's result, recorded by the township
        self._save(EventType.DECIDED, payload)


def system_viewer(path: Path) -> None:
    """Open a file with the system's viewer (never waits for it)."""
    if sys.platform.startswith("win"):
        os.startfile(path)  # type: ignore[attr-defined]
    else:
        subprocess.Popen(["open" if sys.platform == "darwin" else "xdg-open", str(path)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class SettingsForm(Dialog[bool]):
    """设置:失联提醒天数、当作U盘监视的文件夹"""

    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "保存")]

    def compose(self) -> ComposeResult:
        from sync.hub import settings
        now = settings.current(self.app.hub)
        with Vertical(classes="dialog"):
            yield Static("工作台设置", classes="dialog-title")
            yield Label("服务站超过几天未联系时突出显示:")
            yield Input(str(now["silent_days"]), id="silent_days")
            yield Label("", id="err-silent_days", classes="field-error")
            yield Label("当作U盘监视的文件夹(可空):")
            yield Input(now["stick_folder"], id="stick_folder")
            yield Label("", id="err-stick_folder", classes="field-error")
            yield Label("Ctrl+S 保存 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#silent_days", Input).focus()

    def action_save(self) -> None:
        from sync.hub import settings
        hub = self.app.hub
        try:
            settings.set_silent_days(hub, self.query_one("#silent_days", Input).value)
            settings.set_stick_folder(hub, self.query_one("#stick_folder", Input).value)
        except StationError as exc:
            if show_field_errors(self, exc.details) or not exc.details:
                self.app.show_error(exc)
            return
        self.dismiss(True)
