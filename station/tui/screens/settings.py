"""Settings (设置): the scanner's folder, (站长) the idle-lock time, and backups: the reminder,
(站长) how many to keep on a stick, and the way to make one now (Ctrl+B)."""
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

    BINDINGS = [("escape", "app.go('today')", "返回"), ("ctrl+b", "app.go('backup')", "备份到U盘")]

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
            yield Static("备份", classes="section")
            yield Label("多少天没有备份就在“今日”提醒(1–90):")
            yield Input(id="backup_remind_days", restrict=r"[0-9]*")
            yield error_label("backup_remind_days")
            yield Button("保存提醒天数", id="save-remind")
            yield Label("U盘上保留几份备份(1–30,站长设置;更早的自动删除):")
            yield Input(id="backup_keep", restrict=r"[0-9]*")
            yield error_label("backup_keep")
            yield Button("保存保留份数", id="save-keep")
            yield Button("现在备份到U盘 (Ctrl+B)", id="backup-now", variant="primary")
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
        self.query_one("#backup_remind_days", Input).value = str(settings.backup_remind_days(self.session))
        keep = self.query_one("#backup_keep", Input)
        keep.value = str(settings.backup_keep(self.session))
        keep.disabled = not supervisor
        self.query_one("#save-keep", Button).display = supervisor
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

    @on(Button.Pressed, "#save-remind")
    @on(Input.Submitted, "#backup_remind_days")
    def _save_remind(self) -> None:
        raw = self.query_one("#backup_remind_days", Input).value
        if self._saved(lambda: settings.set_backup_remind_days(self.session, int(raw) if raw else 0)):
            self.notify(f"超过 {raw} 天没有备份时在“今日”提醒", title="已保存")

    @on(Button.Pressed, "#save-keep")
    @on(Input.Submitted, "#backup_keep")
    def _save_keep(self) -> None:
        raw = self.query_one("#backup_keep", Input).value
        if self._saved(lambda: settings.set_backup_keep(self.session, int(raw) if raw else 0)):
            self.notify(f"U盘上保留最近 {raw} 份备份", title="已保存")

    @on(Button.Pressed, "#backup-now")
    def _backup_now(self) -> None:
        self.app.action_go("backup")

    def _saved(self, fn) -> bool:
        try:
            fn()
        except StationError as exc:
            show_field_errors(self, exc.details or [])
            if not exc.details:
                self.notify(exc.title, severity="error")
            return False
        show_field_errors(self, [])
        return True
