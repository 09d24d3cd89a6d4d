"""Monthly statistics per station for the township's leaders: from the hub's case events, exported to
.xlsx and printed as a monthly report (the station's long-table printout).

What each figure counts, for a month M and a station (dates are the days the events record, ``on``):
- 收件 ``received``: cases received in M.
- 办结 ``decided``: cases whose decision (准予/不予) was made in M (``approved`` / ``rejected``).
- 按时办结 ``closed_in_time``: of those, decided on or before the due date in force at the time
  (``closed_in_time_pct`` of ``decided``); ``decided_late`` the rest.
- 逾期未办结 ``overdue``: cases still open at the end of M (or today, in the current month) whose due
  date had passed — neither decided nor withdrawn by then.
- 平均办结工作日 ``avg_workdays``: working days from receipt to decision, over the cases decided in M,
  on the same working-day calendar as the stations (library years plus the calendars the township
  published).
- 评价 ``ratings`` {1..5: count} of the ratings given in M; ``bad`` (不满意, 非常不满意) and
  ``bad_pct`` (差评率).
- 差评回访 ``follow_ups``: bad ratings given in M; ``follow_ups_in_time``: closed (核实、整改、回访)
  by the 整改 due date the rules in force gave the rating (``rectify_due`` in its payload; ratings
  recorded before the rules existed: ``FOLLOW_UP_WORKDAYS`` working days).

Only events the case's fold applied count: one the state did not allow (a conflict) is set aside
here as it is everywhere else.
"""
from __future__ import annotations

import calendar as month_calendar
import functools
import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from station.core.cases import BAD_RATING_MAX, RATING_LABELS, CaseEvent, CaseState, EventType, apply
from station.core.clock import MS_DIGITS
from station.core.workdays import WorkCalendar
from station.errors import FieldError, ValidationFailed

FOLLOW_UP_WORKDAYS = 5  # a bad rating is followed up (核实、整改、回访) within this many working days
LEVELS = (5, 4, 3, 2, 1)
COUNTS = ("received", "decided", "approved", "rejected", "closed_in_time", "decided_late", "overdue", "withdrawn",
          "workdays_total", "rated", "bad", "follow_ups", "follow_ups_in_time")
# key, title in the workbook, title on paper (narrower), width on paper (mm; A4 landscape holds 273)
COLUMNS = (("station_label", "服务站", "服务站", 40), ("received", "收件", "收件", 13), ("decided", "办结", "办结", 13),
           ("closed_in_time", "按时办结", "按时", 13), ("closed_in_time_pct", "按时办结率(%)", "按时率%", 18),
           ("overdue", "逾期未办结", "逾期", 13), ("avg_workdays", "平均办结工作日", "平均工作日", 20),
           *((f"rating_{lv}", RATING_LABELS[lv], RATING_LABELS[lv], 17) for lv in LEVELS), ("bad_pct", "差评率(%)", "差评率%", 18),
           ("follow_ups", "差评回访", "回访", 13), ("follow_ups_in_time", "按时回访", "按时回访", 16))


