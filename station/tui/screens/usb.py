"""U盘交换: export what the township has not acknowledged, with progress; import its answers.

Removable drives are listed as psutil sees them; a folder can be typed instead (a shared folder,
or a drive psutil does not flag), and is remembered. A returning stick is also noticed by the
app on its own (see ``StationApp.poll_sticks``).
"""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Header, Label, ProgressBar, Static
from textual.widgets.option_list import Option

from station.errors import StationError
from station.services import settings
from station.tui.base import StationScreen, error_label, say
from station.tui.compact import Button, Footer, Input, OptionList


class UsbScreen(StationScreen):
    """U盘导出与导入"""

    BINDINGS = [("escape", "app.go('today')", "返回"), ("ctrl+e", "export", "导出"), ("ctrl+o", "import_ack", "导入确认"),
                ("ctrl+g", "enrol", "登记到乡镇")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="usb-enrol", classes="warning")
        yield Static("选择U盘(↑↓),或在下面输入文件夹:", classes="section")
        yield OptionList(id="drives", classes="picker")
        yield Input(placeholder="U盘或文件夹的路径(插上U盘后会列在上面)", id="target")
        yield error_label("target")
        yield Button("导出到U盘 (Ctrl+E)", id="export", variant="primary")
        yield Button("导入乡镇确认 (Ctrl+O)", id="import")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static("", id="usb-result", classes="result")
        yield Footer()

    def on_mount(self) -> None:
        from sync.usb import removable_drives
        drives = removable_drives()
        self.drives = drives
        options = self.query_one("#drives", OptionList)
        options.add_options([Option(str(d), id=str(i)) for i, d in enumerate(drives)] or [Option("(没有发现U盘)", disabled=True)])
        remembered = settings.get(self.session, "usb_folder")
        self.query_one("#target", Input).value = str(drives[0]) if drives else (remembered or "")
        self.query_one("#progress", ProgressBar).display = False
        self._enrol_line()

    def on_screen_resume(self) -> None:
        self._enrol_line()  # back from 登记到乡镇
        self.refresh_bindings()

    def _enrol_line(self) -> None:
        line = self.query_one("#usb-enrol", Static)
        line.update("" if self.app.enrolled() else "本站尚未登记到乡镇,还不能导出。按 Ctrl+G 登记到乡镇(输入登记码,用U盘上的登记文件或联网)。")
        line.display = not self.app.enrolled()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "enrol":  # offered (and in the footer) only while the station is not enrolled
            return not self.app.enrolled()
        return True

    def action_enrol(self) -> None:
        self.app.action_enrol()

    @on(OptionList.OptionSelected, "#drives")
    def _drive(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#target", Input).value = str(self.drives[int(event.option.id)])

    def _target(self) -> Path | None:
        value = self.query_one("#target", Input).value.strip()
        label = self.query_one("#err-target", Label)
        if not value or not Path(value).is_dir():
            say(label, "请选择U盘,或输入存在的文件夹")
            return None
        say(label, "")
        return Path(value)

    @on(Button.Pressed, "#export")
    def action_export(self) -> None:
        if not self.app.enrolled():
            self.app.action_enrol()  # exporting needs the township's keys: enrol first, right here
            return
        target = self._target()
        if target is not None:
            bar = self.query_one("#progress", ProgressBar)
            bar.display = True
            bar.update(total=None, progress=0)
            self._export(target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="usb")
    def _export(self, target: Path) -> None:
        from sync import usb
        bar = self.query_one("#progress", ProgressBar)
        try:
            result = usb.export_to(self.session, target, progress=lambda done, total: self.app.call_from_thread(
                bar.update, total=max(total, 1), progress=done))
            with self.session.store.transaction() as db:  # remember a typed folder for next time
                db.execute("INSERT INTO settings (key, value) VALUES ('usb_folder', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           (str(target),))
        except StationError as exc:
            self.app.call_from_thread(self._show, f"导出失败:{exc.title}")
            return
        self.app.call_from_thread(self._show, f"已导出到 {result.folder}:数据包 {len(result.files)} 个,共 {result.records} 条记录。"
                                              "请把U盘交乡镇导入;带回后插上即可自动导入确认。")

    @on(Button.Pressed, "#import")
    def action_import_ack(self) -> None:
        target = self._target()
        if target is not None:
            self._import(target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="usb")
    def _import(self, target: Path) -> None:
        from sync import usb
        try:
            r = usb.import_acks(self.session, target)
        except StationError as exc:
            self.app.call_from_thread(self._show, f"导入失败:{exc.title}")
            return
        self.app.call_from_thread(self._show, describe_ack(r))

    def _show(self, text: str) -> None:
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#usb-result", Static).update(text)
        self.query_one("#usb-result", Static).display = True


def describe_ack(r) -> str:
    if not r.files:
        return "U盘上没有本站的乡镇确认文件"
    text = f"已导入乡镇确认:确认至第 {r.acked_through} 号记录,接收乡镇记录 {r.applied} 条"
    text += "".join(f"\n暂存(等待更早的数据):{h}" for h in r.held)
    text += "".join(f"\n拒收 {x['file']}:{x['reason']}" for x in r.rejected)
    return text
