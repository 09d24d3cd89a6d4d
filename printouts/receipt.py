"""Receipt (受理回执) for the resident, with the station's stub (存根) on the same A4 sheet.

The QR code carries the signed receipt code (see ``station.services.signing``), which is also
printed in small type under it so it can be typed in where no scanner is at hand.
"""
from __future__ import annotations

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Frame, Paragraph, Spacer, Table, TableStyle

from printouts.layout import GRID, MARGIN, PORTRAIT, esc, font, style
from printouts.records import CaseSheet

QR_SIZE = 38 * mm


def _qr(value: str) -> Drawing:
    widget = QrCodeWidget(value, barLevel="M", barBorder=2)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _materials(lines, with_gap: bool) -> str:
    if not lines:
        return "无"
    return ";".join(f"{esc(m.name)}({esc(m.form)}{'×' + str(m.copies) if m.copies > 1 else ''})"
                    + ("[可容缺]" if with_gap and m.gap_allowed else "") for m in lines)


def _due(d: CaseSheet) -> str:
    if d.due_on is None:
        return f"材料补齐之日起 {d.promised_days} 个工作日内"
    return f"{d.due_on.isoformat()}(承诺 {d.promised_days} 个工作日{',按工作日估算' if d.due_estimated else ''})"


def _facts(d: CaseSheet, stub: bool) -> Table:
    body = style(10)
    rows = [("件号", d.number), ("申请人", f"{d.resident_name}  身份证 {d.resident_id}"),
            ("办理事项", f"{d.item_name}({d.department},{d.deciding_level}级办理)"),
            ("收件日期", d.received_on.isoformat()), ("办结期限", _due(d)),
            ("已收材料", _materials(d.received, False)), ("尚缺材料", _materials(d.missing, True))]
    if d.gap_promise:
        rows.append(("容缺受理", f"申请人承诺于 {d.gap_promise.isoformat()} 前补齐尚缺材料"))
    if d.proxy:
        rows.append(("委托代办", f"{d.proxy.get('name', '')}({d.proxy.get('relation', '')})"))
    rows.append(("首问代办员", d.owner_name))
    if not stub:
        rows.append(("服务站电话", d.station_phone or "(未设置)"))
        if d.station_address:
            rows.append(("服务站地址", d.station_address))
        if d.station_hours:
            rows.append(("办公时间", d.station_hours))
    table = Table([[Paragraph(k, body), Paragraph(esc(v), body)] for k, v in rows],
                  colWidths=[24 * mm, (PORTRAIT[0] - 2 * MARGIN - QR_SIZE - 30 * mm) if not stub else 150 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    table.hAlign = "LEFT"  # the QR code sits to the right of it
    return table


def _code_lines(token: str, width: float, size: float) -> list[str]:
    """The receipt code broken into lines no wider than the QR code."""
    lines, line = [], ""
    for ch in token:
        if stringWidth(line + ch, font(), size) > width:
            lines.append(line)
            line = ""
        line += ch
    return lines + [line]


def build(d: CaseSheet, out) -> None:
    """Write the receipt PDF to ``out`` (a path or a binary file object)."""
    width, height = PORTRAIT
    c = Canvas(out, pagesize=PORTRAIT, pageCompression=1)
    c.setTitle(f"受理回执 {d.number}")
    c.setAuthor(d.station_name)
    half = height / 2
    # Resident's part (top half)
    top = [Paragraph(esc(d.station_name), style(13, align=1)), Paragraph("代办事项受理回执", style(17, align=1, bold=True)),
           _facts(d, stub=False),
           Paragraph("本站免费代办。凭本回执件号可到本站或致电查询办理进度;扫描右上二维码可核验回执真伪。"
                     "纸质材料一律接收,不强制网上办理。", style(9))]
    Frame(MARGIN, half + 6 * mm, width - 2 * MARGIN, half - MARGIN - 6 * mm, showBoundary=0).addFromList(top, c)
    renderPDF.draw(_qr(d.token), c, width - MARGIN - QR_SIZE, height - MARGIN - QR_SIZE - 14 * mm)
    c.setFont(font(), 5.5)
    for i, part in enumerate(_code_lines(d.token, QR_SIZE, 5.5)):
        c.drawString(width - MARGIN - QR_SIZE, height - MARGIN - QR_SIZE - 17 * mm - i * 6.5, part)
    # Cut line
    c.setDash(4, 3)
    c.setLineWidth(0.6)
    c.line(MARGIN, half, width - MARGIN, half)
    c.setDash()
    c.setFont(font(), 8)
    c.drawCentredString(width / 2, half + 1.5 * mm, "沿此线剪开:上联交申请人,下联(存根)由服务站留存")
    # Station's stub (bottom half)
    stub = [Paragraph(f"受理回执存根 · {esc(d.station_name)}", style(13, align=1, bold=True)), _facts(d, stub=True),
            Spacer(1, 8 * mm), Paragraph(f"申请人(签字):______________    代办员(签字):______________    打印日期:{d.printed_on.isoformat()}",
                      style(10, leading=28))]
    Frame(MARGIN, MARGIN, width - 2 * MARGIN, half - MARGIN - 4 * mm, showBoundary=0).addFromList(stub, c)
    c.showPage()
    c.save()
