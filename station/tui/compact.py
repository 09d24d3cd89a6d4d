"""Form widgets in Textual's compact style (no borders): a whole intake form fits on 80x24.

Same names as ``textual.widgets``, so screens import them from here instead; queries, CSS
type selectors and messages (``Input.Changed`` …) work unchanged.
"""
from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from textual import widgets
from textual.content import Content
from textual.strip import Strip
from textual.widgets._footer import FooterKey
from textual.widgets._toggle_button import ToggleButton


class Input(widgets.Input):
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


class Select(widgets.Select):
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


class Button(widgets.Button):
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


class OptionList(widgets.OptionList):
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


class SelectionList(widgets.SelectionList):
    """Ticked ``[✓]``, not ticked ``[ ]``: readable without colour (Textual draws ▐X▌ for both)."""

    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 3 or segments[0].text != ToggleButton.BUTTON_LEFT:
            return strip
        index = (segments[1].style.meta or {}).get("option") if segments[1].style else None
        ticked = index is not None and self.get_option_at_index(index).value in self.selected
        plain = segments[3].style if len(segments) > 3 else None
        box = [Segment("[", plain), Segment("✓" if ticked else " ", segments[1].style), Segment("]", plain)]
        return Strip(box + segments[3:], strip.cell_length)


def _box(value: bool, mark: str, left: str = "[", right: str = "]") -> Content:
    return Content(f"{left}{mark if value else ' '}{right}")


class Checkbox(widgets.Checkbox):
    """``[✓] 委托代办`` / ``[ ] 委托代办``: readable without colour."""

    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)

    @property
    def _button(self) -> Content:
        return _box(self.value, "✓")


class RadioButton(widgets.RadioButton):
    """``(●) 准予`` / ``( ) 不予``: readable without colour."""

    @property
    def _button(self) -> Content:
        return _box(self.value, "●", "(", ")")


class RadioSet(widgets.RadioSet):
    """Arrow keys choose, as radio buttons do everywhere else: a clerk who moves to ``2 · 不满意``
    and saves must never save the ``5`` that was chosen when the dialog opened."""

    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)

    def watch__selected(self) -> None:
        super().watch__selected()
        if self._selected is not None and self.has_focus:
            button = self._nodes[self._selected]
            if not button.value:
                button.value = True


class Footer(widgets.Footer):
    """The key line: F1 帮助 first, so at 80 columns the one key that shows all the others is
    always visible; keys that do not fit whole are left out (F1 lists them)."""

    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)

    def compose(self):
        keys = sorted(super().compose(), key=lambda w: getattr(w, "action", None) != "help")  # stable: the rest keep their order
        room = self.app.size.width
        self._width = room
        for key in keys:
            if isinstance(key, FooterKey):
                # " key " + " description" + the gap after it (compact footer); what does not fit whole is left out
                room -= cell_len(key.key_display) + 2 + cell_len(key.description) + 1 + 1
                if room < 0:
                    break
            yield key

    def on_resize(self) -> None:
        if getattr(self, "_width", None) != self.app.size.width:
            self.refresh(recompose=True)
