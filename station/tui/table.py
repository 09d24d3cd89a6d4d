"""A DataTable that draws its plain one-line text cells itself, the same as Textual draws them.

Textual's DataTable sends every cell through Rich's whole layout (padding, wrapping, cropping,
then style layering), ~0.1 ms a cell, and redraws every visible cell after any change to the
table. A new page of the case list is ~250 cells: 30-40 ms on the UI thread, on top of which a
garbage collection could land — over the 50 ms in which typing still feels immediate. A cell
that is a plain string on a one-line row comes out of all that as its text cut or padded to the
column (wide characters counted twice) between one space each side, in the cell's styles: that
is drawn here directly. Anything else (markup, emoji codes, control characters, the header,
labels, fixed cells, taller rows) is left to Textual. ``tests/tui/test_table.py`` checks both
give the same picture, so a change in Textual's drawing shows up there.

Clearing the table (every new page) also unlinks its caches' entries first. Textual's LRU cache
keeps them in a ring of lists, so a cleared cache was a cycle holding every drawn cell and line
of the page: ~25,000 objects left for the garbage collector, whose full pass then stopped the UI
for 20-35 ms now and then while paging. Unlinked, they are freed at once.
"""
from __future__ import annotations

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.widgets import DataTable

# Rich reads markup in "[…]" and emoji codes in ":name:"; such cells go the long way.
_RICH_SYNTAX = ("[", ":")


class Table(DataTable):
    def _clear_caches(self) -> None:
        for cache in (self._row_render_cache, self._cell_render_cache, self._row_renderable_cache, self._line_cache):
            for link in getattr(cache, "_cache", {}).values():
                if isinstance(link, list):  # [previous, next, key, value]
                    link.clear()
        super()._clear_caches()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        if row_index < self.fixed_rows or column_index < self.fixed_columns:  # also the header (-1) and labels
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        row = self.rows.get(row_key)
        value = self._data.get(row_key, {}).get(column_key)
        inner = width - 2 * self.cell_padding
        if (row is None or row.height != 1 or not isinstance(value, str) or inner < 1 or not value.isprintable()
                or any(c in value for c in _RICH_SYNTAX)):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        # The same key as Textual's own cache of drawn cells, so both ways share it.
        key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor, self._update_count,
               self._pseudo_class_state)
        lines = self._cell_render_cache.get(key)
        if lines is None:
            component_style, post_style = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
                self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
            style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style + post_style
            pad = Segment(" " * self.cell_padding, style) if self.cell_padding else None
            text = Segment(set_cell_size(value, inner), style)
            lines = [[pad, text, pad] if pad else [text]]
            self._cell_render_cache[key] = lines
        return lines
