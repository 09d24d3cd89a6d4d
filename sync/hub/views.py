"""What the township console shows, read from the hub store (no textual here, so tests and other
front ends read the same): the stations at a glance, the queue of cases waiting for the township,
one case with what may be done to it, the hub's own state line.

Working days are counted with the station's own calendar code (``station.core.workdays``),
fed with the holiday years the township published, so "3 working days left" means the same
at both ends. Resident numbers are masked with the station's masking rules. What an account on a
county's hub sees is limited to its township's stations through the ``Hub`` (``staff_policy``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone

from station.core.cases import BAD_RATING_MAX, OPEN_STATUSES, CaseState, EventType, Status, check
from station.core.masking import mask_document, mask_id
from station.core.models import Catalog, CatalogItem, parse_catalog
from station.core.workdays import WorkCalendar
from station.errors import ValidationFailed

SILENT_DAYS_DEFAULT = 7
# What the township works on: cases sent up and not yet answered for good.
QUEUE_STATUSES = (Status.SUBMITTED, Status.ACCEPTED)
QUEUE_STATUS_CHOICES = (Status.SUBMITTED, Status.ACCEPTED, Status.RETURNED, Status.DECIDED)


def silent_days(hub) -> int:
    try:
        return max(1, int(hub.store.setting("console_silent_days") or SILENT_DAYS_DEFAULT))
    except ValueError:
        return SILENT_DAYS_DEFAULT


class _RememberingCalendar(WorkCalendar):
    """The station's calendar, remembering each day's answer: a queue page counts the working days
    to a hundred deadlines, many the same, each day by day (the station's own ``workdays_between``)."""

    def is_workday(self, day: date) -> bool:
        memo = self.__dict__.setdefault("_memo", {})
        if day not in memo:
            memo[day] = super().is_workday(day)
        return memo[day]


def calendar(hub) -> WorkCalendar:
    """The station's working-day calendar with every holiday year the township published."""
    from station.services.calendar import _checked
    overrides: dict[date, bool] = {}
    years: set[int] = set()
    for doc in json.loads(hub.store.setting("published_calendar") or "[]"):
        try:
            year, holidays, workdays = _checked(doc)
        except ValidationFailed:  # published before checks were this strict: skip rather than fail the screen
            continue
        years.add(year)
        overrides.update({d: False for d, _ in holidays})
        overrides.update({d: True for d, _ in workdays})
    return _RememberingCalendar(overrides=overrides, township_years=years)


def catalog(hub) -> Catalog:
    """The newest catalog the township published, else the one shipped with the software."""
    from station.catalog import shipped_catalog
    published = json.loads(hub.store.setting("published_catalog") or "[]")
    for doc in reversed(published):
        parsed = parse_catalog(doc)
        if not isinstance(parsed, list):
            return parsed
    return shipped_catalog()


def _days_since(stamp: str | None, today: date) -> int | None:
    if not stamp:
        return None
    try:
        return (today - date.fromisoformat(stamp[:10])).days
    except ValueError:
        return None


def bad_ratings_open(hub) -> dict[str, int]:
    """Per station: cases rated 不满意 or worse whose follow-up (整改回访) is not closed."""
    bad, closed = {}, set()
    for e in hub.store.events_of_types([EventType.RATED.value, EventType.FOLLOW_UP_CLOSED.value]):
        if e["type"] == EventType.FOLLOW_UP_CLOSED.value:
            closed.add(e["case_id"])
        elif isinstance(e["payload"].get("level"), int) and e["payload"]["level"] <= BAD_RATING_MAX:
            bad[e["case_id"]] = e["station"]
    out: dict[str, int] = {}
    for case_id, station in bad.items():
        if case_id not in closed:
            out[station] = out.get(station, 0) + 1
    return out


def overview(hub, today: date) -> list[dict]:
    """Every station: last contact, records waiting to go down, held bundles, quarantined items,
    open and overdue cases, bad ratings without follow-up; ``silent`` past the setting's days."""
    limit = silent_days(hub)
    bad = bad_ratings_open(hub)
    rows = hub.store.station_summary(today.isoformat(), [s.value for s in OPEN_STATUSES], hub.listing_township())
    for r in rows:
        r["waiting"] = max(0, r.pop("outbox_top") - r.pop("acked"))
        r["bad_ratings"] = bad.get(r["code"], 0)
        r["silent_days"] = _days_since(r["last_seen"], today)
        r["silent"] = r["status"] == "active" and (r["silent_days"] is None or r["silent_days"] > limit)
    return rows


def hub_state(hub, started: datetime, now: datetime | None = None) -> str:
    """The hub in one line: since when this console runs, the store's size, the last backup."""
    size = ""
    if hub.home is not None:
        try:
            size = f"{os.path.getsize(hub.home.db_path) / 2**20:.1f} MB"
        except OSError:
            size = "未知"
    backup = hub.store.setting("last_backup")
    up = (now or datetime.now(timezone.utc)) - started
    hours, minutes = int(up.total_seconds() // 3600), int(up.total_seconds() % 3600 // 60)
    return (f"{hub.name}({hub.hub_id}) · 启动于 {started.strftime('%m-%d %H:%M')}(已运行{hours}小时{minutes}分)"
            f" · 数据库 {size} · 最近备份 {backup[:16] if backup else '无'}")


@dataclass(frozen=True)
class QueueFilter:
    station: str | None = None
    item: str | None = None
    status: str | None = None  # one status value; None: the township's default queue
    overdue: bool = False


def _statuses(f: QueueFilter) -> list[str]:
    return [f.status] if f.status else [s.value for s in QUEUE_STATUSES]


def queue(hub, today: date, f: QueueFilter, limit: int = 100, offset: int = 0, cal: WorkCalendar | None = None) -> list[dict]:
    """Cases waiting for the township, oldest due first, with working days left (negative: overdue)."""
    cal = cal or calendar(hub)
    hub.require_station(f.station)
    rows = hub.store.queue(_statuses(f), f.station, f.item, today.isoformat() if f.overdue else None, limit, offset,
                           hub.listing_township())
    left: dict[date, int] = {}
    for r in rows:
        resident = r.pop("resident") or {}
        r["resident_name"] = resident.get("name", "")
        r["id_masked"] = mask_id(resident.get("id_number"))
        r["status_label"] = Status(r["status"]).label
        due = date.fromisoformat(r["due_on"]) if r["due_on"] else None
        if due is not None and due not in left:
            left[due] = cal.workdays_between(today, due)
        r["days_left"] = left[due] if due else None
        r["overdue"] = due is not None and due < today
    return rows


def queue_count(hub, today: date, f: QueueFilter) -> int:
    hub.require_station(f.station)
    return hub.store.queue_count(_statuses(f), f.station, f.item, today.isoformat() if f.overdue else None, hub.listing_township())


# A payload each township event would carry, to ask the case rules whether the state allows it.
_PROBE = {EventType.ACCEPTED: {}, EventType.RETURNED: {"reason": "-"},
          EventType.DECIDED: {"outcome": "approved", "summary": "-"}, EventType.FORWARDED: {"on": "2000-01-01"}}


def allowed_actions(state: CaseState, deciding_level: str | None = None) -> list[EventType]:
    """The township steps this case's state allows now (the same rules the fold applies); forwarding
    only for items the catalog says the county decides."""
    return [et for et, probe in _PROBE.items() if not check(state, et, probe)
            and (et != EventType.FORWARDED or deciding_level == "县")]


def item_of(hub, state: CaseState) -> CatalogItem | None:
    return next((i for i in catalog(hub).items if i.code == state.item_code), None)


def case_view(hub, ref: str, today: date) -> dict:
    """One case for the console: masked resident, materials, scans, timeline, allowed actions."""
    row, state, events = hub.case_state(ref)
    resident = hub.store.resident(state.resident_id or row["resident_id"]) or {}
    item = item_of(hub, state)
    cal = calendar(hub)
    return {
        "row": row, "state": state,
        "resident": {"name": resident.get("name", ""), "id_masked": mask_id(resident.get("id_number")),
                     "phone": mask_document({"phone": resident.get("phone")})["phone"] if resident.get("phone") else ""},
        "deciding_level": item.deciding_level if item else None,
        "days_left": cal.workdays_between(today, state.due_on) if state.due_on else None,
        "materials": [(m, m in state.materials_received) for m in state.materials_required],
        "attachments": hub.store.case_attachments(row["id"]),
        "timeline": [{"on": e.payload.get("on") or e.payload.get("received_on") or "", "label": e.type.label,
                      "node": e.node, "user": e.user or "", "detail": _detail(e.type, mask_document(e.payload))}
                     for e in sorted(events, key=lambda e: (e.stamp, e.id))],
        "actions": allowed_actions(state, item.deciding_level if item else None),
    }


def _detail(etype: EventType, p: dict) -> str:
    if etype == EventType.DECIDED:
        return ("准予" if p.get("outcome") == "approved" else "不予") + ":" + str(p.get("summary", ""))
    for key in ("reason", "text", "summary"):
        if p.get(key):
            return str(p[key])
    return ""


PUBLISHED_KINDS = ("catalog", "calendar", "notice", "ledger_list")


def publications(hub) -> list[dict]:
    """What the township published, newest first, and which stations have received each
    (the station acknowledged its outbox past the item's place in it)."""
    items: dict[tuple[str, str], dict] = {}
    for d in hub.store.deliveries(list(PUBLISHED_KINDS)):
        entry = items.get((d["kind"], d["ref"]))
        if entry is None:
            entry = items[(d["kind"], d["ref"])] = {"kind": d["kind"], "ref": d["ref"], "at": d["created_at"],
                                                    "title": _title(hub, d), "received": [], "waiting": []}
        (entry["received"] if d["acked"] >= d["seq"] else entry["waiting"]).append(d["station"])
    return list(items.values())


def _title(hub, d: dict) -> str:
    if d["kind"] == "catalog":
        return f"事项清单 {d['ref']}"
    if d["kind"] == "calendar":
        return f"{d['ref']}年节假日安排"
    if d["kind"] == "ledger_list":
        ledger, program, period = (d["ref"].split("/", 2) + ["", ""])[:3]
        return f"{'补贴' if ledger == 'subsidy' else '救助'}名单 {program} {period}"
    doc = hub.store.outbox_data(d["station"], d["seq"]) or {}
    return f"{doc.get('kind', '公告')}:{doc.get('title', '')}"
