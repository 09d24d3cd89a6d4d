"""One-time notice (一次性告知书): everything still missing, in one list, where and by when.

With accept-with-gaps (容缺受理) it carries the resident's promise and a signature line.
"""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printouts.layout import GRID, LIGHT, MARGIN, PORTRAIT, esc, style
from printouts.records import CaseSheet


def build(d: CaseSheet, out) -> None:
    doc = SimpleDocTemplate(out, pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"一次性告知书 {d.number}", author=d.station_name)
    body = style(11, leading=20)
    cell = style(10)
    flow = [Paragraph(esc(d.station_name), style(13, align=1)), Paragraph("一次性告知书", style(18, align=1, bold=True)),
            Paragraph(f"编号:{d.number}", style(10, align=2)), Spacer(1, 4 * mm),
            Paragraph(f"{esc(d.resident_name)}(身份证 {d.resident_id}):", body),
            Paragraph(f"您于 {d.received_on.isoformat()} 在本站申请办理“{esc(d.item_name)}”。经审查,"
                      f"还需补齐以下 {len(d.missing)} 项材料。本站一次性告知全部所缺材料,不再另行要求其他材料:", body),
            Spacer(1, 3 * mm)]
    rows = [[Paragraph(h, cell) for h in ("序号", "材料名称", "形式", "份数", "说明")]]
    for i, m in enumerate(d.missing, 1):
        rows.append([Paragraph(str(i), cell), Paragraph(esc(m.name), cell), Paragraph(esc(m.form), cell),
                     Paragraph(str(m.copies), cell), Paragraph("可容缺,须按承诺补交" if m.gap_allowed else "必须提供", cell)])
    table = Table(rows, colWidths=[12 * mm, 86 * mm, 26 * mm, 14 * mm, 42 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID), ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    flow += [table, Spacer(1, 4 * mm)]
    where = f"{esc(d.station_name)}(电话 {esc(d.station_phone or '见站内公示')})"
    if d.gap_promise:
        flow += [Paragraph(f"本件已按容缺受理办理。请于 <b>{d.gap_promise.isoformat()}</b> 前将上述材料一次性交到{where}。"
                           f"办结期限为 {d.due_on.isoformat() if d.due_on else ''}。", body),
                 Paragraph("承诺:本人承诺在上述日期前补齐所缺材料,所提供材料真实有效;逾期未补齐的,同意按规定处理。", body),
                 Spacer(1, 8 * mm),
                 Paragraph("申请人(签字):__________________    日期:________年____月____日", style(11, leading=24))]
    else:
        flow += [Paragraph(f"请将上述材料一次性交到{where}。材料补齐之日起,本站在 {d.promised_days} 个工作日内办结"
                           f"(由{esc(d.department)}办理)。", body),
                 Spacer(1, 8 * mm),
                 Paragraph("申请人(签收):__________________    日期:________年____月____日", style(11, leading=24))]
    flow += [Spacer(1, 6 * mm),
             Paragraph(f"首问代办员:{esc(d.owner_name)}    服务站(盖章)    {d.printed_on.isoformat()}", style(11, align=2))]
    doc.build(flow)
