"""The 好差评 export dialog (from the case list: Ctrl+E, or Ctrl+P 导出好差评): .xlsx or .json for the
provincial 好差评 system, through ``station.services.ratings``."""
from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from station.errors import StationError
from station.services import ratings
from station.tui.base import error_label, say
from station.tui.compact import Button, Input


class RatingsExportForm(ModalScreen[None]):
    BINDINGS = [("escape", "dismiss", "取消")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("导出好差评记录", classes="dialog-title")
            yield Static("办件编号、事项编码、评价等级、评价时间、评价渠道、差评原因、整改情况、回访时间", classes="hint")
            yield Input(placeholder="保存为,如 E:\\好差评.xlsx 或 好差评.json", id="file")
            yield error_label("file")
            yield Button("导出", id="go", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        target = self.query_one("#file", Input).value.strip()
        if not target:
            say(self.query_one("#err-file", Label), "请填写保存的文件名")
            return
        try:
            n = ratings.export(self.app.session, Path(target))
        except StationError as exc:
            say(self.query_one("#err-file", Label), "、".join(d.message for d in exc.details) or exc.title)
            return
        except OSError as exc:
            say(self.query_one("#err-file", Label), f"无法写入:{exc.strerror or exc}")
            return
        self.app.notify(f"已导出 {n} 条评价", title="导出完成")
        self.dismiss()
