"""Print keys of the app: every print action asks 打印 or 保存PDF (`PrintDialog`), then builds with
the same ``printouts.render`` the CLI uses and sends the PDF to the printer chosen under 设置
(``printing.send``) or saves it in the PDF folder, offering to open it (`SavedDialog`). Building
and spooling run in a worker (a second on an old PC). When the machine has no printer the dialog
says so and offers only 保存PDF; a document the fonts cannot print is refused before anything
leaves the station."""
from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from station.errors import StationError
from station.tui.compact import Button

NO_PRINTER = "本机没有找到打印机(未安装打印机或打印服务)。可以先保存为PDF,再拷到有打印机的电脑上打印。"


class PrintDialog(ModalScreen[str | None]):
    """打印 or 保存PDF for one document; dismissed with "print", "save" or None."""

    BINDINGS = [("p", "choose('print')", "打印"), ("s", "choose('save')", "保存PDF"), ("escape", "choose(None)", "取消")]

    def __init__(self, what: str, printer: str | None):
        super().__init__()
        self.what = what
        self.printer = printer

    def compose(self) -> ComposeResult:
        from printouts import output
        found = output.printers()
        self.can_print = found.can_print
        if not found.can_print:
            where = NO_PRINTER
        elif self.printer and found.names and self.printer not in found.names:
            where = f"设置中选的打印机“{self.printer}”现在找不到,将送到系统默认打印机。"
            self.printer = None
        else:
            where = f"打印机:{self.printer or '系统默认打印机'}"
        with Vertical(classes="dialog", id="print-dialog"):
            yield Static(self.what, classes="dialog-title")
            yield Static(where, id="printer-line")
            with Horizontal(classes="buttons"):
                yield Button("打印 (P)", id="print-now", variant="primary", disabled=not found.can_print)
                yield Button("保存PDF (S)", id="save-pdf", variant="primary" if not found.can_print else "default")
                yield Button("取消", id="cancel-print")

    def on_mount(self) -> None:
        self.query_one("#print-now" if self.can_print else "#save-pdf", Button).focus()

    @on(Button.Pressed, "#print-now")
    def _print(self) -> None:
        self.action_choose("print")

    @on(Button.Pressed, "#save-pdf")
    def _save(self) -> None:
        self.action_choose("save")

    @on(Button.Pressed, "#cancel-print")
    def _cancel(self) -> None:
        self.action_choose(None)

    def action_choose(self, choice: str | None) -> None:
        if choice == "print" and not self.can_print:
            self.app.notify(NO_PRINTER, title="打印", severity="warning")
            return
        self.dismiss(choice)


class SavedDialog(ModalScreen[None]):
    """Where the PDF was saved, and 打开 to look at it in the system's viewer."""

    BINDINGS = [("o", "open", "打开"), ("escape", "dismiss", "关闭")]

    def __init__(self, title: str, path: Path):
        super().__init__()
        self.doc_title = title
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="saved-dialog"):
            yield Static(f"已保存 {self.doc_title}", classes="dialog-title")
            yield Static(str(self.path), id="saved-path")
            yield Static("文件含群众信息,请妥善保管,用完删除。", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("打开 (O)", id="open-pdf", variant="primary")
                yield Button("关闭", id="close-saved")

    @on(Button.Pressed, "#open-pdf")
    def action_open(self) -> None:
        from printouts import output
        try:
            output.open_in_viewer(self.path)
        except StationError as exc:
            self.app.show_error(exc)
            return
        self.dismiss(None)

    @on(Button.Pressed, "#close-saved")
    def _close(self) -> None:
        self.dismiss(None)


def print_document(screen: Screen, kind: str, ref: str, **render_args) -> None:
    """Ask 打印 or 保存PDF, then build and print or save ``kind`` for ``ref`` in a worker."""
    from printouts.render import KINDS
    from station.services import print_settings
    app = screen.app
    printer = print_settings.printer(app.session)

    def chosen(choice: str | None) -> None:
        if choice:
            screen.run_worker(lambda: run(choice), thread=True, exit_on_error=False, group="print")
            app.notify("正在生成…" if choice == "save" else "正在生成并发送到打印机…", title="打印", timeout=3)

    def run(choice: str) -> None:
        from printouts import output, printing
        from printouts.render import render
        try:
            doc = render(app.session, kind, ref, **render_args)
            if choice == "save":
                path = output.save(doc.pdf, print_settings.pdf_folder(app.session), doc.title)
            else:
                message = printing.send(doc.pdf, doc.title, printer)
        except StationError as exc:
            app.call_from_thread(app.show_error, exc)
            return
        note = f"\n注意:{doc.warning}" if doc.warning else ""
        if choice == "save":
            app.call_from_thread(app.push_screen, SavedDialog(doc.title, path))
            if note:
                app.call_from_thread(app.notify, note.strip(), title=doc.title)
        else:
            app.call_from_thread(app.notify, message + note, title=doc.title)
    app.push_screen(PrintDialog(KINDS.get(kind, "打印"), printer), chosen)
