"""Cases (代办件): intake, events, and the queries the Today screen and the case list use.

Writing a case event is one transaction: the event row (with the station's next outbox
sequence number), the re-folded projection row in ``cases``, and the audit entry. The
``cases`` table is only a projection for fast queries; the events are the truth.
"""
from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from station.core.cases import (
    OPEN_STATUSES,
    TOWNSHIP_EVENTS,
    CaseEvent,
    CaseState,
    EventType,
    Status,
    check,
    fold,
)
from station.core.ids import new_id
from station.core.intake import IntakePlan, plan_intake
from station.core.masking import mask_document
from station.core.models import CatalogItem
from station.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from station.services import audit, outbox, residents
from station.services.session import Session

if TYPE_CHECKING:
    import sqlite_utils

# "Due soon" on the Today screen: due within this many working days (the default; the rules in force decide).
DUE_SOON_WORKDAYS = 2
# Closing a case (delivering its result, withdrawing it) with 容缺 materials still missing asks for confirmation.
GAP_CONFIRMED_EVENTS = (EventType.DELIVERED, EventType.WITHDRAWN)
# Events written only by their own service, never typed in as such.
SYSTEM_EVENTS = {EventType.RECEIVED: "新收件请用收件登记",
                 EventType.ATTACHMENT_ADDED: "扫描件请用附加功能", EventType.DUE_CORRECTED: "期限在导入节假日安排时自动更正",
                 EventType.NOTICE_ISSUED: "一次性告知书在收件时自动出具",
                 EventType.RATING_CLOSED: "评价期按考核规则自动结束"}
LIST_COLUMNS = ("c.id, c.number, c.resident_id, r.name AS resident_name, c.item_code, c.item_name, c.status, c.owner, "
                "c.received_on, c.due_on, c.due_estimated, c.follow_up, c.rating")
LIST_FROM = "cases c JOIN residents r ON r.id = c.resident_id"


def _raise(problems: list[FieldError], title: str):
    if any(p.code == "illegal_transition" for p in problems):
        raise IllegalTransition(title, problems)
    raise ValidationFailed(title, problems)


def write_event(db: sqlite_utils.Database, session: Session, case_id: str, etype: EventType, payload: dict) -> CaseEvent:
    event = CaseEvent(id=new_id(), case_id=case_id, type=etype, stamp=session.clock.now(),
                      node=session.station_code, user=session.user.username, payload=payload)
    seq = outbox.add(db, "event", event.id)
    db.execute("INSERT INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) "
               "VALUES (?,?,?,?,?,?,?,?,?)",
               (event.id, case_id, etype.value, event.stamp, event.node, event.user,
                json.dumps(payload, ensure_ascii=False, separators=(",", ":")), seq, audit.now_iso()))
    return event


def project(db: sqlite_utils.Database, state: CaseState) -> None:
    db.execute(
        "INSERT INTO cases (id, number, resident_id, item_code, item_name, status, owner, received_on, due_on, "
        "due_estimated, follow_up, rating, updated_stamp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET status = excluded.status, due_on = excluded.due_on, "
        "due_estimated = excluded.due_estimated, follow_up = excluded.follow_up, rating = excluded.rating, "
        "updated_stamp = excluded.updated_stamp",
        (state.id, state.number, state.resident_id, state.item_code, state.item_name or "", state.status.value,
         state.owner, state.received_on.isoformat(), state.due_on.isoformat() if state.due_on else None,
         int(state.due_estimated), state.follow_up, state.rating, state.updated_stamp))


def _next_number(db: sqlite_utils.Database, station_code: str, year: int) -> str:
    """Station code + year + sequence, e.g. XX0101-2026-000042 (printable, easy to read out)."""
    name = f"case:{year}"
    value = db.execute("INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 "
                       "RETURNING value", (name,)).fetchone()[0]
    return f"{station_code}-{year}-{value:06d}"


