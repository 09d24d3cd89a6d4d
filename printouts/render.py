"""One entry point for the CLI and the TUI: a kind of document and what it is about → PDF bytes."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from printouts import data, fonts, notice, posting, proxy, receipt, register
from printouts import ledger as ledger_doc
from station.errors import FieldError, ValidationFailed
from station.services import audit
from station.services.session import Session

KINDS = {"receipt": "受理回执", "notice": "一次性告知书", "proxy": "代办委托书", "register": "代办登记台账",
         "ledger": "台账(补贴/救助)", "posting": "公示名单", "poster": "九个一公示牌", "board": "公示栏公告/公示",
         "correction": "补正通知"}


POSTING_DAYS = 7  # 公示 usually runs five to seven days; the county's rules (posting_min_days) decide


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    title: str
    warning: str | None  # e.g. the font set with STATION_FONT could not be used
    font: str | None = None  # the font file the document was built with


def render(session: Session, kind: str, ref: str | None = None, period_from: date | None = None,
           period_to: date | None = None, ledger: str = "subsidy", program: str | None = None, period: str | None = None,
           village_group: str | None = None) -> Rendered:
    """Build the document; refused (``fonts.FontMissing``) when no font on the machine can draw
    every character it holds — checked on what was actually drawn, so a rare character in a name
    sends the build to a font that has it, or stops it, instead of leaving a blank on paper."""
    choice = fonts.cjk_font()
    args = (session, kind, ref, period_from, period_to, ledger, program, period, village_group)
    with fonts.recording() as drawn:
        pdf, title, target = _build(*args)
    used = choice
    lacking = fonts.lacking_drawn(choice, drawn)
    if lacking:
        with fonts.using(fonts.covering(lacking)) as used, fonts.recording() as drawn:
            pdf, title, target = _build(*args)
        if fonts.lacking_drawn(used, drawn):  # pragma: no cover - covering() checked these very characters
            raise fonts.FontMissing(f"不能打印:本机字体缺少“{fonts.lacking_drawn(used, drawn)}”。{fonts.install_hint()}。")
    with session.store.transaction() as db:  # who printed what: paper with personal data leaves the station
        audit.record(db, session.user.username, "print", target, {"kind": kind})
    return Rendered(pdf, title, choice.warning, used.path)


def _build(session: Session, kind: str, ref, period_from, period_to, ledger, program, period,
           village_group) -> tuple[bytes, str, str]:
    if kind not in KINDS:
        raise ValidationFailed("未知的打印类型", [FieldError("kind", "unknown_kind", "可打印:" + "、".join(f"{k}({v})" for k, v in KINDS.items()))])
    buffer = io.BytesIO()
    if kind in ("poster", "board"):
        from printouts import bulletin as bulletin_doc
        from station.services import bulletin
        if kind == "poster":
            profile = bulletin.profile(session)
            bulletin_doc.build_poster(profile, [i.name for i in session.catalog.items], bulletin.check(session), buffer)
            title = f"{profile['name']} 九个一"
            target = "poster"
        else:
            if not ref:
                raise ValidationFailed("请指定公示编号", [FieldError("ref", "required", "打印公示须先选定一条公示")])
            n = bulletin.notice(session, ref)
            bulletin_doc.build_notice(n, session.station_name, bulletin.profile(session).get("phone"), session.today(), buffer)
            title = n["title"]
            target = n["id"]
    elif kind in ("ledger", "posting"):
        if not program or not period:
            raise ValidationFailed("请指定项目和期间", [FieldError("program", "required", "打印台账或公示须指定项目和期间")])
        if kind == "ledger":
            rows = data.ledger_rows(session, ledger, program, period, village_group)
            title = f"{'涉农补贴' if ledger == 'subsidy' else '民政救济'}台账 · {program}"
            ledger_doc.build(ledger_doc.table(session.station_name, title, period, rows, session.today(), session.user.display_name), buffer)
        else:
            today = session.today()
            sheet = data.posting_from_ledger(session, ledger, program, period, period_from or today,
                                             period_to or today + timedelta(days=session.rules().posting_min_days - 1))
            posting.build(sheet, buffer)
            title = sheet.title
        target = f"{ledger}/{program}/{period}"
    elif kind == "register":
        today = session.today()
        sheet = data.register_sheet(session, period_from or today.replace(day=1), period_to or today)
        register.build(sheet, buffer)
        title = f"代办登记台账 {sheet.period_from}~{sheet.period_to}"
        target = title
    else:
        if not ref:
            raise ValidationFailed("请指定件号", [FieldError("ref", "required", f"打印{KINDS[kind]}须指定件号")])
        sheet = data.case_sheet(session, ref)
        if kind == "notice" and not sheet.missing:
            raise ValidationFailed("无需一次性告知书", [FieldError("kind", "nothing_missing", f"{sheet.number} 材料已齐,无需一次性告知书")])
        if kind == "correction" and not (sheet.gap_promise and sheet.missing and sheet.gap_promise < session.today()):
            raise ValidationFailed("无需补正通知", [FieldError("kind", "no_overdue_gap", f"{sheet.number} 没有逾期未补交的容缺材料")])
        from printouts import correction
        {"receipt": receipt.build, "notice": notice.build, "proxy": proxy.build, "correction": correction.build}[kind](sheet, buffer)
        title = f"{KINDS[kind]} {sheet.number}"
        target = sheet.number
    return buffer.getvalue(), title, target
