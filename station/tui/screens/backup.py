"""备份: the whole station onto a USB stick, in a worker thread with progress, result in Chinese.

The stick is picked the way the U盘 screen finds sticks (removable drives psutil sees), or typed;
the folder last used is remembered. The work itself is ``station.services.backup.create``.
"""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Header, Label, ProgressBar, Static
from textual.widgets.option_list import Option

from station.errors import StationError
from station.services import backup, backup_age, settings
from station.tui.base import StationScreen, error_label, say
from station.tui.compact import Button, Footer, Input, OptionList
from station.tui.screens.today import describe_age

STAGES = {"copy": "正在复制数据库…", "verify": "正在读回校验…"}


class BackupScreen(StationScreen):
    """备份到U盘"""

    BINDINGS = [("escape", "app.go('today')", "返回"), ("ctrl+s", "start", "开始备份")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("选择U盘(↑↓ 回车),或在下面输入文件夹:", classes="section")
        yield OptionList(id="backup-drives", classes="picker")
        yield Input(placeholder="U盘或文件夹的路径(插上U盘后会列在上面)", id="backup-target")
        yield error_label("backup-target")
        yield Button("开始备份 (Ctrl+S)", id="backup-start", variant="primary")
        yield Static("", id="backup-stage", classes="status-line")
        yield ProgressBar(id="backup-progress", show_eta=False)
        yield Static("", id="backup-result", classes="result")
        yield Static("", id="backup-last", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        from sync.usb import removable_drives
        self.drives = removable_drives()
        options = self.query_one("#backup-drives", OptionList)
        options.add_options([Option(str(d), id=str(i)) for i, d in enumerate(self.drives)]
                            or [Option("(没有发现U盘)", disabled=True)])
        remembered = settings.get(self.session, "backup_folder")
        target = self.query_one("#backup-target", Input)
        target.value = str(self.drives[0]) if self.drives else (remembered or "")
        if not self.drives:  # nothing to pick: the clerk types (or confirms) the folder straight away
            target.focus()
        self.query_one("#backup-progress", ProgressBar).display = False
        self.query_one("#backup-result", Static).display = False
        self.query_one("#backup-last", Static).update(
            f"{describe_age(backup_age.last_age(self.session))}\nU盘上保留 {settings.backup_keep(self.session)} 份,更早的自动删除。"
            "备份没有密码或恢复码打不开;请把U盘放在服务站以外的安全地方。")

    @on(OptionList.OptionSelected, "#backup-drives")
    def _drive(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#backup-target", Input).value = str(self.drives[int(event.option.id)])
        self.action_start()

    @on(Button.Pressed, "#backup-start")
    @on(Input.Submitted, "#backup-target")
    def action_start(self) -> None:
        value = self.query_one("#backup-target", Input).value.strip()
        label = self.query_one("#err-backup-target", Label)
        if not value or not Path(value).is_dir():
            say(label, "请选择U盘,或输入存在的文件夹")
            return
        say(label, "")
        self.query_one("#backup-start", Button).disabled = True
        self.query_one("#backup-result", Static).display = False
        bar = self.query_one("#backup-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self._run(Path(value))

    @work(thread=True, exclusive=True, exit_on_error=False, group="backup")
    def _run(self, target: Path) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, stage, done, total)
        try:
            result = backup.create(self.session, target, progress=progress)
            with self.session.store.transaction() as db:  # offer the same folder next time
                db.execute("INSERT INTO settings (key, value) VALUES ('backup_folder', ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(target),))
        except StationError as exc:
            self.app.call_from_thread(self._done, f"备份失败:{exc}", False)
            return
        text = (f"备份完成:{result.folder}\n{backup.counts_text(result.manifest['counts'])}。"
                + (f"\n已删除较早的备份 {len(result.pruned)} 份。" if result.pruned else "")
                + "\n请拔下U盘,放在服务站以外的安全地方(如站长家中)。")
        if not result.audit_ok:
            text += "\n注意:本站审计链校验有问题,这份备份恢复时会被拒绝,请联系乡镇。"
        self.app.call_from_thread(self._done, text, True)

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.query_one("#backup-stage", Static).update(STAGES.get(stage, ""))
        self.query_one("#backup-progress", ProgressBar).update(total=max(total, 1), progress=done)

    def _done(self, text: str, ok: bool) -> None:
        self.query_one("#backup-progress", ProgressBar).display = False
        self.query_one("#backup-stage", Static).update("")
        self.query_one("#backup-start", Button).disabled = False
        result = self.query_one("#backup-result", Static)
        result.update(text)
        result.set_class(not ok, "failed")
        result.display = True
        self.query_one("#backup-last", Static).update(describe_age(backup_age.last_age(self.session)))
        self.notify(text.splitlines()[0], title="备份", severity="information" if ok else "error", timeout=8)
