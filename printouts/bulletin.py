"""The bulletin on paper: the station's 九个一 poster for the wall, and a notice (公告 / 公示) for
the board. A posting's notice carries its masked rows and prints as the posting table."""
from __future__ import annotations

from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printouts import posting
from printouts.layout import GRID, LIGHT, MARGIN, PORTRAIT, esc, style
from printouts.records import Column, PostingSheet


def build_poster(profile: dict, items: list[str], checklist: list, out) -> None:
    doc = SimpleDocTemplate(out, pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                            title=f"{profile['name']} 九个一", author=profile["name"])
    body, small = style(11.5, leading=19), style(10, leading=15)
    flow = [Paragraph(esc(profile["name"]), style(22, align=1, bold=True)), Paragraph("免费代办 · 一站式服务", style(13, align=1)),
            Spacer(1, 5 * mm)]
    facts = [("地址", profile.get("address") or "—"), ("办公时间", profile.get("hours") or "—"),
             ("赶集日", profile.get("market_day_hours") or "—"), ("服务电话", profile.get("phone") or "—"),
             ("在岗代办员", "、".join(profile.get("clerks_on_duty") or []) or "—"), ("一站式办结", profile.get("one_stop") or "—")]
    table = Table([[Paragraph(k, body), Paragraph(esc(v), body)] for k, v in facts], colWidths=[30 * mm, 150 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID), ("BACKGROUND", (0, 0), (0, -1), LIGHT),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    flow += [table, Spacer(1, 5 * mm), Paragraph("服务制度", style(14, bold=True))]
    for name, text in (profile.get("rules") or {}).items():
        if text:
            flow.append(Paragraph(f"<b>{esc(name)}</b>:{esc(text)}", body))
    flow += [Spacer(1, 4 * mm), Paragraph(f"可代办事项({len(items)} 项,办事须知在站内查阅)", style(14, bold=True)),
             Paragraph("、".join(esc(i) for i in items), small), Spacer(1, 5 * mm),
             Paragraph("九个一:" + " · ".join(("✓" if c.ok else "○") + c.label for c in checklist), small),
             Paragraph(f"打印日期 {date.today().isoformat()}", style(9, align=2))]
    doc.build(flow)


def build_notice(n: dict, station_name: str, phone: str | None, today: date, out) -> None:
    if n.get("posting"):
        p = n["posting"]
        cols = [Column("序号", "seq", 12, "RIGHT"), Column("户主", "name", 20), Column("村民小组", "village_group", 18),
                Column("身份证号码", "id_number", 40), Column("银行卡号", "bank_card", 42)]
        cols += [Column("面积(亩)", "area", 18, "RIGHT")] if p["ledger"] == "subsidy" else []
        cols += [Column("金额(元)", "amount", 30 if p["ledger"] == "subsidy" else 48, "RIGHT")]
        sheet = PostingSheet(station_name, n["title"], f"{p['period']}{p['program']}", date.fromisoformat(n["posting_from"]),
                             date.fromisoformat(n["posting_to"]), phone or "见站内公示", tuple(cols), tuple(p["rows"]),
                             p["total_fen"], today)
        posting.build(sheet, out)
        return
    doc = SimpleDocTemplate(out, pagesize=PORTRAIT, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                            title=n["title"], author=station_name)
    body = style(12, leading=22)
    flow = [Paragraph(esc(n["title"]), style(18, align=1, bold=True)), Spacer(1, 6 * mm)]
    flow += [Paragraph(esc(p), body) for p in n["body"].splitlines() if p.strip()]
    if n.get("posting_from"):
        flow += [Spacer(1, 4 * mm), Paragraph(f"公示期:{n['posting_from']} 至 {n['posting_to']}。如有异议,请向{esc(station_name)}反映"
                                              f"{',电话 ' + esc(phone) if phone else ''}。", body)]
    flow += [Spacer(1, 10 * mm), Paragraph(f"{esc(station_name if n['source'] == 'station' else n['source'])}<br/>{today.isoformat()}",
                                           style(12, leading=22, align=2))]
    doc.build(flow)
