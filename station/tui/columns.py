"""Table columns chosen by the room there is: at 80 columns the least needed ones are left out
(the row is still there, F1/Enter open the details) instead of every column cut to one character.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import DataTable

PADDING = 2  # a DataTable cell's padding, one each side
SCROLLBAR = 2


@dataclass(frozen=True)
class Column:
    label: str
    width: int
    priority: int  # 1 = shown first; the highest numbers are left out first
    min_width: int | None = None  # may shrink to this before anything is left out

    @property
    def least(self) -> int:
        return self.min_width or self.width


def fit(columns: list[Column], available: int) -> list[tuple[int, int]]:
    """(index, width) of the columns to show, in their own order, so that all fit in ``available``."""
    chosen: list[int] = []
    used = 0
    for i in sorted(range(len(columns)), key=lambda i: columns[i].priority):
        need = columns[i].least + PADDING
        if used + need <= available or not chosen:
            chosen.append(i)
            used += need
    widths = {i: columns[i].least for i in chosen}
    spare = available - used
    for i in sorted(chosen, key=lambda i: columns[i].priority):  # grow the most needed back first
        grow = min(spare, columns[i].width - widths[i])
        widths[i] += grow
        spare -= grow
    return [(i, widths[i]) for i in sorted(chosen)]


def set_columns(table: DataTable, columns: list[Column], available: int) -> list[int]:
    """Rebuild ``table``'s columns for ``available`` cells; returns the indices shown (to pick row cells)."""
    shown = fit(columns, available - SCROLLBAR)
    table.clear(columns=True)
    for i, width in shown:
        table.add_column(columns[i].label, width=width)
    return [i for i, _ in shown]


def pick(cells: list, shown: list[int]) -> list:
    return [cells[i] for i in shown]
