"""What goes on paper, gathered from the services and masked here, once.

Documents receive the records of ``printouts.records`` and never see an unmasked identity,
bank or phone number.
"""
from __future__ import annotations

from datetime import date

from printouts.records import CaseSheet, MaterialLine, RegisterSheet
from station.core.cases import RATING_LABELS, Status
from station.core.masking import mask_id, mask_phone
from station.errors import FieldError, ValidationFailed
from station.services import bulletin, cases, residents, settings, signing, users
from station.services.session import Session


def case_sheet(session: Session, ref: str) -> CaseSheet:
    state, _ = cases.load(session, ref)
    item = cases.received_item(session, state)
    person = residents.get(session, state.resident_id)
    by_name = {m.name: m for m in item.materials}

    def line(name: str) -> MaterialLine:
        m = by_name.get(name)
        return MaterialLine(name, m.form if m else "", m.copies if m else 1, bool(m and m.gap_allowed))
    proxy = dict(state.proxy) if state.proxy else None
    profile = bulletin.profile(session)  # the station's name, address, hours and phone as the supervisor set them
    if proxy and proxy.get("id_number"):
        proxy["id_number"] = mask_id(proxy["id_number"])
    if proxy and proxy.get("phone"):
        proxy["phone"] = mask_phone(proxy["phone"])
    return CaseSheet(
        station_name=profile.get("name") or session.station_name, station_code=session.station_code,
        station_phone=profile.get("phone") or settings.station_phone(session), number=state.number, item_name=item.name, item_code=item.code,
        department=item.department, deciding_level=item.deciding_level, promised_days=item.promised_days,
        resident_name=person["name"], resident_id=mask_id(person["id_number"]), resident_phone=mask_phone(person["phone"]),
        resident_address=" ".join(x for x in (person["village_group"], person["address"]) if x),
        received_on=state.received_on, due_on=state.due_on, due_estimated=state.due_estimated,
        received=tuple(line(n) for n in state.materials_received), missing=tuple(line(n) for n in state.missing),
        gap_promise=state.gap_promise, owner_name=users.display_names(session).get(state.owner, state.owner),
        proxy=proxy, home_visit=state.home_visit, token=signing.receipt_token(session, state.number, state.due_on),
        printed_on=session.today(), station_address=profile.get("address") or "", station_hours=profile.get("hours") or "")


REGISTER_MAX_DAYS = 366 * 3


def register_sheet(session: Session, period_from: date, period_to: date) -> RegisterSheet:
    if period_to < period_from or (period_to - period_from).days > REGISTER_MAX_DAYS:
        raise ValidationFailed("台账期间无效", [FieldError("period", "bad_period", "截止日期应不早于起始日期,期间不超过三年")])
    names = users.display_names(session)
    rows = session.store.query(
        "SELECT c.number, c.received_on, c.due_on, c.status, c.owner, c.rating, c.item_name, r.name, r.id_number, "
        "(SELECT max(json_extract(e.payload, '$.on')) FROM events e WHERE e.case_id = c.id AND e.type = 'decided') AS decided_on "
        "FROM cases c JOIN residents r ON r.id = c.resident_id WHERE c.received_on BETWEEN ? AND ? "
        "ORDER BY c.received_on, c.number", (period_from.isoformat(), period_to.isoformat()))
    out = tuple({"number": r["number"], "received_on": r["received_on"], "name": r["name"], "id_number": mask_id(r["id_number"]),
                 "item": r["item_name"], "status": Status(r["status"]).label, "due_on": r["due_on"] or "待补齐",
                 "decided_on": r["decided_on"] or "", "owner": names.get(r["owner"], r["owner"]),
                 "rating": RATING_LABELS.get(r["rating"], "") if r["rating"] else "",
                 "done": r["status"] in ("decided", "delivered", "rated")} for r in rows)
    return RegisterSheet(session.station_name, period_from, period_to, out, session.today(), session.user.display_name)


def ledger_rows(session: Session, ledger: str, program: str | None, period: str | None, village_group: str | None) -> list[dict]:
    """A ledger view for paper: every entry (corrections included), numbers masked."""
    from ledgers import service
    rows = service.entries(session, ledger, program, period, village_group, limit=10**9, masked=True)
    for r in rows:
        r["kind_label"] = service.KIND_LABELS[r["kind"]]
    return rows


def posting_from_ledger(session: Session, ledger: str, program: str, period: str, posting_from: date, posting_to: date):
    """The public posting (公示) of one ledger period: one line per household as it stands after
    corrections, every identity, bank and phone number masked by ``posting_rows``."""
    from printouts.records import Column, PostingSheet
    if posting_to < posting_from:
        raise ValidationFailed("公示期有误", [FieldError("posting_to", "bad_period", "公示截止日期不能早于开始日期")])
    from ledgers.posting import period_rows
    rows, total = period_rows(session, ledger, program, period)
    cols = [Column("序号", "seq", 12, "RIGHT"), Column("户主", "name", 20), Column("村民小组", "village_group", 18),
            Column("身份证号码", "id_number", 40), Column("银行卡号", "bank_card", 42)]
    cols += [Column("面积(亩)", "area", 18, "RIGHT")] if ledger == "subsidy" else []
    cols += [Column("金额(元)", "amount", 30 if ledger == "subsidy" else 48, "RIGHT")]
    label = {"subsidy": "发放名单", "relief": "救助对象名单"}[ledger]
    return PostingSheet(session.station_name, f"{session.station_name.replace('便民服务站', '')}{period}{program}{label}公示",
                        f"{period}{program}", posting_from, posting_to, settings.station_phone(session) or "见站内公示",
                        tuple(cols), rows, total, session.today())
