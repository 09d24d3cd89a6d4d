"""账号 (负责人 only): the township's staff accounts — add, change role, deactivate, reactivate —
through ``sync.hub.staff`` (audited under the acting 负责人's name). On a county's hub (townships
added) each account also shows its reach, and a new one may be given one township (范围)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Label, Static

from station.errors import StationError
from station.tui.base import Dialog, show_field_errors
from station.tui.compact import Footer, Input, Select
from sync.hub import county, staff, staff_policy
from sync.hub.console.screens import ConsoleScreen


class StaffScreen(ConsoleScreen):
    """账号:乡镇工作人员及其角色"""

    BINDINGS = [("escape", "app.go('overview')", "返回"), ("a", "add", "添加"), ("o", "role", "改角色"),
                ("x", "deactivate", "停用"), ("v", "activate", "恢复")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="staff-status", classes="status-line")
        yield DataTable(id="staff", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#staff", DataTable)
        self.county = bool(county.townships(self.hub))  # a township's own hub has none: no 范围 column
        for label, width in (("登录名", 16), ("姓名", 10), ("角色", 6), ("状态", 6), *((("范围", 10),) if self.county else ())):
            table.add_column(label, width=width)
        table.focus()
        self.refresh_list()

    def refresh_list(self) -> None:
        table = self.query_one("#staff", DataTable)
        table.clear()
        for r in staff.members(self.hub):
            table.add_row(r["username"], r["display_name"], r["role_label"], "在用" if r["active"] else "已停用",
                          *((r["reach_label"],) if self.county else ()), key=r["username"])
        self.query_one("#staff-status", Static).update("A 添加 · O 经办人/负责人互换 · X 停用 · V 恢复(设新密码)· 均记入审计")

    def _chosen(self) -> str | None:
        table = self.query_one("#staff", DataTable)
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None

    def _run(self, fn, done: str) -> None:
        try:
            fn()
        except StationError as exc:
            self.app.show_error(exc)
            return
        self.app.notify(done, title="账号")
        self.refresh_list()

    def action_role(self) -> None:
        name = self._chosen()
        if name:
            row = self.hub.store.staff_member(name)
            new = staff_policy.HANDLER if row["role"] == staff_policy.LEAD else staff_policy.LEAD
            self._run(lambda: staff.set_role(self.hub, name, new), f"{name} 现在是{staff_policy.ROLES[new]}")

    def action_deactivate(self) -> None:
        name = self._chosen()
        if name:
            self._run(lambda: staff.deactivate(self.hub, name), f"已停用 {name}")

    def action_add(self) -> None:
        self.app.push_screen(StaffForm(None), lambda done: done and self.refresh_list())

    def action_activate(self) -> None:
        name = self._chosen()
        if name:
            self.app.push_screen(StaffForm(name), lambda done: done and self.refresh_list())


class StaffForm(Dialog[bool]):
    """添加工作人员,或为停用的账号设新密码并恢复"""

    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "保存")]

    def __init__(self, activating: str | None):
        super().__init__()
        self.activating = activating

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"恢复账号 {self.activating}" if self.activating else "添加工作人员", classes="dialog-title")
            if not self.activating:
                yield Input(id="username", placeholder="登录名(小写字母开头)")
                yield Label("", id="err-username", classes="field-error")
                yield Input(id="display_name", placeholder="姓名")
                yield Label("", id="err-display_name", classes="field-error")
                yield Select([("经办人", staff_policy.HANDLER), ("负责人", staff_policy.LEAD)], value=staff_policy.HANDLER,
                             allow_blank=False, id="role")
                townships = county.townships(self.app.hub)
                if townships:  # a county's hub: the whole county, or one township's stations only
                    yield Select([("范围:全县", ""), *((f"范围:{t['code']} {t['name']}", t["code"]) for t in townships)],
                                 value="", allow_blank=False, id="township")
            yield Input(id="passphrase", password=True, placeholder="密码(至少8位)")
            yield Input(id="again", password=True, placeholder="再输入一次")
            yield Label("", id="err-passphrase", classes="field-error")
            yield Label("Ctrl+S 保存 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def _value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def action_save(self) -> None:
        from station.errors import FieldError
        hub = self.app.hub
        if self._value("passphrase") != self._value("again"):
            show_field_errors(self, [FieldError("passphrase", "mismatch", "两次输入的密码不一致")])
            return
        try:
            if self.activating:
                staff.activate(hub, self.activating, self._value("passphrase"))
            else:
                chosen = self.query("#township")
                staff.add(hub, self._value("username").strip(), self._value("display_name"),
                          self.query_one("#role", Select).value, self._value("passphrase"),
                          township=(chosen.first(Select).value or None) if chosen else None)
        except StationError as exc:
            if show_field_errors(self, exc.details) or not exc.details:
                self.app.show_error(exc)
            return
        self.dismiss(True)

    @on(Input.Submitted, "#again")
    def _submitted(self) -> None:
        self.action_save()
