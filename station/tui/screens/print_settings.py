"""设置 → 打印与PDF: the folder PDFs are saved in, and the printer jobs go to (from the printers
the system knows; when it knows none, the section says so and points to 保存PDF)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from station.errors import StationError
from station.services import print_settings
from station.tui.base import error_label, show_field_errors
from station.tui.compact import Button, Input, Select

DEFAULT = ""  # the Select's value for "the system's default printer"


class PrintSettings(Vertical):
    """A section of the settings screen; reads and saves through ``print_settings``."""

    DEFAULT_CSS = "PrintSettings { height: auto; }"

    def compose(self) -> ComposeResult:
        from printouts import output
        found = output.printers()
        self._names = found.names
        yield Static("打印与PDF", classes="section")
        yield Label("保存PDF的文件夹(打印时选“保存PDF”存到这里):")
        yield Input(id="pdf_folder")
        yield error_label("pdf_folder")
        yield Button("保存PDF文件夹", id="save-pdf-folder")
        if found.names:
            yield Label("打印机:")
            yield Select([("系统默认打印机", DEFAULT)] + [(n, n) for n in found.names], id="printer",
                         allow_blank=False, value=DEFAULT)
            yield Button("保存打印机", id="save-printer")
        elif found.can_print:
            yield Static("打印机:系统默认打印机(本机不能列出打印机)", id="printer-none")
        else:
            yield Static("本机没有找到打印机。打印时请选“保存PDF”,再拷到有打印机的电脑上打印。", id="printer-none")

    def on_mount(self) -> None:
        session = self.app.session
        self.query_one("#pdf_folder", Input).value = str(print_settings.pdf_folder(session))
        chosen = print_settings.printer(session)
        selects = self.query("#printer")
        if chosen and selects:
            if chosen in self._names:
                selects.first(Select).value = chosen

    @on(Button.Pressed, "#save-pdf-folder")
    @on(Input.Submitted, "#pdf_folder")
    def _save_folder(self) -> None:
        try:
            path = print_settings.set_pdf_folder(self.app.session, self.query_one("#pdf_folder", Input).value)
        except StationError as exc:
            show_field_errors(self.screen, exc.details)
            return
        show_field_errors(self.screen, [])
        self.query_one("#pdf_folder", Input).value = str(path)
        self.notify(f"PDF将保存到 {path}", title="已保存")

    @on(Button.Pressed, "#save-printer")
    def _save_printer(self) -> None:
        value = self.query_one("#printer", Select).value
        name = value if isinstance(value, str) and value else None
        print_settings.set_printer(self.app.session, name)
        self.notify(f"打印将送到 {name or '系统默认打印机'}", title="已保存")