def _item(session: Session, code) -> CatalogItem:
    item = session.catalog.item(str(code or ""))
    if item is None:
        raise ValidationFailed("事项不存在", [FieldError("item", "unknown_item", f"事项清单({session.catalog.version})中没有编码为“{code}”的事项")])
    return item


def intake(session: Session, doc: dict) -> dict:
    """Receive a case (收件): resident, item, materials; the one-time notice if anything is missing."""
    if not isinstance(doc, dict):
        raise ValidationFailed("收件信息格式不正确", [FieldError("document", "not_object", "收件信息应为一个 JSON 对象")])
    today = session.today()
    errors: list[FieldError] = []
    person = info = None
    try:
        person, info = residents.validate(doc.get("resident") or {}, today, "resident.")
    except ValidationFailed as exc:
        errors += exc.details
    item = None
    try:
        item = _item(session, doc.get("item"))
    except ValidationFailed as exc:
        errors += exc.details
    plan = plan_intake(item, doc, today, session.calendar()) if item else None
    if isinstance(plan, list):
        errors += plan
    if errors:
        raise ValidationFailed("收件信息有误,未保存", errors)
    assert isinstance(plan, IntakePlan) and item and person and info
    case_id = new_id()
    with session.store.transaction() as db:
        resident_id, resident_entry = residents.write(db, person, info)
        number = _next_number(db, session.station_code, plan.received_on.year)
        payload = {
            "number": number, "resident_id": resident_id, "item_code": item.code, "item_name": item.name,
            "catalog_version": session.catalog.version, "owner": session.user.username,
            "received_on": plan.received_on.isoformat(),
            "due_on": plan.due.due.isoformat() if plan.due else None,
            "due_estimated": bool(plan.due and plan.due.estimated),
            "materials_required": plan.materials_required, "materials_received": plan.materials_received,
            "gap_allowed": plan.gap_allowed,
            "gap_promise": plan.gap_promise.isoformat() if plan.gap_promise else None,
            "proxy": plan.proxy, "home_visit": plan.home_visit,
        }
        events = [write_event(db, session, case_id, EventType.RECEIVED, payload)]
        if plan.missing:
            events.append(write_event(db, session, case_id, EventType.NOTICE_ISSUED, {
                "on": plan.received_on.isoformat(),
                "missing": [item.material(m).model_dump(mode="json") for m in plan.missing],
                "accepted_with_gaps": plan.gap_promise is not None,
                "promised_date": plan.gap_promise.isoformat() if plan.gap_promise else None,
            }))
        if plan.note:
            events.append(write_event(db, session, case_id, EventType.NOTE, {"text": plan.note, "on": plan.received_on.isoformat()}))
        state = fold(case_id, events)
        project(db, state)
        entries = [resident_entry] if resident_entry else []
        entries.append(("case.intake", number, {"item": item.code, "missing": len(plan.missing), "with_gaps": plan.gap_promise is not None}))
        audit.record_all(db, session.user.username, entries)
    warnings = [plan.due.warning] if plan.due and plan.due.warning else []
    if not plan.complete:
        could_gap = item.allows_gaps and all(item.material(m).gap_allowed for m in plan.missing)
        warnings.append(("材料未齐,未选容缺受理" if could_gap else "材料未齐且不能容缺")
                        + ":已出具一次性告知书,材料补齐后开始计算办结期限")
    return {"id": case_id, "number": number, "status": state.status.value, "status_label": state.status.label,
            "due_on": payload["due_on"], "due_estimated": payload["due_estimated"], "missing": plan.missing,
            "notice_issued": bool(plan.missing), "warnings": warnings}


def _case_row(session: Session, ref: str) -> dict:
    row = session.store.one("SELECT id, number FROM cases WHERE number = ? OR id = ?", (ref.strip().upper(), ref.strip()))
    if row is None:
        raise NotFound(f"没有找到件号为“{ref}”的代办件")
    return row


def events_of(session: Session, case_id: str) -> list[CaseEvent]:
    rows = session.store.query("SELECT id, case_id, type, stamp, node, user, payload FROM events WHERE case_id = ? "
                               "ORDER BY stamp, id", (case_id,))
    return [CaseEvent(id=r["id"], case_id=r["case_id"], type=EventType(r["type"]), stamp=r["stamp"], node=r["node"],
                      user=r["user"], payload=json.loads(r["payload"])) for r in rows]


