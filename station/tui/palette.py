"""Ctrl+P: the actions of the screen underneath, found by Chinese or by pinyin initials.

``dy`` finds 打印回执 and 打印告知书, ``bz`` finds 帮助. Only the app's own actions are listed (see
``keys.own_bindings``); the palette's own "no matches" line is said in Chinese.
"""
from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.widgets.option_list import Option

NO_MATCHES = "没有找到这个操作。可输入汉字或拼音首字母,例如 dy 找打印"


class StationCommands(Provider):
    """Every action of the screen under the palette (``App.get_system_commands``)."""

    def _commands(self):
        return list(self.app.get_system_commands(self.screen))

    async def discover(self) -> Hits:
        for name, help_text, callback, *_ in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        # Here, not at the top: catalog_search brings the domain models, which the app loads only
        # after the unlock KDF has given its memory back (see ``station.tui.app``).
        from station.core.catalog_search import text_score
        for name, help_text, callback, *_ in self._commands():
            score = text_score(query, name)
            if score is not None:
                # Hit scores are 0..1; longer-named actions with the same initials come later.
                yield Hit(min(score, 1000) / 1001, Text(name), callback, text=name, help=help_text)


class StationPalette(CommandPalette):
    """The command palette with its "no matches" line in Chinese."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual hard-codes "No matches found" in this method; same behaviour, our words.
        self._stop_no_matches_countdown()

        def show() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(Align.center(Text(NO_MATCHES, style="not bold")), disabled=True, id=self._NO_MATCHES))
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show)
