"""Form widgets in Textual's compact style (no borders): a whole intake form fits on 80x24.

Same names as ``textual.widgets``, so screens import them from here instead; queries, CSS
type selectors and messages (``Input.Changed`` …) work unchanged.
"""
from __future__ import annotations

from textual import widgets


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
