"""Pieces every screen shares: the session, field-error labels, and date parsing."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from textual import on
from textual.screen import ModalScreen, Screen, ScreenResultType
from textual.widgets import Button, Input, Label

from station.errors import FieldError, StationError

if TYPE_CHECKING:
    from station.services.session import Session


def err_id(field: str) -> str:
    """The id of the label that shows ``field``'s error, e.g. resident.id_number → err-resident-id_number."""
    return "err-" + field.replace(".", "-").replace("[", "-").replace("]", "")


def error_label(field: str) -> Label:
    return Label("", id=err_id(field), classes="field-error")


def say(label: Label, message: str) -> None:
    """Show a message under a field; an empty one takes no room (80x24 has none to spare)."""
    label.update(message)
    label.display = bool(message)
    label.remove_class("from-save")  # a live message (e.g. 已输入 5/18) is not cleared by typing


def show_field_errors(screen: Screen, details: list[FieldError]) -> list[FieldError]:
    """Put each message beside its field; return the ones that have no field on this screen."""
    for label in screen.query(".field-error"):
        say(label, "")
    unplaced = []
    for d in details:
        found = screen.query(f"#{err_id(d.field)}")
        if found:
            label = found.first(Label)
            before = str(label.content)
            say(label, (before + ";" if before else "") + d.message)
            label.add_class("from-save")
        else:
            unplaced.append(d)
    return unplaced


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def clear_fixed_errors(event: Input.Changed) -> None:
    """The clerk is changing a field: its old error from the last save goes (the next save says
    again if it is still wrong). Its labels are the error lines right after it, or after the row
    it sits in."""
    node = event.input
    while node is not None and node.parent is not None and not isinstance(node, Screen):
        siblings = list(node.parent.children)
        after = siblings[siblings.index(node) + 1:]
        labels = []
        for w in after:
            if not w.has_class("field-error"):
                break
            labels.append(w)
        if labels:
            for label in labels:
                if label.has_class("from-save"):
                    say(label, "")
            return
        node = node.parent


class StationScreen(Screen):
    """A screen of the unlocked app."""

    @on(Input.Changed)
    def _clear_fixed_errors(self, event: Input.Changed) -> None:
        clear_fixed_errors(event)

    @property
    def session(self) -> Session:
        return self.app.session  # type: ignore[attr-defined]

    def unsaved_work(self) -> str | None:
        """What leaving this screen now would throw away (said in the question before leaving), or
        None when nothing typed here is unsaved."""
        return None


class Dialog(ModalScreen[ScreenResultType]):
    """A dialog: Esc, or its 取消/关闭 button (added at the end of the box if the dialog has none),
    leaves without doing anything. The button does what the dialog's Esc binding does."""

    def on_mount(self) -> None:
        if self.query("#cancel"):
            return
        boxes = self.query(".dialog")
        esc = next((b for b in self._bindings.key_to_bindings.get("escape", [])), None)
        if boxes and esc is not None:
            boxes.first().mount(Button(f"{esc.description}(Esc)", id="cancel", compact=True))

    @on(Input.Changed)
    def _clear_fixed_errors(self, event: Input.Changed) -> None:
        clear_fixed_errors(event)

    @on(Button.Pressed, "#cancel")
    async def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        esc = self._bindings.key_to_bindings.get("escape", [])
        if esc:
            await self.run_action(esc[0].action)


class FormScreen(Dialog[bool]):
    """A small modal form: save through a service, errors beside the fields, close on success."""

    BINDINGS = [("escape", "dismiss(False)", "取消"), ("ctrl+s", "save", "保存")]

    def attempt(self, fn) -> bool:
        """Run a service call; on error put the messages beside their fields (the rest in a notice)."""
        try:
            fn()
        except StationError as exc:
            left = show_field_errors(self, exc.details)
            if left or not exc.details:
                self.app.show_error(exc)
            return False
        show_field_errors(self, [])
        return True

    def save_with(self, fn) -> bool:
        """``attempt``, and close the form when it worked."""
        if self.attempt(fn):
            self.dismiss(True)
            return True
        return False
