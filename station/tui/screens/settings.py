"""Settings (设置): the scanner's folder, and (站长) the idle-lock time."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Header, Label, Static

from station.errors import StationError
from station.services import settings
from station.tui.base import StationScreen, error_label, show_field_errors
from station.tui.compact import Button, Input


class SettingsScreen(StationScreen):
    """设置"""

    BINDINGS = [("escape", "app.go('today')", "返回")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Vertical(id="settings-form"):
            yield Static("扫描件", classes="section")
            yield Label("高拍仪/扫描仪保存文件的文件夹(新文件会提示附加到当前代办件):")
            yield Input(id="scan_folder")
            yield error_label("scan_folder")
            yield Button("保存文件夹", id="save-scan")
            yield Static("自动锁屏", classes="section")
            yield Label("无人操作多少分钟后自动锁屏(1–120,站长设置):")
            yield Input(id="idle_lock_minutes", restrict=r"[0-9]*")
            yield error_label("idle_lock_minutes")
            yield Button("保存锁屏时间", id="save-idle")
            yield Static("", id="settings-info", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        folder = settings.scan_folder(self.session)
        self.query_one("#scan_folder", Input).value = str(folder) if folder else ""
        idle = self.query_one("#idle_lock_minutes", Input)
        idle.value = str(settings.idle_lock_minutes(self.session))
        supervisor = self.session.user.is_supervisor
        idle.disabled = not supervisor
        self.query_one("#save-idle", Button).display = supervisor
        self.query_one("#settings-info", Static).update(
            f"服务站 {self.session.station_name}({self.session.station_code})· 数据目录 {self.app.home.dir}")

    @on(Button.Pressed, "#save-scan")
    @on(Input.Submitted, "#scan_folder")
    def _save_scan(self) -> None:
        try:
            path = settings.set_scan_folder(self.session, self.query_one("#scan_folder", Input).value)
        except StationError as exc:
            show_field_errors(self, exc.details)
            return
        show_field_errors(self, [])
        self.app.start_scan_watch()
        self.notify(f"将监视 {path}", title="已保存")

    @on(Button.Pressed, "#save-idle")
    @on(Input.Submitted, "#idle_lock_minutes")
    def _save_idle(self) -> None:
        raw = self.query_one("#idle_lock_minutes", Input).value
        try:
            minutes = settings.set_idle_lock_minutes(self.session, int(raw) if raw else 0)
        except StationError as exc:
            show_field_errors(self, exc.details or [])
            if not exc.details:
                self.notify(exc.title, severity="error")
            return
        show_field_errors(self, [])
        self.app.idle_minutes = minutes
        self.notify(f"{minutes} 分钟无操作后自动锁屏", title="已保存")
