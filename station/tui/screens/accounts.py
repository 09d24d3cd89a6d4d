"""Users and passwords from the app (用户与密码): everyone changes their own password; the
supervisor (站长) adds users, restores a stopped one, changes a role and resets a password.

Every change goes through ``station.services.users`` — the same functions ``station user …``
calls, with the same strength rules (zxcvbn, ``station.core.passphrase``) and the same audit
entries. Scrypt makes each save take a moment and a role change may re-encrypt the store, so the
service runs in a worker; the strength of a new password is told as it is typed.

``AccountSection`` (my password, for everyone) and ``UserAdmin`` (the supervisor's buttons under
the users table) are the pieces 设置 mounts; the dialogs are below them.
"""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from station.core.models import Role
from station.errors import AuthFailed, FieldError, StationError
from station.services import users
from station.tui.base import error_label, say, show_field_errors
from station.tui.compact import Button, Input, Select


class AccountSection(Vertical):
    """我的密码: the logged-in user's own password change."""

    DEFAULT_CSS = "AccountSection { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("我的密码", classes="section")
        yield Button("修改我的密码", id="change-my-password")

    @on(Button.Pressed, "#change-my-password")
    def _change(self) -> None:
        session = self.app.session
        self.app.push_screen(PasswordForm(session.user.username, session.user.display_name, own=True))


class UserAdmin(Horizontal):
    """The supervisor's buttons for the users table of 设置 (the table is the screen's ``#users-table``)."""

    DEFAULT_CSS = "UserAdmin { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Button("添加用户", id="add-user")
        yield Button("恢复所选用户", id="activate-user")
        yield Button("更改所选角色", id="role-user")
        yield Button("重设所选密码", id="reset-user")
        yield Button("查看恢复码", id="show-recovery")

    def _selected(self) -> dict | None:
        table = self.screen.query_one("#users-table", DataTable)
        if table.row_count == 0:
            return None
        username = str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        return next((u for u in users.list_users(self.app.session) if u["username"] == username), None)

    def _refresh(self, changed: bool | None = None) -> None:
        fill = getattr(self.screen, "_fill_users", None)
        if changed and fill is not None:
            fill()

    @on(Button.Pressed, "#add-user")
    def _add(self) -> None:
        self.app.push_screen(AddUserForm(), self._refresh)

    @on(Button.Pressed, "#activate-user")
    def _activate(self) -> None:
        user = self._selected()
        if user is None:
            return
        if user["active"]:
            self.notify(f"{user['display_name']}({user['username']})在用,不需要恢复", title="用户")
            return
        self.app.push_screen(PasswordForm(user["username"], user["display_name"], activate=True), self._refresh)

    @on(Button.Pressed, "#reset-user")
    def _reset(self) -> None:
        user = self._selected()
        if user is None:
            return
        if not user["active"]:
            self.notify("已停用的用户请用“恢复所选用户”并设置新密码", title="用户")
            return
        own = user["username"] == self.app.session.user.username
        self.app.push_screen(PasswordForm(user["username"], user["display_name"], own=own), self._refresh)

    @on(Button.Pressed, "#show-recovery")
    def _recovery(self) -> None:
        from station.tui.screens.case_detail import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self._reveal_recovery()
        self.app.push_screen(Confirm("显示恢复码?恢复码能重设任何站长的密码,查看将记入审计。请确认周围无人旁观。"), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="keys")
    def _reveal_recovery(self) -> None:
        try:
            code = users.recovery_code(self.app.session)  # supervisors only, audited (recovery.reveal)
        except StationError as exc:
            self.app.call_from_thread(self.app.show_error, exc)
            return
        from station.tui.screens.settings import RecoveryCodeScreen
        self.app.call_from_thread(self.app.push_screen, RecoveryCodeScreen(code, new=False))

    @on(Button.Pressed, "#role-user")
    def _role(self) -> None:
        user = self._selected()
        if user is None:
            return
        from station.tui.screens.case_detail import Confirm
        new = Role.CLERK if user["role"] == Role.SUPERVISOR.value else Role.SUPERVISOR
        extra = "原站长知道恢复码,将同时更换数据库密钥和恢复码。" if new == Role.CLERK else "站长可以管理用户、锁定台账。"
        question = f"把 {user['display_name']}({user['username']})改为{new.label}?{extra}"

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_role(user["username"], new)
        self.app.push_screen(Confirm(question), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="keys")
    def _set_role(self, username: str, role: Role) -> None:
        # Demoting a supervisor re-encrypts the store with a new key: seconds, so off the UI thread.
        try:
            code = users.set_role(self.app.session, username, role)
        except StationError as exc:
            self.app.call_from_thread(self.app.show_error, exc)
            return
        self.app.call_from_thread(self._role_done, username, role, code)

    def _role_done(self, username: str, role: Role, code: str | None) -> None:
        self._refresh(True)
        self.notify(f"{username} 现在是{role.label}" + (",数据库密钥和恢复码已更换" if code else ""), title="用户", timeout=8)
        if code:
            from station.tui.screens.settings import RecoveryCodeScreen
            self.app.push_screen(RecoveryCodeScreen(code))


