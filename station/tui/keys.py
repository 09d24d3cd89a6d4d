"""Which keys the clerk is shown, and how they are named.

Textual's own widgets bring dozens of bindings described in English (``Cursor up``, ``Focus Next``,
``Scroll Left``…): the arrow keys and Tab do what anyone expects, so F1, the command palette and
the footer list only the bindings this app declares itself. A binding is ours when the class in
whose ``BINDINGS`` it is written lives in the ``station`` package.

Some keys cannot be told apart in a terminal: Ctrl+I arrives as Tab, Ctrl+M as Enter, Ctrl+H
as Backspace, Ctrl+[ as Esc. ``UNREACHABLE`` lists them; a binding on one of them never fires.
"""
from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

# A terminal sends the same byte for these as for the key on the right.
UNREACHABLE = {"ctrl+i": "Tab", "ctrl+m": "回车", "ctrl+h": "退格", "ctrl+left_square_brace": "Esc",
               "ctrl+[": "Esc", "ctrl+at": "Ctrl+空格",
               "ctrl+j": "换行(不少终端当作回车)"}

_NAMES = {"escape": "Esc", "enter": "回车", "tab": "Tab", "space": "空格", "backspace": "退格", "delete": "Del",
          "pageup": "PgUp", "pagedown": "PgDn", "home": "Home", "end": "End", "insert": "Ins",
          "up": "↑", "down": "↓", "left": "←", "right": "→"}
_MODIFIERS = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt"}


def key_label(key: str) -> str:
    """``ctrl+pageup`` → ``Ctrl+PgUp``, ``f5`` → ``F5``, ``r`` → ``R``, ``escape`` → ``Esc``."""
    *mods, last = key.split("+") if key != "+" else ["+"]
    if last in _NAMES:
        name = _NAMES[last]
    elif last.startswith("f") and last[1:].isdigit():
        name = last.upper()
    elif len(last) == 1:
        name = last.upper()
    else:
        name = last
    return "+".join([_MODIFIERS.get(m, m) for m in mods] + [name])


def _declared_in_station(node: DOMNode, binding: Binding) -> bool:
    """Is ``binding`` written in the BINDINGS of one of ``node``'s classes from this package?"""
    for cls in type(node).__mro__:
        if "BINDINGS" not in cls.__dict__ or not cls.__module__.startswith("station."):
            continue
        for b in Binding.make_bindings(cls.__dict__["BINDINGS"]):
            if b.action == binding.action and b.key == binding.key:
                return True
    return False


def own_bindings(screen: Screen) -> list[tuple[str, Binding, DOMNode]]:
    """(key, binding, node) for every enabled, described binding of ours active on ``screen``,
    one per description (the first key wins, as in the footer)."""
    seen, out = set(), []
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not active.enabled or not b.description or b.description in seen:
            continue
        if not _declared_in_station(active.node, b):
            continue
        seen.add(b.description)
        out.append((key, b, active.node))
    return out


def is_command_key(key: str) -> bool:
    """Ctrl+letter and F-keys: the keys that mean "do this", never "type this"."""
    return key.startswith("ctrl+") or (key[:1] == "f" and key[1:].isdigit())


def promote(node: DOMNode) -> None:
    """Let our Ctrl and F-key bindings on ``node`` go before a focused field's own.

    Without this an Input takes Ctrl+E (end of line), Ctrl+K, Ctrl+U, Ctrl+A, Ctrl+D for
    itself and a TextArea F6/F7/Ctrl+Y, so the screen's 导出, 更正, 切换用户… never fire while
    the clerk is in a field (Home/End do the same editing)."""
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        if is_command_key(key):
            table[key] = [replace(b, priority=True) if not b.priority and _declared_in_station(node, b) else b
                          for b in bindings]
