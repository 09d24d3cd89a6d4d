"""Public posting (公示) for the notice board: a subsidy or relief list with its posting period
and the phone for objections (异议). Names are shown; identity, bank and phone numbers arrive
masked (``printouts.data.posting_rows``)."""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printouts.layout import GRID, LIGHT, MARGIN, PORTRAIT, esc, style
from printouts.records import PostingSheet
from station.core.money import format_fen


def build(d: PostingSheet, out) -> None:
    doc = SimpleDocTemplate(out, pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=d.title, author=d.station_name)
    days = (d.posting_to - d.posting_from).days + 1
    body = style(11, leading=20)
    cell = style(9.5)
    flow = [Paragraph(esc(d.title), style(16, align=1, bold=True)), Spacer(1, 4 * mm),
            Paragraph(f"根据有关规定,现将{esc(d.subject)}名单予以公示。公示期:{d.posting_from.isoformat()} 至 "
                      f"{d.posting_to.isoformat()}(共 {days} 天)。公示期内如有异议,请向{esc(d.station_name)}反映,"
                      f"电话:{esc(d.objection_phone)}。", body), Spacer(1, 3 * mm)]
    rows = [[Paragraph(c.title, cell) for c in d.columns]]
    for r in d.rows:
        rows.append([Paragraph(esc(r.get(c.key, "")), cell) for c in d.columns])
    total = ["合计", f"{len(d.rows)} 户"] + [""] * (len(d.columns) - 2)
    if "amount" in [c.key for c in d.columns]:
        total[[c.key for c in d.columns].index("amount")] = format_fen(d.total_fen)
    rows.append([Paragraph(t, cell) for t in total])
    table = Table(rows, colWidths=[c.width_mm * mm for c in d.columns], repeatRows=1)
    aligns = [("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(d.columns) if c.align == "RIGHT"]
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID), ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                               ("BACKGROUND", (0, -1), (-1, -1), LIGHT), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), *aligns]))
    flow += [table, Spacer(1, 6 * mm), Paragraph("特此公示。", body), Spacer(1, 4 * mm),
             Paragraph(f"{esc(d.station_name)}(盖章)<br/>{d.printed_on.isoformat()}", style(11, leading=20, align=2))]
    doc.build(flow)