def month_bounds(month: str) -> tuple[date, date]:
    """``2026-11`` → its first and last day; a Chinese refusal for anything else."""
    try:
        year, mon = (int(p) for p in str(month).split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise ValidationFailed("月份格式不对", [FieldError("month", "bad_month", f"“{str(month)[:20]}”应写成 年-月,如 2026-11")]) from None
    return first, date(year, mon, month_calendar.monthrange(year, mon)[1])


def hub_calendar(store) -> WorkCalendar:
    """The working-day calendar as the stations have it: library years plus the published calendars."""
    overrides: dict[date, bool] = {}
    years: set[int] = set()
    for doc in json.loads(store.setting("published_calendar") or "[]"):
        years.add(int(doc["year"]))
        for key, workday in (("holidays", False), ("workdays", True)):
            for entry in doc.get(key) or []:
                overrides[date.fromisoformat(entry["date"] if isinstance(entry, dict) else entry)] = workday
    cal = WorkCalendar(overrides=overrides, township_years=years)
    # The same few hundred days are asked about for every case; the library's lookup is slow per call.
    cal.is_workday = functools.lru_cache(maxsize=None)(cal.is_workday)  # type: ignore[method-assign]
    return cal


def _on(event: CaseEvent, fallback: date) -> date:
    raw = event.payload.get("on") or event.payload.get("received_on")
    try:
        return date.fromisoformat(str(raw)) if raw else fallback
    except ValueError:
        return fallback


def _case_facts(case_id: str, events: list[dict]) -> dict | None:
    """The dated, applied steps of one case that the figures need."""
    state = CaseState(id=case_id)
    facts: dict = {"ratings": []}
    for raw in events:
        event = CaseEvent.model_validate({k: raw[k] for k in ("id", "case_id", "type", "stamp", "node", "user", "payload")})
        before, state = state, apply(state, event)
        if len(state.conflicts) > len(before.conflicts):
            continue  # set aside by the fold: not a step the case took
        on = _on(event, state.received_on or date.min)
        if event.type == EventType.RECEIVED:
            facts["received_on"] = state.received_on
        elif event.type == EventType.DECIDED and "decided_on" not in facts:
            facts.update(decided_on=on, outcome=state.decision, due_at_decision=before.due_on)
        elif event.type == EventType.WITHDRAWN:
            facts.setdefault("withdrawn_on", on)
        elif event.type == EventType.RATED:
            facts["ratings"].append({"level": state.rating, "on": on, "closed_on": None, "due": state.rectify_due})
        elif event.type == EventType.FOLLOW_UP_CLOSED and facts["ratings"]:
            facts["ratings"][-1]["closed_on"] = on
    if "received_on" not in facts:
        return None
    facts["due_on"] = state.due_on
    return facts


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _finish(row: dict) -> dict:
    """The derived figures of a row from its counts."""
    row["closed_in_time_pct"] = _pct(row["closed_in_time"], row["decided"])
    row["avg_workdays"] = round(row["workdays_total"] / row["decided"], 1) if row["decided"] else None
    row["bad_pct"] = _pct(row["bad"], row["rated"])
    row["follow_ups_in_time_pct"] = _pct(row["follow_ups_in_time"], row["follow_ups"])
    row["station_label"] = f"{row['station']} {row['station_name']}".strip()
    for lv in LEVELS:
        row[f"rating_{lv}"] = row["ratings"][lv]
    return row


def monthly(hub_or_store, month: str, station: str | None = None, today: date | None = None, everything: bool = False,
            township: str | None = None) -> list[dict]:
    """One row per station (every enrolled or retired station, or just ``station``) for ``month``
    (``2026-11``): the figures described in this module's docstring. ``everything``: fold every case,
    none left out as closed before the month (the reference the benchmark checks the shortcut against).
    ``township``: that township's stations only (a township account's own, whatever it asks)."""
    store = getattr(hub_or_store, "store", hub_or_store)
    # A township account (staff_policy): its own township's stations only; a store: every station.
    if hasattr(hub_or_store, "listing_township"):
        township = hub_or_store.listing_township(township)
    if station and hasattr(hub_or_store, "require_station"):
        hub_or_store.require_station(station)
    first, last = month_bounds(month)
    today = today or date.today()
    cutoff = min(last, today)  # the month so far, when it is the current one
    cal = hub_calendar(store)
    code = station.strip().upper() if station else None
    stations = [s for s in store.stations() if s["status"] != "pending" and (code is None or s["code"] == code)
                and (township is None or s["township"] == township)]
    if code and not stations:
        raise ValidationFailed("没有该服务站", [FieldError("station", "unknown", f"没有已登记的服务站 {code}")])
    rows = {s["code"]: {"station": s["code"], "station_name": s["name"], "township": s.get("township"), "month": f"{first:%Y-%m}",
                        **dict.fromkeys(COUNTS, 0), "ratings": dict.fromkeys(LEVELS, 0)} for s in stations}
    # A case closed before the month with nothing recorded since adds nothing: left in the store. An
    # event's day is never after the day it was stamped (stations and hub date events today or
    # earlier), so a case whose last stamp is before the month (less a margin for time zones) is one.
    since = datetime.combine(first - timedelta(days=2), time.min, tzinfo=timezone.utc).timestamp()
    events = store.stats_events(code, last.isoformat(), "" if everything else f"{int(since * 1000):0{MS_DIGITS}d}", township)
    start = 0
    while start < len(events):  # events come grouped by case, in fold order
        end = start
        while end < len(events) and events[end]["case_id"] == events[start]["case_id"]:
            end += 1
        row = rows.get(events[start]["station"])
        facts = _case_facts(events[start]["case_id"], events[start:end]) if row is not None else None
        start = end
        if facts is None:
            continue
        _count(row, facts, first, last, cutoff, cal)
    return [_finish(rows[c]) for c in sorted(rows)]


def _count(row: dict, f: dict, first: date, last: date, cutoff: date, cal: WorkCalendar) -> None:
    within = lambda d: d is not None and first <= d <= last  # noqa: E731 - one line, used below only
    row["received"] += within(f["received_on"])
    decided_on = f.get("decided_on")
    if within(decided_on):
        row["decided"] += 1
        row[f["outcome"]] += 1
        in_time = f["due_at_decision"] is not None and decided_on <= f["due_at_decision"]
        row["closed_in_time" if in_time else "decided_late"] += 1
        row["workdays_total"] += cal.workdays_between(f["received_on"], decided_on)
    row["withdrawn"] += within(f.get("withdrawn_on"))
    closed = min((d for d in (decided_on, f.get("withdrawn_on")) if d is not None), default=None)
    still_open = closed is None or closed > cutoff
    row["overdue"] += bool(still_open and f["received_on"] <= cutoff and f["due_on"] is not None and f["due_on"] < cutoff)
    for r in f["ratings"]:
        if not within(r["on"]):
            continue
        row["rated"] += 1
        row["ratings"][r["level"]] += 1
        if r["level"] <= BAD_RATING_MAX:
            row["bad"] += 1
            row["follow_ups"] += 1
            # the 整改 due date the county's rules gave the rating when it was recorded; a rating from before
            # the rules were kept has none, and counts with the old fixed limit
            limit = r.get("due") or cal.add_workdays(r["on"], FOLLOW_UP_WORKDAYS).due
            row["follow_ups_in_time"] += r["closed_on"] is not None and r["closed_on"] <= limit


def total(rows: list[dict], label: str = "合计") -> dict:
    """The 合计 row: counts summed, rates recomputed from the sums (never averaged)."""
    out = {"station": "", "station_name": label, "month": rows[0]["month"] if rows else "",
           **{k: sum(r[k] for r in rows) for k in COUNTS}, "ratings": {lv: sum(r["ratings"][lv] for r in rows) for lv in LEVELS}}
    return _finish(out)


def by_township(rows: list[dict]) -> list[dict]:
    """On a county's hub: one 小计 row per township (乡镇) over its stations' rows, in code order, then
    the stations outside every township; each a ``total`` (rates from the sums). Empty on a township's
    own hub (no station belongs to a township). The county's figure is ``total`` of all the rows."""
    if not any(r.get("township") for r in rows):
        return []
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("township") or "", []).append(r)
    out = []
    for code in sorted(groups, key=lambda c: (c == "", c)):
        row = total(groups[code], f"乡镇 {code} 小计" if code else "未划归乡镇 小计")
        row["township"] = code or None
        out.append(row)
    return out