def load(session: Session, ref: str) -> tuple[CaseState, list[CaseEvent]]:
    row = _case_row(session, ref)
    events = events_of(session, row["id"])
    return fold(row["id"], events), events


def is_enrolled(session: Session) -> bool:
    """Whether the station syncs with a township hub (which then records the township's own steps)."""
    return session.store.scalar("SELECT count(*) FROM peers") > 0


def add_event(session: Session, ref: str, etype: EventType | str, payload: dict | None = None) -> CaseState:
    """Record one thing that happened to a case, if its current state allows it."""
    try:
        etype = EventType(etype)
    except ValueError:
        raise ValidationFailed("未知的事件类型", [FieldError("type", "unknown_event", f"没有“{etype}”这种事件;可用:"
                               + "、".join(e.value for e in EventType if e != EventType.RECEIVED))]) from None
    if etype in SYSTEM_EVENTS:
        raise ValidationFailed(f"“{etype.label}”不能直接记录", [FieldError("type", "system_event", SYSTEM_EVENTS[etype])])
    if etype == EventType.APPEAL_DECIDED:  # sync.policy refuses it from any station too
        raise ValidationFailed("申诉由乡镇复核决定", [FieldError(
            "type", "township_event", "服务站只能提出申诉,复核决定(维持或撤销)由乡镇作出并同步下来")])
    payload = dict(payload or {})
    payload.pop("transcribed", None)  # set here from the station's enrolment, never taken from the caller
    if etype in TOWNSHIP_EVENTS:
        if is_enrolled(session):
            raise ValidationFailed(f"“{etype.label}”由乡镇记录", [FieldError(
                "type", "township_event", "本站已在乡镇登记联网:乡镇的受理、退回和办理结果由乡镇系统发来,不能在本站录入")])
        # A township that decides on paper: the clerk transcribes the paper decision, marked as such; the
        # township's own record of it, if one ever arrives, supersedes the transcription.
        payload["transcribed"] = True
    for key in ("bad", "rules_version", "revisit_due", "rectify_due", "due_estimated"):
        payload.pop(key, None)  # computed here from the rules in force, never taken from the caller
    today = session.today()
    state, events = load(session, ref)
    on = payload.get("on", today.isoformat())
    try:
        on_date = date.fromisoformat(str(on))
    except ValueError:
        on_date = None
    if on_date and etype in (EventType.RATED, EventType.FOLLOW_UP_RATED):
        _stamp_rating(session, state, etype, payload, on_date)
    problems = check(state, etype, payload)
    if on_date is None:
        problems.append(FieldError("on", "bad_date", "日期格式应为 年-月-日"))
    if on_date and (on_date > today or on_date < state.received_on):
        problems.append(FieldError("on", "bad_date", f"日期应在收件日 {state.received_on} 与今天之间"))
    if problems:
        _raise(problems, f"{state.number}:不能{etype.label}")
    payload["on"] = on_date.isoformat()
    if etype in GAP_CONFIRMED_EVENTS and state.gap_outstanding:
        # 容缺 materials never came: the clerk confirms going on without them, and the event keeps what was missing
        if payload.get("gap_confirmed") is not True:
            raise ValidationFailed(f"{state.number}:容缺材料尚未补交", [FieldError(
                "gap_confirmed", "gap_unconfirmed", f"承诺 {state.gap_promise} 前补交的材料仍缺:" + "、".join(state.gap_outstanding)
                + f"。确认仍要{etype.label}吗?")])
        payload["gap_missing"] = state.gap_outstanding
    else:
        payload.pop("gap_confirmed", None)
    if etype == EventType.MATERIALS_ADDED:
        after = state.model_copy(update={"materials_received": state.materials_received + list(payload["materials"])})
        if state.due_on is None and not after.missing_essential:
            item = received_item(session, state)
            due = session.calendar().add_workdays(on_date, item.promised_days)
            payload.update(due_on=due.due.isoformat(), due_estimated=due.estimated)
    with session.store.transaction() as db:
        event = write_event(db, session, state.id, etype, payload)
        new_state = fold(state.id, events + [event])
        project(db, new_state)
        audit.record(db, session.user.username, f"case.{etype.value}", state.number,
                     {k: v for k, v in payload.items() if k in ("outcome", "level", "method", "on", "transcribed")})
    return new_state


