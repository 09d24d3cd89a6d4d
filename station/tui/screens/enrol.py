"""登记到乡镇 (enrolment) from the app: the one-time code from the township's paper slip, then
either the hub's address (online, SPAKE2 over HTTP) or the enrolment file on a stick.

Nothing here speaks cryptography or HTTP: it calls ``sync.enrolment`` exactly as the command
line does, in a worker (the SPAKE2 round trip and scrypt take a moment), and says in Chinese what
happened and what to do next. Offered wherever the app recommends sync or the stick while the
station is not yet enrolled (今日, U盘, F8, 设置).
"""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.widgets.option_list import Option

from station.errors import StationError
from station.services import settings
from station.tui.base import error_label, say, show_field_errors
from station.tui.compact import Button, Input, OptionList


def enrolled(session) -> dict | None:
    """The hub this station is enrolled with, or None."""
    from sync import client
    return client.hub(session)


def enrolment_files(session) -> list[Path]:
    """Enrolment files the township wrote (``enrol-<编码>.json``) at the top of every stick we can
    see and of the remembered stick folder; this station's own first."""
    from sync.usb import removable_drives
    roots = list(removable_drives())
    folder = settings.get(session, "usb_folder")
    if folder:
        roots.append(Path(folder))
    found: list[Path] = []
    for root in roots:
        for place in (root, root / session.station_code):
            try:
                found += sorted(p for p in place.glob("enrol-*.json") if not p.name.startswith("enrol-reply-") and p.is_file())
            except OSError:  # a stick pulled out while we looked
                continue
    mine = f"enrol-{session.station_code}.json"
    return sorted(dict.fromkeys(found), key=lambda p: (p.name != mine, str(p)))


