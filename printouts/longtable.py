"""Long ledger tables (台账): header on every page, page subtotals, grand total, 第X页 共Y页,
the period, and signature lines — for the 代办 register now and every ledger view later.

Rows have a fixed height and cells are cut to their column, so the rows per page are known in
advance: each page is one small table drawn straight onto the canvas. That makes subtotals
exact, "共Y页" known before the first page, and a 10,000-row ledger fast (reportlab's splitting
of one huge table is slow). Rows arrive masked (see ``printouts.data``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Sequence

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Table, TableStyle

from printouts.layout import GRID, LANDSCAPE, LIGHT, PORTRAIT, fit, font
from printouts.records import Column

ROW_H = 6 * mm
FONT_SIZE = 8.5
TOP = 24 * mm  # title block
BOTTOM = 12 * mm  # footer
SIGN_H = 22 * mm  # signature lines under the grand total
MARGIN = 12 * mm


@dataclass(frozen=True)
class LongTable:
    title: str
    station_name: str
    period: str
    columns: tuple[Column, ...]
    rows: Sequence[dict]
    printed_on: date
    printed_by: str
    # rows of one page (or all rows) → {column key: text} for the subtotal / total line (from the third column on)
    totals: Callable[[Sequence[dict]], dict[str, str]] = field(default=lambda rows: {})
    signatures: tuple[str, ...] = ("代办员", "站长")
    landscape: bool = True


def cell(value) -> str:
    """A cell's text: an empty column (NULL in the store) prints empty, never as ``None``."""
    return "" if value is None else str(value)


def table_style(n_rows: int) -> TableStyle:
    return TableStyle([("FONT", (0, 0), (-1, -1), font(), FONT_SIZE), ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                       ("BACKGROUND", (0, 0), (-1, 0), LIGHT), ("BACKGROUND", (0, n_rows - 1), (-1, n_rows - 1), LIGHT),
                       ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 1),
                       ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("LEFTPADDING", (0, 0), (-1, -1), 2),
                       ("RIGHTPADDING", (0, 0), (-1, -1), 2)])


def layout(t: LongTable) -> tuple[tuple[float, float], int]:
    """Page size and data rows per page (header and subtotal rows take one row each)."""
    size = LANDSCAPE if t.landscape else PORTRAIT
    usable = size[1] - 2 * MARGIN - TOP - BOTTOM
    return size, int(usable // ROW_H) - 2


def pages_of(t: LongTable) -> list[Sequence[dict]]:
    """The rows of each page; the last page keeps room for the grand total and signatures."""
    _, per_page = layout(t)
    rows = list(t.rows)
    pages = [rows[i:i + per_page] for i in range(0, len(rows), per_page)] or [[]]
    room_needed = 1 + int(SIGN_H // ROW_H) + 1
    if len(pages[-1]) > per_page - room_needed:
        pages.append([])  # totals and signatures on a page of their own
    return pages


def build(t: LongTable, out) -> int:
    """Write the ledger PDF; return the number of pages."""
    size, _ = layout(t)
    width, height = size
    c = Canvas(out, pagesize=size, pageCompression=1)
    c.setTitle(f"{t.title} {t.period}")
    c.setAuthor(t.station_name)
    col_w = [col.width_mm * mm for col in t.columns]
    inner = [w - 4 for w in col_w]  # minus cell padding
    header = [col.title for col in t.columns]
    aligns = [("ALIGN", (i, 1), (i, -1), col.align) for i, col in enumerate(t.columns) if col.align != "LEFT"]
    pages = pages_of(t)
    total_pages = len(pages)
    name = font()
    for number, page_rows in enumerate(pages, 1):
        last = number == total_pages
        c.setFont(name, 15)
        c.drawCentredString(width / 2, height - MARGIN - 8 * mm, t.title)
        c.setFont(name, 9.5)
        c.drawString(MARGIN, height - MARGIN - 17 * mm, f"{t.station_name}    期间:{t.period}")
        c.drawRightString(width - MARGIN, height - MARGIN - 17 * mm, f"第 {number} 页  共 {total_pages} 页")
        data = [header]
        for row in page_rows:
            data.append([fit(cell(row.get(col.key)), w, FONT_SIZE) for col, w in zip(t.columns, inner, strict=True)])
        lines = [("本页小计", t.totals(page_rows))] if page_rows else []
        if last:
            lines.append(("合计", t.totals(t.rows)))
        for label, values in lines:  # the label spans the first two columns
            data.append([label, ""] + [fit(cell(values.get(col.key)), w, FONT_SIZE) for col, w in zip(t.columns[2:], inner[2:], strict=True)])
        style = table_style(len(data))
        for r in range(len(data) - len(lines), len(data)):
            style.add("SPAN", (0, r), (1, r))
        for cmd in aligns:
            style.add(*cmd)
        if last and page_rows:
            style.add("BACKGROUND", (0, len(data) - 2), (-1, len(data) - 2), LIGHT)
        table = Table(data, colWidths=col_w, rowHeights=[ROW_H] * len(data))
        table.setStyle(style)
        _, h = table.wrapOn(c, width - 2 * MARGIN, height)
        top = height - MARGIN - TOP
        table.drawOn(c, MARGIN, top - h)
        if last:
            y = top - h - 12 * mm
            c.setFont(name, 10.5)
            step = (width - 2 * MARGIN) / max(len(t.signatures), 1)
            for i, role in enumerate(t.signatures):
                c.drawString(MARGIN + i * step, y, f"{role}(签字):________________   日期:________")
        c.setFont(name, 8)
        c.drawString(MARGIN, MARGIN, f"打印:{t.printed_by}  {t.printed_on.isoformat()}    身份证号码已按规定脱敏")
        c.showPage()
    c.save()
    return total_pages
