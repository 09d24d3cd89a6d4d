"""Working days (工作日) for 限时办结 deadlines: statutory holidays and make-up days (调休).

The source is the ``chinesecalendar`` package, which knows only the years the State Council
had announced when it was released and raises for later ones. For those years we fall back
to Monday–Friday and say so, until the township sends the year's calendar down (overrides).
Pure: the calendar is built from data passed in; nothing here reads the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

# Warn this long before the last day of the known calendar, so the township has time to
# send the next year's holidays before due dates start falling back to plain weekdays.
WARN_DAYS_BEFORE_END = 75


def _library_years() -> set[int]:
    return {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}


LIBRARY_YEARS = frozenset(_library_years())


@dataclass(frozen=True)
class DueDate:
    """A deadline and whether any day on the way was guessed (weekday fallback)."""

    due: date
    estimated: bool

    @property
    def warning(self) -> str | None:
        if self.estimated:
            return (f"办结期限 {self.due.isoformat()} 按周一至周五估算:该年度法定节假日安排尚未导入,"
                    "请联系乡镇下发节假日安排后期限会自动更正")
        return None


@dataclass
class WorkCalendar:
    """Library data, plus years and single days sent by the township (they win)."""

    overrides: dict[date, bool] = field(default_factory=dict)
    township_years: set[int] = field(default_factory=set)

    @property
    def known_years(self) -> set[int]:
        return set(LIBRARY_YEARS) | self.township_years

    def knows(self, day: date) -> bool:
        return day in self.overrides or day.year in self.known_years

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.township_years:
            # A township year lists its holidays and make-up days as overrides; the rest are
            # ordinary weekdays and weekends.
            return day.weekday() < 5
        if day.year in LIBRARY_YEARS:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_workdays(self, start: date, days: int) -> DueDate:
        """The date ``days`` working days after ``start`` (the intake day itself not counted)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        day, left, estimated = start, days, False
        while left > 0:
            day += timedelta(days=1)
            if not self.knows(day):
                estimated = True
            if self.is_workday(day):
                left -= 1
        return DueDate(day, estimated)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        if end < start:
            return -self.workdays_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def last_known_day(self) -> date:
        return date(max(self.known_years), 12, 31)

    def coverage_warning(self, today: date) -> str | None:
        """A warning for the Today screen when the known calendar is about to run out."""
        end = self.last_known_day()
        if today > end:
            return f"节假日安排只到{end.year}年,今年的办结期限按周一至周五估算。请向乡镇索取本年度节假日安排。"
        if (end - today).days <= WARN_DAYS_BEFORE_END:
            return (f"节假日安排只到{end.isoformat()}(还剩{(end - today).days}天),"
                    f"{end.year + 1}年的办结期限将按周一至周五估算。请向乡镇索取下一年度节假日安排。")
        return None
