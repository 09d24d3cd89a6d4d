"""Working-day calendar overrides sent by the township (节假日安排).

A year document lists the statutory holidays and the make-up working days of one year, as the
State Council announces them; once installed, that year no longer falls back to weekdays.
Sync delivers the same documents; ``station calendar import`` takes one from a file.
"""
from __future__ import annotations

from datetime import date

from station.core import limits
from station.errors import FieldError, ValidationFailed
from station.services import audit, cases
from station.services.session import Session


def _days(doc: dict, key: str, year: int, errors: list[FieldError]) -> list[tuple[date, str | None]]:
    entries = doc.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.append(FieldError(key, "not_list", f"“{key}”应为日期的列表"))
        return []
    if len(entries) > limits.MAX_CALENDAR_DAYS:
        errors.append(FieldError(key, "too_many", f"“{key}”超过 {limits.MAX_CALENDAR_DAYS} 天的上限"))
        return []
    out = []
    for i, entry in enumerate(entries):
        raw = entry.get("date") if isinstance(entry, dict) else entry
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(raw, str):
            errors.append(FieldError(f"{key}[{i}]", "bad_date", f"第 {i + 1} 项应为“年-月-日”格式的日期"))
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(FieldError(f"{key}[{i}]", "bad_date", f"日期“{raw[:20]}”格式不正确"))
            continue
        if day.year != year:
            errors.append(FieldError(f"{key}[{i}]", "wrong_year", f"日期 {day} 不属于 {year} 年"))
        if name is not None and (not isinstance(name, str) or len(name) > limits.MAX_CALENDAR_NAME):
            errors.append(FieldError(f"{key}[{i}]", "bad_name", f"节日名称应为不超过 {limits.MAX_CALENDAR_NAME} 个字的文字"))
            continue
        out.append((day, name))
    return out


def _checked(doc: dict) -> tuple[int, list, list]:
    errors: list[FieldError] = []
    year = doc.get("year") if isinstance(doc, dict) else None
    if type(year) is not int or not 2000 <= year <= 2100:  # a bool is an int to Python, not a year
        raise ValidationFailed("节假日安排格式不正确", [FieldError("year", "bad_year", "须注明年份,例如 \"year\": 2027")])
    holidays = _days(doc, "holidays", year, errors)
    workdays = _days(doc, "workdays", year, errors)
    if not holidays:
        errors.append(FieldError("holidays", "required", "节假日列表不能为空"))
    for key, listed in (("holidays", holidays), ("workdays", workdays)):
        days = [d for d, _ in listed]
        twice = sorted({d for d in days if days.count(d) > 1})
        if twice:
            errors.append(FieldError(key, "duplicate", "同一天列了不止一次:" + "、".join(map(str, twice))))
    clash = {d for d, _ in holidays} & {d for d, _ in workdays}
    if clash:
        errors.append(FieldError("workdays", "clash", "同一天不能既是假日又是调休上班日:" + "、".join(map(str, sorted(clash)))))
    if errors:
        raise ValidationFailed(f"{year} 年节假日安排有误,未导入", errors)
    return year, holidays, workdays


def import_year(session: Session, doc: dict, source: str) -> dict:
    """Install one year's holidays and make-up days; replaces what that year had before."""
    year, holidays, workdays = _checked(doc)
    try:
        corrected = _store_year(session, year, holidays, workdays, source)
    finally:
        session.forget_calendar()  # reload whatever is really stored, after a commit or a rollback
    return {"year": year, "holidays": len(holidays), "workdays": len(workdays), "deadlines_corrected": corrected}


def store_year_in(db, session: Session, doc: dict, source: str) -> int:
    """Install a year inside the caller's transaction (sync applies it with the rest of a bundle)."""
    year, holidays, workdays = _checked(doc)
    try:
        return _write_year(db, session, year, holidays, workdays, source)
    finally:
        session.forget_calendar()


def _store_year(session: Session, year: int, holidays, workdays, source: str) -> int:
    with session.store.transaction() as db:
        return _write_year(db, session, year, holidays, workdays, source)


def _write_year(db, session: Session, year: int, holidays, workdays, source: str) -> int:
    db.execute("DELETE FROM calendar_days WHERE day LIKE ?", (f"{year}-%",))
    db.conn.executemany("INSERT INTO calendar_days (day, workday, name, source) VALUES (?,?,?,?)",
                        [(d.isoformat(), 0, n, source) for d, n in holidays] + [(d.isoformat(), 1, n, source) for d, n in workdays])
    db.execute("INSERT INTO calendar_years (year, source, received_at) VALUES (?,?,?) ON CONFLICT(year) DO UPDATE "
               "SET source = excluded.source, received_at = excluded.received_at", (year, source, audit.now_iso()))
    session.forget_calendar()
    audit.record(db, session.user.username, "calendar.import", str(year),
                 {"source": source, "holidays": len(holidays), "workdays": len(workdays)})
    return cases.correct_estimated_deadlines(db, session, f"导入{year}年节假日安排")


def status(session: Session) -> dict:
    cal = session.calendar()
    today = session.today()
    return {"known_years": sorted(cal.known_years), "township_years": sorted(cal.township_years),
            "last_known_day": cal.last_known_day().isoformat(), "warning": cal.coverage_warning(today)}