def _cell(value):
    return "—" if value is None else value


def to_xlsx(rows: list[dict], path: Path | str) -> None:
    """The rows and their 合计 as a workbook, one line per station; numbers as numbers."""
    import openpyxl
    from openpyxl.styles import Font

    from ledgers.sheets import neutralise
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValidationFailed("不支持的导出类型", [FieldError("file", "bad_type", "统计表文件名应以 .xlsx 结尾")])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = f"{rows[0]['month']} 统计" if rows else "统计"
    sheet.append([title for _, title, _, _ in COLUMNS])
    for r in [*rows, total(rows)]:
        sheet.append([neutralise(v) if isinstance(v, str) else _cell(v) for v in (r[k] for k, *_ in COLUMNS)])
    for c in sheet[1]:
        c.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 28
    book.save(path)


def to_pdf(rows: list[dict], path: Path | str, township: str, printed_by: str, printed_on: date | None = None) -> int:
    """The printed monthly report (the station's long-table layout: header on every page, 合计,
    signature lines); returns the number of pages."""
    from printouts import longtable
    from printouts.records import Column
    columns = (Column("序号", "seq", 9, "RIGHT"),
               *(Column(title, key, width, "LEFT" if key == "station_label" else "RIGHT") for key, _, title, width in COLUMNS))
    shown = [{"seq": str(i), **{k: str(_cell(r[k])) for k, *_ in COLUMNS}, "_row": r} for i, r in enumerate(rows, 1)]

    def totals(page: list[dict]) -> dict[str, str]:
        t = total([p["_row"] for p in page])
        return {k: str(_cell(t[k])) for k, *_ in COLUMNS[1:]}
    month = rows[0]["month"] if rows else ""
    table = longtable.LongTable(title="便民服务月度统计", station_name=township, period=month.replace("-", "年", 1) + "月" if month else "",
                                columns=columns, rows=shown, printed_on=printed_on or date.today(), printed_by=printed_by,
                                totals=totals, signatures=("制表人", "负责人"))
    with open(path, "wb") as out:
        return longtable.build(table, out)
