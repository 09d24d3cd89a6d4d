"""Radio buttons in the app choose with the arrow keys (the highlighted one is the chosen one)."""
from __future__ import annotations

from textual.app import App

from station.tui.compact import RadioButton, RadioSet


class Pick(App):
    def compose(self):
        with RadioSet(id="level"):
            yield RadioButton("5 · 非常满意", value=True)
            yield RadioButton("4 · 满意")
            yield RadioButton("3 · 基本满意")
            yield RadioButton("2 · 不满意")


async def test_arrow_keys_choose_and_focus_alone_changes_nothing():
    app = Pick()
    async with app.run_test() as pilot:
        radios = app.query_one(RadioSet)
        radios.focus()
        await pilot.pause()
        assert radios.pressed_index == 0  # taking the focus chooses nothing new
        for _ in range(3):
            await pilot.press("down")
        await pilot.pause()
        assert radios.pressed_index == 3 and str(radios.pressed_button.label) == "2 · 不满意"
        await pilot.press("up")
        await pilot.pause()
        assert radios.pressed_index == 2
        assert sum(b.value for b in radios.query(RadioButton)) == 1
