"""发布: notices, catalog versions and holiday calendars to all or chosen stations, and which
stations have received each (their acknowledgement passed the item's place in their outbox)."""
from __future__ import annotations

import json
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, Static

from station.errors import FieldError, StationError, ValidationFailed
from station.tui.base import Dialog, show_field_errors
from station.tui.compact import Footer, Input, Select, SelectionList
from sync.hub import views
from sync.hub.console.screens import ConsoleScreen


class PublishScreen(ConsoleScreen):
    """发布:公告公示、事项清单、节假日安排,及各站是否已收到"""

    BINDINGS = [("escape", "app.go('overview')", "返回"), ("n", "notice", "发布公告"), ("u", "file", "下发清单或日历"),
                ("r", "refresh", "刷新")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="publish-summary", classes="status-line")
        yield DataTable(id="publications", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#publications", DataTable)
        for label, width in (("内容", 26), ("时间", 11), ("已收到", 6), ("未收到", 24)):
            table.add_column(label, width=width)
        table.focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        rows = views.publications(self.hub)
        table = self.query_one("#publications", DataTable)
        table.clear()
        for p in rows:
            total = len(p["received"]) + len(p["waiting"])
            table.add_row(p["title"], p["at"][5:16].replace("T", " "), f"{len(p['received'])}/{total}",
                          "、".join(p["waiting"]) or "全部已收到", key=f"{p['kind']}:{p['ref']}")
        self.query_one("#publish-summary", Static).update(
            f"已发布 {len(rows)} 项 · 服务站收到后,下次联系时确认 · N 发布公告 · U 下发清单或日历")

    def action_notice(self) -> None:
        self.app.push_screen(NoticeForm(), lambda done: done and self.action_refresh())

    def action_file(self) -> None:
        self.app.push_screen(FileForm(), lambda done: done and self.action_refresh())


class _PublishForm(Dialog[bool]):
    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "发布")]

    def stations_list(self) -> SelectionList:
        active = [s for s in self.app.hub.visible_stations() if s["status"] == "active"]
        return SelectionList(*[(f"{s['code']} {s['name']}", s["code"], True) for s in active], id="targets")

    def chosen(self) -> list[str] | None:
        targets = self.query_one("#targets", SelectionList)
        picked = list(targets.selected)
        return None if len(picked) == targets.option_count else picked  # all: later enrolees get it too

    def attempt(self, fn) -> None:
        try:
            n = fn()
        except StationError as exc:
            if show_field_errors(self, exc.details) or not exc.details:
                self.app.show_error(exc)
            return
        self.app.notify(f"已排队发往 {n} 个服务站(下次同步或U盘交换时送达)", title="发布")
        self.dismiss(True)


class NoticeForm(_PublishForm):
    """发布公告或公示到服务站的公示栏"""

    def compose(self) -> ComposeResult:
        today = self.app.today().isoformat()
        with Vertical(classes="dialog"):
            yield Static("发布公告 / 公示", classes="dialog-title")
            yield Select([("公告", "公告"), ("公示", "公示")], value="公告", allow_blank=False, id="kind")
            yield Input(id="title", placeholder="标题")
            yield Label("", id="err-title", classes="field-error")
            yield Input(id="body", placeholder="内容")
            yield Label("", id="err-body", classes="field-error")
            with Horizontal(classes="row"):
                yield Input(today, id="from", placeholder="开始 年-月-日")
                yield Input(id="to", placeholder="截止 年-月-日")
            yield Label("", id="err-posting_to", classes="field-error")
            yield Label("", id="err-posting_period", classes="field-error")
            yield Label("发往(空格勾选):", classes="hint")
            yield self.stations_list()
            yield Label("", id="err-stations", classes="field-error")
            yield Label("Ctrl+S 发布 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def action_save(self) -> None:
        def value(i: str) -> str:
            return self.query_one(f"#{i}", Input).value
        self.app.hub.require("publish")
        self.attempt(lambda: self.app.hub.publish_notice(self.query_one("#kind", Select).value, value("title"), value("body"),
                                                         value("from").strip(), value("to").strip(), stations=self.chosen()))


class FileForm(_PublishForm):
    """下发事项清单或节假日安排(JSON 文件)"""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("下发事项清单 / 节假日安排", classes="dialog-title")
            yield Select([("事项清单", "catalog"), ("节假日安排", "calendar")], value="catalog", allow_blank=False, id="kind")
            yield Input(id="file", placeholder="文件位置,例:E:\\2027节假日.json")
            yield Label("", id="err-file", classes="field-error")
            yield Label("发往(空格勾选):", classes="hint")
            yield self.stations_list()
            yield Label("", id="err-stations", classes="field-error")
            yield Label("Ctrl+S 发布 · Esc 取消", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#file", Input).focus()

    def action_save(self) -> None:
        path = Path(self.query_one("#file", Input).value.strip()).expanduser()
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            show_field_errors(self, [FieldError("file", "bad_file", f"{path} 不存在或不是有效的 JSON 文件")])
            return
        if not isinstance(doc, dict):
            show_field_errors(self, [FieldError("file", "bad_file", "文件内容格式不对")])
            return
        kind = self.query_one("#kind", Select).value

        def publish() -> int:
            try:
                return self.app.hub.publish(kind, doc, stations=self.chosen())
            except ValidationFailed as exc:  # the document's own problems, said under the file field
                raise ValidationFailed(exc.title, [FieldError("file", d.code, d.message) for d in exc.details]) from None
        self.attempt(publish)
