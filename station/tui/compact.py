"""Form widgets in Textual's compact style (no borders): a whole intake form fits on 80x24.

Same names as ``textual.widgets``, so screens import them from here instead; queries, CSS
type selectors and messages (``Input.Changed`` …) work unchanged.
"""
from __future__ import annotations

from rich.cells import cell_len
from textual import widgets
from textual.widgets._footer import FooterKey


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
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


class Checkbox(widgets.Checkbox):
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


class RadioSet(widgets.RadioSet):
    def __init__(self, *args, compact: bool = True, **kwargs):
        super().__init__(*args, compact=compact, **kwargs)


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
