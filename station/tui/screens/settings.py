"""Settings (设置): the scanner's folder; for a supervisor (站长) the idle-lock time and the
users — deactivate one (停用, which also changes the database key) or change the key (更换密钥);
and backups: the reminder, (站长) how many to keep on a stick, and the way to make one now (Ctrl+B).
Key changes re-encrypt the whole file, so they run in a worker; a new recovery code is shown
once in its own dialog."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Header, Label, Static

from station.errors import StationError
from station.services import settings, users
from station.tui.base import Dialog, StationScreen, error_label, show_field_errors
from station.tui.compact import Button, Footer, Input
from station.tui.screens.accounts import AccountSection, UserAdmin
from station.tui.screens.case_detail import Confirm
from station.tui.screens.enrol import EnrolSection
from station.tui.screens.print_settings import PrintSettings
from station.tui.screens.settings_profile import ProfileSection


class RecoveryCodeScreen(Dialog[None]):
    """The new recovery code, shown once to be copied for the township's safe."""

    BINDINGS = [("escape", "dismiss", "关闭")]

    def __init__(self, code: str, new: bool = True):
        super().__init__()
        self.code = code
        self.new = new  # False: the current code, shown again (设置 → 查看恢复码)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("新的恢复码" if self.new else "恢复码", classes="dialog-title")
            yield Static(self.code, id="new-recovery-code")
            yield Static(("旧恢复码已作废。请抄写后交乡镇保险柜保管" if self.new else "请核对乡镇保险柜里的恢复码")
                         + "(站长以后可在 设置 → 查看恢复码 再看,查看记入审计)。", classes="hint")
            yield Static("Esc 关闭", classes="hint")


class SettingsScreen(StationScreen):
    """设置"""

    BINDINGS = [("escape", "app.go('today')", "返回"), ("ctrl+b", "app.go('backup')", "备份到U盘")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with VerticalScroll(id="settings-form"):
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
            with Vertical(id="users-section"):
                yield Static("用户与密钥(站长)", classes="section")
                yield DataTable(id="users-table", cursor_type="row", zebra_stripes=True)
                with Horizontal(classes="buttons"):
                    yield Button("停用所选用户", id="deactivate-user")
                    yield Button("更换数据库密钥", id="rekey")
                yield UserAdmin()
            yield AccountSection()
            yield ProfileSection()
            yield EnrolSection()
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
            yield PrintSettings()
            yield Static("考核规则(乡镇下发,只读)", classes="section")
            yield Static("", id="rules-info")
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
        self.query_one("#users-section").display = supervisor
        if supervisor:
            table = self.query_one("#users-table", DataTable)
            table.add_columns("登录名", "姓名", "角色", "状态")
            self._fill_users()
        self.query_one("#backup_remind_days", Input).value = str(settings.backup_remind_days(self.session))
        keep = self.query_one("#backup_keep", Input)
        keep.value = str(settings.backup_keep(self.session))
        keep.disabled = not supervisor
        self.query_one("#save-keep", Button).display = supervisor
        self.query_one("#rules-info", Static).update("\n".join(f"{k}:{v}" for k, v in self.session.rules().lines()))
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

    # --- users and keys (站长) ---------------------------------------------------------------
    def _fill_users(self) -> None:
        table = self.query_one("#users-table", DataTable)
        table.clear()
        for u in users.list_users(self.session):
            table.add_row(u["username"], u["display_name"], u["role_label"], "在用" if u["active"] else "已停用", key=u["username"])

    def _selected_user(self) -> str | None:
        table = self.query_one("#users-table", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    @on(Button.Pressed, "#deactivate-user")
    def _ask_deactivate(self) -> None:
        username = self._selected_user()
        if username is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_key_change(username)
        self.app.push_screen(Confirm(f"停用 {username}?停用后不能再登录,并将更换数据库密钥(其保留的旧密钥文件随之作废)。"), answered)

    @on(Button.Pressed, "#rekey")
    def _ask_rekey(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run_key_change(None)
        self.app.push_screen(Confirm("更换数据库密钥?新密钥只交给在用的用户和恢复码,其他人无需重新输入密码。"), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="keys")
    def _run_key_change(self, username: str | None) -> None:
        # The whole database is re-encrypted: seconds on a big station, so off the UI thread.
        from station.services.rekey import rekey
        self.app.call_from_thread(self.notify, "正在更换数据库密钥…", title="用户与密钥", timeout=3)
        try:
            if username is None:
                code, message = rekey(self.session), "数据库密钥已更换。"
            else:
                result = users.deactivate(self.session, username)
                code = result["recovery_code"]
                message = f"已停用 {username}。" + ("数据库密钥已更换。" if result["rekeyed"] else f"注意:{result['rekey_blocked']}")
        except StationError as exc:
            self.app.call_from_thread(self.app.show_error, exc)
            return
        self.app.call_from_thread(self._key_changed, message, code)

    def _key_changed(self, message: str, code: str | None) -> None:
        self._fill_users()
        self.notify(message, title="用户与密钥", timeout=8)
        if code:
            self.app.push_screen(RecoveryCodeScreen(code))
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
