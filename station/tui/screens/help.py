"""F1: the keys of the screen underneath, in Chinese."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from station.tui.base import Dialog
from station.tui.keys import key_label, own_bindings

__all__ = ["HelpScreen", "key_label", "screen_keys"]


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """(key, description) for every action of ours active on ``screen`` (Textual's English built-ins left out)."""
    return [(key_label(key), b.description) for key, b, _ in own_bindings(screen)]


def screen_title(screen: Screen) -> str:
    """The screen's name for the help box: its docstring's first line when that is Chinese (a main
    screen's docstring is its title), else the dialog's own title line."""
    first = (type(screen).__doc__ or "").strip().splitlines()[:1]
    if first and not any(ch.isascii() and ch.isalpha() for ch in first[0]):
        return first[0].strip()
    titles = screen.query(".dialog-title")
    return str(titles.first().render()).strip() if titles else ""


class HelpScreen(Dialog[None]):
    BINDINGS = [("escape", "dismiss", "关闭"), ("f1", "dismiss", "关闭")]

    def __init__(self, keys: list[tuple[str, str]], title: str):
        super().__init__()
        self.keys = keys
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static(f"按键说明 · {self.title_text}", classes="dialog-title")
            yield DataTable(id="help-keys", cursor_type="none", zebra_stripes=True)
            yield Static("Ctrl+P 打开命令面板,可输入拼音首字母查找全部操作。Esc 关闭。", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("按键", "操作")
        for key, desc in self.keys:
            table.add_row(key, desc)