class EnrolScreen(ModalScreen[bool]):
    """登记到乡镇"""

    BINDINGS = [("escape", "dismiss(False)", "取消")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="enrol-dialog"):
            yield Static("登记到乡镇", classes="dialog-title")
            yield Label("乡镇给的一次性登记码(10位,如 K7P3X-Q9M2D):")
            yield Input(id="code", max_length=16)
            yield error_label("code")
            yield Static("一、联网登记", classes="section")
            yield Label("乡镇服务器地址(乡镇告知,如 10.1.2.3:8470):")
            yield Input(id="hub-url")
            yield error_label("hub-url")
            yield Label("乡镇服务器证书文件的位置(乡镇用加密连接时才需要):")
            yield Input(id="hub-ca")
            yield error_label("ca")
            yield Button("联网登记", id="enrol-online", variant="primary")
            yield Static("二、用U盘上的登记文件", classes="section")
            yield OptionList(id="enrol-files", classes="picker")
            yield Input(id="enrol-file")
            yield error_label("file")
            yield Button("用登记文件登记", id="enrol-file-go")
            yield Static("", id="enrol-result", classes="status-line")
            with Horizontal(classes="buttons"):
                yield Button("取消", id="enrol-cancel")

    def on_mount(self) -> None:
        self.files = enrolment_files(self.app.session)
        options = self.query_one("#enrol-files", OptionList)
        options.add_options([Option(str(p), id=str(i)) for i, p in enumerate(self.files)]
                            or [Option("(U盘上没有发现登记文件,可在下面输入文件位置)", disabled=True)])
        if self.files:
            self.query_one("#enrol-file", Input).value = str(self.files[0])
        self.query_one("#code", Input).focus()

    @on(OptionList.OptionSelected, "#enrol-files")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#enrol-file", Input).value = str(self.files[int(event.option.id)])

    @on(Button.Pressed, "#enrol-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def _code(self) -> str | None:
        code = self.query_one("#code", Input).value.strip()
        if not code:
            show_field_errors(self, [])
            say(self.query_one("#err-code", Label), "请输入乡镇给的一次性登记码")
            return None
        return code

    @on(Button.Pressed, "#enrol-online")
    @on(Input.Submitted, "#hub-url")
    @on(Input.Submitted, "#hub-ca")
    def _online(self) -> None:
        code = self._code()
        if code is None:
            return
        url = self.query_one("#hub-url", Input).value.strip().rstrip("/")
        if not url:
            show_field_errors(self, [])
            say(self.query_one("#err-hub-url", Label), "请输入乡镇告知的服务器地址")
            return
        if "://" not in url:  # the township's slip gives the address as numbers and a port
            url = "http://" + url
        ca_pem = None
        ca_file = self.query_one("#hub-ca", Input).value.strip()
        if ca_file:
            from sync.http import load_ca
            try:
                ca_pem = load_ca(ca_file)
            except StationError as exc:
                show_field_errors(self, exc.details)
                return
        self._busy("正在联网登记…")
        self._run_online(code, url, ca_pem)

    @on(Button.Pressed, "#enrol-file-go")
    @on(Input.Submitted, "#enrol-file")
    def _file(self) -> None:
        code = self._code()
        if code is None:
            return
        path = self.query_one("#enrol-file", Input).value.strip()
        if not path or not Path(path).is_file():
            show_field_errors(self, [])
            say(self.query_one("#err-file", Label), "请选择U盘上的登记文件,或输入它的位置")
            return
        self._busy("正在核对登记文件…")
        self._run_file(code, Path(path))

    def _busy(self, text: str) -> None:
        show_field_errors(self, [])
        self.query_one("#enrol-result", Static).update(text)
        for button in ("#enrol-online", "#enrol-file-go"):
            self.query_one(button, Button).disabled = True

    @work(thread=True, exclusive=True, exit_on_error=False, group="enrol")
    def _run_online(self, code: str, url: str, ca_pem: str | None) -> None:
        from sync import enrolment
        from sync.http import HttpTransport
        try:
            info = enrolment.enroll_online(self.app.session, code, HttpTransport(url, ca_pem=ca_pem), url, ca_pem)
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._done, f"已登记到 {info['hub_name']},本站会在后台自动与乡镇同步。", True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="enrol")
    def _run_file(self, code: str, path: Path) -> None:
        from sync import enrolment
        try:
            reply = enrolment.enroll_file(self.app.session, path, code)
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        name = enrolled(self.app.session)["name"]
        self.app.call_from_thread(self._done, f"已登记到 {name}。登记回执 {reply.name} 已写在U盘上登记文件旁边:"
                                              "请把U盘带回乡镇导入,之后就可以用U盘交换数据了。", False)

    def _failed(self, exc: StationError) -> None:
        for button in ("#enrol-online", "#enrol-file-go"):
            self.query_one(button, Button).disabled = False
        left = show_field_errors(self, exc.details or [])
        self.query_one("#enrol-result", Static).update(
            "没有登记:" + ("".join(d.message for d in left) or exc.title))

    def _done(self, message: str, online: bool) -> None:
        self.app.notify(message, title="登记到乡镇", timeout=10)
        if online:
            self.app._start_background_sync()
        self.dismiss(True)


class EnrolSection(Vertical):
    """乡镇登记 in 设置: which township hub this station is enrolled with, or the way to enrol."""

    DEFAULT_CSS = "EnrolSection { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("乡镇登记", classes="section")
        yield Static("", id="enrol-status", classes="status-line")
        yield Button("登记到乡镇", id="enrol-now")

    def on_mount(self) -> None:
        self.show_status()

    def show_status(self) -> None:
        peer = enrolled(self.app.session)
        self.query_one("#enrol-status", Static).update(
            f"已登记到 {peer['name']}" + (f"(联网地址 {peer['url']})" if peer["url"] else "(用U盘交换)")
            if peer else "本站尚未登记到乡镇:需要乡镇给的一次性登记码。")
        self.query_one("#enrol-now", Button).label = "重新登记到乡镇" if peer else "登记到乡镇"

    @on(Button.Pressed, "#enrol-now")
    def _enrol(self) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                self.show_status()
        self.app.push_screen(EnrolScreen(), done)
