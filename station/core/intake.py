"""Intake rules (收件): from what the resident brought to the facts of the ``received`` event.

- The checklist is the item's materials; whatever is not ticked is missing.
- Missing materials produce one one-time notice (一次性告知) that lists *all* of them.
- Accept-with-gaps (容缺受理) only where every missing material allows it, and only with the
  resident's promised date; otherwise a case with missing materials waits (已收件, 待补齐)
  and its deadline starts when the last essential material arrives.
- Due date (限时办结) = intake date + the item's promised working days.
Pure: the calendar and today's date are passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from station.core.identity import check_phone, parse_id
from station.core.models import CatalogItem
from station.core.workdays import DueDate, WorkCalendar
from station.errors import FieldError

# A resident's promise to bring a missing material: not in the past, not absurdly far away.
MAX_PROMISE_DAYS = 60
# Paper records typed in after a power cut (补录) may be dated back, but not forever.
MAX_BACKDATE_DAYS = 366


@dataclass(frozen=True)
class IntakePlan:
    received_on: date
    materials_required: list[str]
    materials_received: list[str]
    missing: list[str]
    gap_allowed: list[str]
    gap_promise: date | None
    due: DueDate | None  # None while essential materials are missing
    proxy: dict | None
    home_visit: bool
    note: str | None

    @property
    def complete(self) -> bool:
        return self.due is not None


def _parse_date(value, field: str, label: str) -> date | FieldError:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return FieldError(field, "bad_date", f"{label}格式应为 年-月-日,例如 2026-12-01")


def check_proxy(raw, today: date) -> tuple[dict | None, list[FieldError]]:
    """Proxy authorization (委托代办): who asked on the resident's behalf."""
    if not raw:
        return None, []
    if not isinstance(raw, dict):
        return None, [FieldError("proxy", "not_object", "委托人信息格式不正确")]
    errors = []
    name = str(raw.get("name") or "").strip()
    if not name:
        errors.append(FieldError("proxy.name", "required", "委托代办须填写受托人姓名"))
    relation = str(raw.get("relation") or "").strip()
    if not relation:
        errors.append(FieldError("proxy.relation", "required", "委托代办须填写与申请人的关系"))
    clean = {"name": name, "relation": relation}
    if raw.get("id_number"):
        parsed = parse_id(str(raw["id_number"]), "proxy.id_number", today)
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        else:
            clean["id_number"] = parsed.number
    if raw.get("phone"):
        phone = check_phone(str(raw["phone"]), "proxy.phone")
        if isinstance(phone, FieldError):
            errors.append(phone)
        else:
            clean["phone"] = phone
    return clean, errors


def plan_intake(item: CatalogItem, doc: dict, today: date, calendar: WorkCalendar) -> IntakePlan | list[FieldError]:
    errors: list[FieldError] = []
    required = [m.name for m in item.materials]
    received_raw = doc.get("materials_received", [])
    if not isinstance(received_raw, list) or not all(isinstance(x, str) for x in received_raw):
        errors.append(FieldError("materials_received", "not_list", "已收材料应为材料名称的列表"))
        received_raw = []
    unknown = [m for m in received_raw if m not in required]
    if unknown:
        errors.append(FieldError("materials_received", "unknown_material",
                                 f"“{item.name}”不需要这些材料:" + "、".join(unknown)))
    received = [m for m in required if m in received_raw]
    missing = [m for m in required if m not in received]

    received_on = today
    if doc.get("received_on"):
        parsed = _parse_date(doc["received_on"], "received_on", "收件日期")
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        elif parsed > today:
            errors.append(FieldError("received_on", "future_date", "收件日期不能晚于今天"))
        elif (today - parsed).days > MAX_BACKDATE_DAYS:
            errors.append(FieldError("received_on", "too_old", "补录的收件日期不能早于一年前"))
        else:
            received_on = parsed

    gap_allowed = [m.name for m in item.materials if m.gap_allowed]
    promise = None
    gaps = doc.get("accept_with_gaps")
    # Present but empty ({}) means the clerk asked for 容缺 and forgot the date: say so.
    if gaps not in (None, False) and missing:
        if not item.allows_gaps:
            errors.append(FieldError("accept_with_gaps", "gaps_not_allowed", f"“{item.name}”不适用容缺受理"))
        else:
            essential = [m for m in missing if m not in gap_allowed]
            if essential:
                errors.append(FieldError("accept_with_gaps", "essential_missing",
                                         "以下材料不能容缺,须补齐后才能受理:" + "、".join(essential)))
            raw_date = gaps.get("promised_date") if isinstance(gaps, dict) else None
            if not raw_date:
                errors.append(FieldError("accept_with_gaps.promised_date", "required", "容缺受理须填写群众承诺补交日期"))
            else:
                parsed = _parse_date(raw_date, "accept_with_gaps.promised_date", "承诺补交日期")
                if isinstance(parsed, FieldError):
                    errors.append(parsed)
                elif parsed <= received_on or parsed > received_on + timedelta(days=MAX_PROMISE_DAYS):
                    errors.append(FieldError("accept_with_gaps.promised_date", "bad_promise",
                                             f"承诺补交日期应在收件后 1 至 {MAX_PROMISE_DAYS} 天之内"))
                else:
                    promise = parsed

    proxy, proxy_errors = check_proxy(doc.get("proxy"), today)
    errors += proxy_errors
    note = doc.get("note")
    if note is not None and not isinstance(note, str):
        errors.append(FieldError("note", "not_text", "备注应为文字"))
    if errors:
        return errors

    complete = not missing or promise is not None
    due = calendar.add_workdays(received_on, item.promised_days) if complete else None
    return IntakePlan(
        received_on=received_on, materials_required=required, materials_received=received, missing=missing,
        gap_allowed=gap_allowed, gap_promise=promise, due=due, proxy=proxy,
        home_visit=bool(doc.get("home_visit")), note=(note or "").strip() or None,
    )