def _stamp_rating(session: Session, state: CaseState, etype: EventType, payload: dict, on: date) -> None:
    """What the rules in force say about a rating, written into its payload: whether it is a 差评 and
    when its 回访 and 整改 fall due (in working days). A later change of the rules never moves them."""
    try:
        payload["level"] = int(payload["level"])
    except (KeyError, TypeError, ValueError):
        return  # ``check`` names the missing level
    payload.setdefault("channel", "现场评价")
    if etype == EventType.FOLLOW_UP_RATED:
        return
    rules, cal = session.rules(), session.calendar()
    payload["bad"] = rules.is_bad(payload["level"])
    payload["rules_version"] = rules.version
    category = payload.pop("reason_category", None)
    if isinstance(payload.get("reason"), str) or category is not None:
        payload["reason"] = {"category": category, "text": (payload.get("reason") or "").strip()}
    if not payload["bad"]:
        payload.pop("reason", None)
        return
    revisit, rectify = rules.revisit_due(on, cal), rules.rectify_due(on, cal)
    payload.update(revisit_due=revisit.due.isoformat(), rectify_due=rectify.due.isoformat(),
                   due_estimated=revisit.estimated or rectify.estimated)


def correct_estimated_deadlines(db: sqlite_utils.Database, session: Session, reason: str) -> int:
    """Recompute deadlines that were guessed on weekdays, now that the calendar knows more.

    Runs inside the caller's transaction (the calendar import), so the new calendar and the
    corrected deadlines land together. Returns how many cases changed.
    """
    calendar = session.calendar()
    changed = 0
    open_in = ",".join(f"'{s.value}'" for s in OPEN_STATUSES)
    for (case_id,) in db.execute(f"SELECT id FROM cases WHERE due_estimated = 1 AND status IN ({open_in})").fetchall():
        events = events_of(session, case_id)
        state = fold(case_id, events)
        if state.due_from is None:
            continue
        due = calendar.add_workdays(state.due_from, received_item(session, state).promised_days)
        if due.due == state.due_on and due.estimated == state.due_estimated:
            continue
        event = write_event(db, session, case_id, EventType.DUE_CORRECTED, {
            "due_on": due.due.isoformat(), "due_estimated": due.estimated, "reason": reason,
            "on": session.today().isoformat(), "was": state.due_on.isoformat() if state.due_on else None})
        project(db, fold(case_id, events + [event]))
        changed += 1
    if changed:
        audit.record(db, session.user.username, "case.due_corrected", None, {"cases": changed, "reason": reason})
    return changed


def received_item(session: Session, state: CaseState) -> CatalogItem:
    row = session.store.one("SELECT data FROM catalog_items WHERE version = ? AND code = ?",
                            (state.catalog_version, state.item_code))
    return CatalogItem.model_validate_json(row["data"]) if row else _item(session, state.item_code)


