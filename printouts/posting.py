"""Public posting (公示) for the notice board: a subsidy or relief list with its posting period
and the phone for objections (异议). Names are shown; identity, bank and phone numbers arrive
masked (``printouts.data.posting_rows``).

The closing block (特此公示, the stamp and date) never stands alone on a page: the document is
laid out once; if the closing block lands on a page without table rows above it, it is laid out
again with the last ``TAIL_ROWS`` rows (under a repeated header) kept together with it."""
from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printouts.layout import GRID, LIGHT, MARGIN, PORTRAIT, esc, style
from printouts.records import PostingSheet
from station.core.money import format_fen

TAIL_ROWS = 3  # data rows that go with the closing block onto its page


class _Doc(SimpleDocTemplate):
    """Notes where the table's pieces and the stamp line were drawn."""

    def __init__(self, *args, stamp=None, **kw):
        super().__init__(*args, **kw)
        self.stamp = stamp
        self.table_pieces: list[tuple[int, int]] = []  # (page, rows in the piece)
        self.stamp_page = 0

    def afterFlowable(self, flowable):
        if isinstance(flowable, Table):
            self.table_pieces.append((self.page, flowable._nrows))
        elif flowable is self.stamp:
            self.stamp_page = self.page


def _table(d: PostingSheet, rows: list[list], total_row: bool) -> Table:
    table = Table(rows, colWidths=[c.width_mm * mm for c in d.columns], repeatRows=1)
    aligns = [("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(d.columns) if c.align == "RIGHT"]
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID), ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                               *([("BACKGROUND", (0, -1), (-1, -1), LIGHT)] if total_row else []),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), *aligns]))
    return table


def _flow(d: PostingSheet, keep_tail: bool):
    days = (d.posting_to - d.posting_from).days + 1
    body = style(11, leading=20)
    cell = style(9.5)
    flow = [Paragraph(esc(d.title), style(16, align=1, bold=True)), Spacer(1, 4 * mm),
            Paragraph(f"根据有关规定,现将{esc(d.subject)}名单予以公示。公示期:{d.posting_from.isoformat()} 至 "
                      f"{d.posting_to.isoformat()}(共 {days} 天)。公示期内如有异议,请向{esc(d.station_name)}反映,"
                      f"电话:{esc(d.objection_phone)}。", body), Spacer(1, 3 * mm)]
    header = [Paragraph(c.title, cell) for c in d.columns]
    body_rows = [[Paragraph(esc(r.get(c.key, "")), cell) for c in d.columns] for r in d.rows]
    total = ["合计", f"{len(d.rows)} 户"] + [""] * (len(d.columns) - 2)
    if "amount" in [c.key for c in d.columns]:
        total[[c.key for c in d.columns].index("amount")] = format_fen(d.total_fen)
    total_row = [Paragraph(t, cell) for t in total]
    stamp = Paragraph(f"{esc(d.station_name)}(盖章)<br/>{d.printed_on.isoformat()}", style(11, leading=20, align=2))
    closing = [Spacer(1, 6 * mm), Paragraph("特此公示。", body), Spacer(1, 4 * mm), stamp]
    if keep_tail and len(body_rows) > TAIL_ROWS:
        head, tail = body_rows[:-TAIL_ROWS], body_rows[-TAIL_ROWS:]
        flow += [_table(d, [header] + head, False), KeepTogether([_table(d, [header] + tail + [total_row], True), *closing])]
    else:
        flow += [_table(d, [header] + body_rows + [total_row], True), KeepTogether(closing)]
    return flow, stamp


def _alone(doc: _Doc) -> bool:
    """Whether the stamp line ended up on a page without data rows (a piece holds a header,
    rows and, last, the total row; a last piece of header and total only has no data rows)."""
    page, rows = doc.table_pieces[-1]
    return doc.stamp_page != page or rows < 3


def build(d: PostingSheet, out) -> None:
    flow, stamp = _flow(d, keep_tail=False)
    trial = _Doc(io.BytesIO(), stamp=stamp, **_page(d))  # a trial layout, to see where the stamp line falls
    trial.build(flow)
    flow, stamp = _flow(d, keep_tail=_alone(trial))  # afresh: a build consumes its flowables
    _Doc(out, stamp=stamp, **_page(d)).build(flow)


def _page(d: PostingSheet) -> dict:
    return dict(pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                title=d.title, author=d.station_name)
