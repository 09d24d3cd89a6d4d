from datetime import date

from station.core.workdays import LIBRARY_YEARS, WorkCalendar


def test_holidays_and_make_up_days_count():
    cal = WorkCalendar()
    # National Day 2026: 1–7 October off; Friday 2 Oct is not a working day.
    assert not cal.is_workday(date(2026, 10, 2))
    # Ten working days from 30 September skip the golden week.
    due = cal.add_workdays(date(2026, 9, 30), 10)
    assert not due.estimated
    assert due.due > date(2026, 10, 14)
    assert cal.workdays_between(date(2026, 9, 30), due.due) == 10


def test_make_up_working_saturday_counts():
    cal = WorkCalendar()
    import chinese_calendar
    saturday = next(d for d in sorted(chinese_calendar.workdays) if d.year == 2026 and d.weekday() == 5)
    assert cal.is_workday(saturday)


def test_unknown_year_falls_back_to_weekdays_and_says_so():
    assert 2027 not in LIBRARY_YEARS  # if the library learns 2027, move this test to a later year
    cal = WorkCalendar()
    due = cal.add_workdays(date(2026, 12, 28), 5)
    assert due.estimated
    assert due.due == date(2027, 1, 4)  # Mon 28 Dec + 5 weekdays, no holidays known for 1 Jan 2027
    assert "估算" in due.warning


def test_township_year_overrides_fallback():
    cal = WorkCalendar(overrides={date(2027, 1, 1): False, date(2027, 1, 4): False}, township_years={2027})
    due = cal.add_workdays(date(2026, 12, 28), 5)
    assert not due.estimated
    assert due.due == date(2027, 1, 6)  # 29, 30, 31 Dec, then 5 and 6 Jan


def test_coverage_warning_before_and_after_end():
    cal = WorkCalendar()
    assert cal.coverage_warning(date(2026, 6, 1)) is None
    assert "还剩" in cal.coverage_warning(date(2026, 11, 20))
    assert "估算" in cal.coverage_warning(date(2027, 2, 1))
    assert WorkCalendar(township_years={2027}).coverage_warning(date(2026, 11, 20)) is None