class _PasswordDialog(ModalScreen[bool]):
    """A dialog with a new password typed twice, its strength told as it is typed."""

    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "保存")]

    def password_fields(self) -> ComposeResult:
        yield Label("新密码(至少8位,可用几个拼音词加数字):")
        yield Input(id="new-password", password=True)
        yield error_label("passphrase")
        yield Label("再输入一次新密码:")
        yield Input(id="new-password-again", password=True)
        yield error_label("again")

    def buttons(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button("保存 (Ctrl+S)", id="save-password", variant="primary")
            yield Button("取消", id="cancel-password")

    def context(self) -> tuple[str, str]:
        """(login name, person's name): words the password must not be made of."""
        raise NotImplementedError

    @on(Input.Changed, "#new-password")
    def _strength(self, event: Input.Changed) -> None:
        label = self.query_one("#err-passphrase", Label)
        if not event.value:
            say(label, "")
            return
        username, name = self.context()
        problems = users.passphrase_problems(self.app.session, username, name, event.value)
        say(label, problems[0].message if problems else "✓ 密码强度足够")
        label.set_class(not problems, "ok")

    @on(Button.Pressed, "#cancel-password")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#save-password")
    def _pressed(self) -> None:
        self.action_save()

    def new_password(self) -> str | None:
        """The new password when both copies agree; else the error beside the second."""
        new = self.query_one("#new-password", Input).value
        if new != self.query_one("#new-password-again", Input).value:
            show_field_errors(self, [FieldError("again", "mismatch", "两次输入的新密码不一致")])
            return None
        return new

    def action_save(self) -> None:
        raise NotImplementedError

    @work(thread=True, exclusive=True, exit_on_error=False, group="password")
    def run_service(self, fn, message: str) -> None:
        try:
            fn()
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._done, message)

    def _failed(self, exc: StationError) -> None:
        self.query_one("#save-password", Button).disabled = False
        # The live check said "strong enough" in green; what the service refuses is said in red.
        self.query_one("#err-passphrase", Label).set_class(False, "ok")
        left = show_field_errors(self, exc.details or [])
        if left or not exc.details:
            self.app.show_error(exc)

    def _done(self, message: str) -> None:
        self.app.notify(message, title="用户与密码", timeout=8)
        self.dismiss(True)

    def start(self, fn, message: str) -> None:
        self.query_one("#save-password", Button).disabled = True
        self.run_service(fn, message)


class PasswordForm(_PasswordDialog):
    """修改密码: one's own (old password first), a supervisor's reset of another's, or restoring a
    stopped user with a new password."""

    def __init__(self, username: str, display_name: str, own: bool = False, activate: bool = False):
        super().__init__()
        self.username, self.display_name, self.own, self.activate = username, display_name, own, activate

    def compose(self) -> ComposeResult:
        title = ("恢复用户 " if self.activate else "修改密码 " if self.own else "重设密码 ") + f"{self.display_name}({self.username})"
        with Vertical(classes="dialog", id="password-form"):
            yield Static(title, classes="dialog-title")
            if self.own:
                yield Label("原密码:")
                yield Input(id="old-password", password=True)
                yield error_label("old")
            yield from self.password_fields()
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#old-password" if self.own else "#new-password", Input).focus()

    def context(self) -> tuple[str, str]:
        return self.username, self.display_name

    def action_save(self) -> None:
        new = self.new_password()
        if new is None:
            return
        show_field_errors(self, [])
        session = self.app.session
        if self.activate:
            self.start(lambda: users.activate(session, self.username, new), f"已恢复 {self.username},可用新密码登录")
        elif self.own:
            old = self.query_one("#old-password", Input).value
            self.start(lambda: self._own(session, new, old), "密码已修改,下次登录和解锁请用新密码")
        else:
            self.start(lambda: users.change_passphrase(session, self.username, new), f"{self.username} 的密码已重设")

    def _own(self, session, new: str, old: str) -> None:
        try:
            users.change_passphrase(session, self.username, new, old_passphrase=old)
        except AuthFailed as exc:  # said beside the old password, where the mistake is
            raise AuthFailed(exc.title, [FieldError("old", "wrong", exc.title)]) from None


class AddUserForm(_PasswordDialog):
    """添加用户 (站长): login name, name, role, password twice."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="add-user-form"):
            yield Static("添加用户", classes="dialog-title")
            yield Label("登录名(用于登录:小写字母开头,可含数字):")
            yield Input(id="username", restrict=r"[a-z0-9_.\-]*")
            yield error_label("username")
            yield Label("姓名:")
            yield Input(id="display_name")
            yield error_label("display_name")
            yield Label("角色:")
            yield Select([(r.label, r.value) for r in Role], value=Role.CLERK.value, allow_blank=False, id="role")
            yield from self.password_fields()
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def context(self) -> tuple[str, str]:
        return self.query_one("#username", Input).value.strip(), self.query_one("#display_name", Input).value.strip()

    def action_save(self) -> None:
        new = self.new_password()
        if new is None:
            return
        show_field_errors(self, [])
        username, name = self.context()
        role = Role(self.query_one("#role", Select).value)
        session = self.app.session
        self.start(lambda: users.add(session, username, name, role, new), f"已添加{role.label} {name}({username})")
