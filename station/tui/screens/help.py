"""F1: the keys of the screen underneath, in Chinese."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

KEY_NAMES = {"escape": "Esc", "enter": "回车", "ctrl+s": "Ctrl+S", "ctrl+l": "Ctrl+L", "ctrl+p": "Ctrl+P",
             "ctrl+q": "Ctrl+Q", "ctrl+u": "Ctrl+U", "pagedown": "PgDn", "pageup": "PgUp"}


def key_label(key: str) -> str:
    return KEY_NAMES.get(key, key.upper() if key.startswith("f") and key[1:].isdigit() else key)


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """(key, description) for every enabled, described binding active on ``screen``."""
    seen, out = set(), []
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not active.enabled or not b.description or b.description in seen:
            continue
        seen.add(b.description)
        out.append((key_label(key), b.description))
    return out


class HelpScreen(ModalScreen[None]):
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
