"""疑似重复登记: before intake creates a new resident, the registered residents who may be the
same person (``station.services.duplicates``) are shown; the clerk takes one of them, registers
the new one anyway, or goes back to the form. Numbers stay masked; the reason says which
characters differ, so nothing needs revealing to decide."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.widgets.option_list import Option

from station.core.duplicates import DuplicateMatch
from station.core.masking import mask_id
from station.tui.compact import Button, OptionList

NEW = "new"


class DuplicateResidentScreen(ModalScreen[object]):
    """疑似重复登记 — dismissed with the chosen resident (dict), ``NEW``, or None (back to the form)."""

    BINDINGS = [("escape", "dismiss(None)", "取消")]

    def __init__(self, matches: list[DuplicateMatch]):
        super().__init__()
        self.matches = matches

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="duplicates-dialog"):
            yield Static("可能已经登记过这位群众", classes="dialog-title")
            yield Static("以下已登记的群众可能是同一人。选中后回车使用已登记的;确认不是同一人再登记为新群众。", classes="hint")
            yield OptionList(*[Option(f"{m.resident['name']}  {mask_id(m.resident['id_number'])}  出生 {m.resident['birth_date']}"
                                      f"  {m.resident.get('village_group') or ''}\n    {m.message}", id=str(i))
                               for i, m in enumerate(self.matches)], id="duplicate-list")
            with Horizontal(classes="buttons"):
                yield Button("用所选的已登记群众", id="use-existing", variant="primary")
                yield Button("仍登记为新群众", id="create-anyway", variant="warning")
                yield Button("取消", id="duplicates-cancel")

    def on_mount(self) -> None:
        options = self.query_one("#duplicate-list", OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#duplicate-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.matches[int(event.option.id)].resident)

    @on(Button.Pressed, "#use-existing")
    def _use(self) -> None:
        highlighted = self.query_one("#duplicate-list", OptionList).highlighted
        self.dismiss(self.matches[highlighted or 0].resident)

    @on(Button.Pressed, "#create-anyway")
    def _create(self) -> None:
        self.dismiss(NEW)

    @on(Button.Pressed, "#duplicates-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
