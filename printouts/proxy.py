"""Proxy authorization (代办委托书): the resident authorizes the station's clerk to handle the
item for them, with signature and thumbprint boxes; a relative who came on their behalf is named.
"""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printouts.layout import GRID, MARGIN, PORTRAIT, esc, style
from printouts.records import CaseSheet


def _signature_block(role: str) -> Table:
    cell = style(11)
    box = Table([[""]], colWidths=[26 * mm], rowHeights=[26 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, GRID)]))
    block = Table([[Paragraph(f"{role}(签字):", cell), "", Paragraph("按手印:", cell), box],
                   [Paragraph("日期:______年____月____日", cell), "", "", ""]],
                  colWidths=[60 * mm, 20 * mm, 20 * mm, 30 * mm], rowHeights=[28 * mm, 10 * mm])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return block


def build(d: CaseSheet, out) -> None:
    doc = SimpleDocTemplate(out, pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"代办委托书 {d.number}", author=d.station_name)
    body = style(11.5, leading=22)
    flow = [Paragraph("代办委托书", style(18, align=1, bold=True)), Paragraph(f"编号:{d.number}", style(10, align=2)),
            Spacer(1, 5 * mm),
            Paragraph(f"委托人:{esc(d.resident_name)}    身份证号码:{d.resident_id}", body),
            Paragraph(f"联系电话:{d.resident_phone or '—'}    住址:{esc(d.resident_address) or '—'}", body),
            Paragraph(f"受托人:{esc(d.owner_name)}({esc(d.station_name)}代办员)", body)]
    if d.proxy:
        who = f"{esc(d.proxy.get('name', ''))}({esc(d.proxy.get('relation', ''))})"
        if d.proxy.get("id_number"):
            who += f",身份证号码 {d.proxy['id_number']}"
        flow.append(Paragraph(f"代委托人到场办理:{who}", body))
    flow += [Spacer(1, 4 * mm),
             Paragraph(f"本人自愿委托上述代办员,代为办理“{esc(d.item_name)}”事项,包括递交申请材料、领取办理结果及相关告知事项。"
                       "代办服务免费。本人对所提供材料的真实性负责。委托期限自签字之日起至该事项办结之日止。", body),
             Spacer(1, 10 * mm), _signature_block("委托人"), Spacer(1, 6 * mm), _signature_block("受托代办员")]
    if d.proxy:
        flow += [Spacer(1, 6 * mm), _signature_block("到场代办人")]
    doc.build(flow)
