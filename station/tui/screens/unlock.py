"""Unlock (登录) and lock (锁屏) screens."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static
from textual.widgets.option_list import Option

from station.errors import StationError
from station.tui.base import say
from station.tui.compact import Button, Input, OptionList


class UnlockScreen(Screen):
    """Choose the user, type the passphrase."""

    BINDINGS = [("escape", "app.quit", "退出")]

    def __init__(self, users: list[str], hint: str | None = None):
        super().__init__()
        self.users = users
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock-box", classes="dialog"):
            yield Static("村便民服务站 · 登录", classes="dialog-title")
            yield Label("选择用户(↑↓):")
            yield OptionList(*[Option(u, id=u) for u in self.users], id="unlock-user")
            yield Label("密码:")
            yield Input(password=True, id="unlock-pass", placeholder="输入密码后按回车")
            yield Label("", id="unlock-error", classes="field-error")
            yield Button("登录", id="unlock-go", variant="primary")
            if self.hint:
                yield Static(self.hint, classes="hint")

    def on_mount(self) -> None:
        users = self.query_one("#unlock-user", OptionList)
        users.highlighted = 0
        self.query_one("#unlock-pass", Input).focus()

    @on(OptionList.OptionSelected, "#unlock-user")
    def _user_chosen(self) -> None:
        self.query_one("#unlock-pass", Input).focus()

    @on(Input.Submitted, "#unlock-pass")
    @on(Button.Pressed, "#unlock-go")
    def _go(self) -> None:
        users = self.query_one("#unlock-user", OptionList)
        if users.highlighted is None:
            say(self.query_one("#unlock-error", Label), "请先选择用户")
            return
        username = self.users[users.highlighted]
        passphrase = self.query_one("#unlock-pass", Input).value
        if not passphrase:
            say(self.query_one("#unlock-error", Label), "请输入密码")
            return
        say(self.query_one("#unlock-error", Label), "正在解锁…")
        self.query_one("#unlock-go", Button).disabled = True
        self._unlock(username, passphrase)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _unlock(self, username: str, passphrase: str) -> None:
        # Scrypt takes a deliberate ~0.3 s: off the UI thread so the screen stays alive.
        try:
            session = self.app.open_session(username, passphrase)
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc.title)
        else:
            self.app.call_from_thread(self.app.show_unlocked, session)

    def _failed(self, message: str) -> None:
        say(self.query_one("#unlock-error", Label), message)
        self.query_one("#unlock-go", Button).disabled = False
        field = self.query_one("#unlock-pass", Input)
        field.value = ""
        field.focus()


class LockScreen(ModalScreen[bool]):
    """Covers everything after idle time or Ctrl+L; the same user's passphrase opens it again."""

    BINDINGS = [("ctrl+u", "switch_user", "切换用户")]

    def __init__(self, username: str, display_name: str):
        super().__init__()
        self.username = username
        self.display_name = display_name

    def compose(self) -> ComposeResult:
        with Vertical(id="lock-box", classes="dialog"):
            yield Static("已锁屏", classes="dialog-title")
            yield Label(f"当前用户:{self.display_name}({self.username})")
            yield Input(password=True, id="lock-pass", placeholder="输入密码后按回车解锁")
            yield Label("", id="lock-error", classes="field-error")
            yield Label("Ctrl+U 切换用户(未保存的内容将丢失)", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#lock-pass", Input).focus()

    @on(Input.Submitted, "#lock-pass")
    def _go(self, event: Input.Submitted) -> None:
        say(self.query_one("#lock-error", Label), "正在验证…")
        self._check(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, passphrase: str) -> None:
        try:
            self.app.verify_passphrase(self.username, passphrase)
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc.title)
        else:
            self.app.call_from_thread(self.dismiss, True)

    def _failed(self, message: str) -> None:
        say(self.query_one("#lock-error", Label), message)
        self.query_one("#lock-pass", Input).value = ""

    def action_switch_user(self) -> None:
        self.app.switch_user()