def _where(session: Session, *, status: str | None = None, item: str | None = None, owner: str | None = None,
           overdue: bool = False, due_soon: bool = False, follow_up_open: bool = False,
           received_from: date | None = None, received_to: date | None = None) -> tuple[str, list]:
    """The WHERE clause of the case list's filters (every one served by an index)."""
    where, params = [], []
    today = session.today()
    if status:
        where.append("c.status = ?")
        params.append(Status(status).value)
    if item:
        where.append("c.item_code = ?")
        params.append(item)
    if owner:
        where.append("c.owner = ?")
        params.append(owner)
    if overdue or due_soon:
        where.append(f"c.status IN ({','.join('?' * len(OPEN_STATUSES))})")
        params += [s.value for s in OPEN_STATUSES]
    if overdue:
        where.append("c.due_on < ?")
        params.append(today.isoformat())
    if due_soon:
        soon = session.calendar().add_workdays(today, session.rules().due_soon_workdays).due
        where.append("c.due_on BETWEEN ? AND ?")
        params += [today.isoformat(), soon.isoformat()]
    if follow_up_open:
        where.append("c.follow_up = 'open'")
    if received_from:
        where.append("c.received_on >= ?")
        params.append(received_from.isoformat())
    if received_to:
        where.append("c.received_on <= ?")
        params.append(received_to.isoformat())
    return (" WHERE " + " AND ".join(where)) if where else "", params


LIST_ORDERS = {"newest": "c.received_on DESC, c.number DESC",
               # What must be done first: the oldest due date on top; cases without one (待补齐) last.
               "due": "c.due_on IS NULL, c.due_on, c.number"}


def list_cases(session: Session, *, limit: int = 50, offset: int = 0, order: str = "newest", **filters) -> list[dict]:
    """One page of cases, newest first (or ``order="due"``: oldest due date first). Filters: see ``_where``."""
    where, params = _where(session, **filters)
    rows = session.store.query(f"SELECT {LIST_COLUMNS} FROM {LIST_FROM}{where} "
                               f"ORDER BY {LIST_ORDERS[order]} LIMIT ? OFFSET ?", (*params, limit, offset))
    today = session.today().isoformat()
    open_values = {s.value for s in OPEN_STATUSES}
    for r in rows:
        r["status_label"] = Status(r["status"]).label
        r["overdue"] = r["status"] in open_values and bool(r["due_on"]) and r["due_on"] < today
    return rows


def count_cases(session: Session, **filters) -> int:
    where, params = _where(session, **filters)
    return session.store.scalar(f"SELECT count(*) FROM cases c{where}", tuple(params))


def counts_for_today(session: Session) -> dict:
    """The numbers on the Today screen."""
    today = session.today()
    open_in = ",".join(f"'{s.value}'" for s in OPEN_STATUSES)
    soon = session.calendar().add_workdays(today, session.rules().due_soon_workdays).due
    s = session.store
    return {
        "received_today": s.scalar("SELECT count(*) FROM cases WHERE received_on = ?", (today.isoformat(),)),
        "overdue": s.scalar(f"SELECT count(*) FROM cases WHERE status IN ({open_in}) AND due_on < ?", (today.isoformat(),)),
        "due_soon": s.scalar(f"SELECT count(*) FROM cases WHERE status IN ({open_in}) AND due_on BETWEEN ? AND ?",
                             (today.isoformat(), soon.isoformat())),
        "results_to_deliver": s.scalar("SELECT count(*) FROM cases WHERE status = 'decided'"),
        "follow_ups_open": s.scalar("SELECT count(*) FROM cases WHERE follow_up = 'open'"),
        "follow_ups_overdue": len(overdue_follow_ups(session)),
        "calendar_warning": session.calendar().coverage_warning(today),
    }


def close_unrated(session: Session) -> list[str]:
    """Close the rating window of delivered cases nobody rated, when the rules say so (after N working
    or calendar days from delivery). Returns the case numbers closed; nothing when the rules keep it open."""
    rules, cal, today = session.rules(), session.calendar(), session.today()
    if rules.unrated_close_days is None:
        return []
    closed = []
    with session.store.transaction() as db:
        for row in db.execute("SELECT id FROM cases WHERE status = 'delivered' ORDER BY number").fetchall():
            events = events_of(session, row[0])
            state = fold(row[0], events)
            delivered = next((e for e in reversed(events) if e.type == EventType.DELIVERED), None)
            if state.rating_closed_on or delivered is None:
                continue
            ends = rules.unrated_close_on(date.fromisoformat(delivered.payload["on"]), cal)
            if ends is None or ends >= today:
                continue
            event = write_event(db, session, row[0], EventType.RATING_CLOSED, {
                "on": today.isoformat(), "delivered_on": delivered.payload["on"], "rules_version": rules.version,
                "days": rules.unrated_close_days, "counting": rules.unrated_close_counting})
            project(db, fold(row[0], events + [event]))
            closed.append(state.number)
        if closed:
            audit.record(db, session.user.username, "case.rating_closed", None, {"cases": len(closed), "rules": rules.version})
    return closed


