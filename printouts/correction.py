"""补正通知: the reminder for a case accepted with gaps (容缺受理) whose promised date passed with
materials still missing — what is missing, the date that was promised, and where to bring it."""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printouts.layout import GRID, LIGHT, MARGIN, PORTRAIT, esc, style
from printouts.records import CaseSheet


def build(d: CaseSheet, out) -> None:
    doc = SimpleDocTemplate(out, pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"补正通知 {d.number}", author=d.station_name)
    body = style(11, leading=20)
    cell = style(10)
    late = (d.printed_on - d.gap_promise).days if d.gap_promise else 0
    flow = [Paragraph(esc(d.station_name), style(13, align=1)), Paragraph("补正通知", style(18, align=1, bold=True)),
            Paragraph(f"编号:{d.number}", style(10, align=2)), Spacer(1, 4 * mm),
            Paragraph(f"{esc(d.resident_name)}(身份证 {d.resident_id}):", body),
            Paragraph(f"您于 {d.received_on.isoformat()} 在本站申请办理“{esc(d.item_name)}”,本站按容缺受理办理。"
                      f"您承诺于 {d.gap_promise.isoformat() if d.gap_promise else ''} 前补交以下材料,"
                      f"至今已逾期 {late} 天,仍缺以下 {len(d.missing)} 项:", body),
            Spacer(1, 3 * mm)]
    rows = [[Paragraph(h, cell) for h in ("序号", "材料名称", "形式", "份数")]]
    for i, m in enumerate(d.missing, 1):
        rows.append([Paragraph(str(i), cell), Paragraph(esc(m.name), cell), Paragraph(esc(m.form), cell), Paragraph(str(m.copies), cell)])
    table = Table(rows, colWidths=[14 * mm, 110 * mm, 36 * mm, 20 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID), ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    where = f"{esc(d.station_name)}(电话 {esc(d.station_phone or '见站内公示')})"
    flow += [table, Spacer(1, 4 * mm),
             Paragraph(f"请尽快将上述材料交到{where}。逾期仍未补齐的,将按容缺受理承诺的约定处理。", body),
             Spacer(1, 8 * mm),
             Paragraph("申请人(签收):__________________    日期:________年____月____日", style(11, leading=24)),
             Spacer(1, 6 * mm),
             Paragraph(f"首问代办员:{esc(d.owner_name)}    服务站(盖章)    {d.printed_on.isoformat()}", style(11, align=2))]
    doc.build(flow)