def overdue_gaps(session: Session) -> list[dict]:
    """Cases accepted with gaps (容缺) whose promised date passed with materials still missing."""
    today, out = session.today(), []
    rows = session.store.query(
        f"SELECT c.id, c.number, c.item_name, c.due_on, r.name AS resident_name FROM {LIST_FROM} JOIN events e ON e.case_id = c.id "
        "WHERE e.type = 'received' AND json_extract(e.payload, '$.gap_promise') < ? AND c.status NOT IN ('withdrawn', 'delivered', 'rated') "
        "ORDER BY c.number", (today.isoformat(),))
    for row in rows:
        state = fold(row["id"], events_of(session, row["id"]))
        if state.gap_overdue(today):
            out.append({**row, "gap_promise": state.gap_promise, "missing": state.gap_outstanding})
    return out


def overdue_follow_ups(session: Session) -> list[dict]:
    """Bad ratings whose 回访 or 整改 is past its due date (an overturned rating owes nothing)."""
    today, out = session.today(), []
    for row in session.store.query(f"SELECT c.id, r.name AS resident_name FROM {LIST_FROM} WHERE c.follow_up = 'open' ORDER BY c.number"):
        case_id = row["id"]
        state = fold(case_id, events_of(session, case_id))
        late = state.follow_up_overdue(today)
        if late:
            out.append({"id": case_id, "number": state.number, "item_name": state.item_name, "resident_name": row["resident_name"],
                        "late": late, "revisit_due": state.revisit_due, "rectify_due": state.rectify_due})
    return out


def timeline(events: list[CaseEvent], masked: bool = True) -> list[dict]:
    """A case's events as screens and scripts show them; payloads masked (信息脱敏) unless a
    caller holds an audited reveal (``view``)."""
    return [{"stamp": e.stamp, "on": e.payload.get("on") or e.payload.get("received_on"), "type": e.type.value,
             "label": e.type.label, "transcribed": e.payload.get("transcribed") is True, "user": e.user, "node": e.node,
             "payload": mask_document(e.payload) if masked else e.payload} for e in events]


def catalog_note(session: Session, state: CaseState) -> dict:
    """Which catalog version the case lives by, and whether its item is still in the current one."""
    current = session.catalog
    withdrawn = current.item(state.item_code or "") is None
    text = None
    if withdrawn:
        text = f"该事项已不在现行事项清单({current.version})中;本件按收件时的清单({state.catalog_version})继续办理"
    elif state.catalog_version != current.version:
        text = f"本件按收件时的事项清单({state.catalog_version})办理,现行清单为 {current.version}"
    return {"version": state.catalog_version, "current": current.version, "withdrawn": withdrawn, "text": text}


def view(session: Session, ref: str, reveal_reason: str | None = None) -> dict:
    """One case with its resident and timeline, the way it leaves the store for a screen or a
    file: every identity number and phone masked. With ``reveal_reason`` a supervisor sees them
    whole, and the reveal and its reason go into the audit trail first."""
    state, events = load(session, ref)
    person = residents.get(session, state.resident_id)
    data = {"case": json.loads(state.model_dump_json()), "status_label": state.status.label,
            "missing": state.missing, "resident": person, "timeline": timeline(events, masked=False),
            "catalog": catalog_note(session, state)}
    if reveal_reason is None:
        return mask_document(data)
    session.require_supervisor("查看完整身份证号码")
    if not reveal_reason.strip():
        raise ValidationFailed("请说明查看原因", [FieldError("reason", "required", "查看完整号码须填写原因(记入审计)")])
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "case.reveal", state.number, {"reason": reveal_reason.strip()})
    return data

