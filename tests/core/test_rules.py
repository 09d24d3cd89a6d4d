"""The rules document and the 好差评 loop in the pure core: deadlines in working days across
national holidays, the reason a bad rating needs, 追评 and the appeal."""
from datetime import date

import pytest

from station.core.cases import EventType, check, fold
from station.core.rules import DEFAULT_RULES, Rules, parse_rules
from station.core.workdays import WorkCalendar
from tests.core.test_cases import HAPPY, ev

CAL = WorkCalendar()
DOC = {"version": "2026-1", "published": "2026-01-05", "publisher": "某县政务服务中心"}


def test_defaults_follow_the_national_opinion_and_local_common_numbers():
    r = DEFAULT_RULES
    assert (r.revisit_workdays, r.rectify_workdays, r.posting_min_days, r.bad_rating_max) == (1, 15, 7, 2)
    assert "51号" in r.basis and r.unrated_close_days is None
    assert dict(r.lines())["差评整改时限"] == "15 个工作日"


@pytest.mark.parametrize("change, field", [
    ({"rectify_workdays": 0}, "rectify_workdays"),
    ({"rectify_workdays": 61}, "rectify_workdays"),
    ({"revisit_workdays": "一"}, "revisit_workdays"),
    ({"bad_rating_max": 4}, "bad_rating_max"),  # 基本满意 and above are never 差评
    ({"posting_min_days": 0}, "posting_min_days"),
    ({"unrated_close_counting": "weeks"}, "unrated_close_counting"),
    ({"surprise": 1}, "surprise"),  # an unknown rule is refused, not silently ignored
    ({"version": ""}, "version"),
])
def test_bad_rules_are_refused_naming_the_field(change, field):
    errors = parse_rules({**DOC, **change})
    assert isinstance(errors, list) and errors
    assert any(e.field.startswith(field) for e in errors), errors


def test_revisit_longer_than_rectify_is_refused():
    errors = parse_rules({**DOC, "revisit_workdays": 10, "rectify_workdays": 5})
    assert isinstance(errors, list) and "回访时限" in errors[0].message


# (rated on, rules, revisit due, rectify due) — 2026 国庆/中秋: 1–7 October off, Sat 10 October a make-up working day.
@pytest.mark.parametrize("on, rules, revisit, rectify", [
    (date(2026, 9, 30), {}, date(2026, 10, 8), date(2026, 10, 27)),
    (date(2026, 9, 30), {"rectify_workdays": 5}, date(2026, 10, 8), date(2026, 10, 13)),  # 德州: 8, 9, 10(调休), 12, 13
    (date(2026, 9, 30), {"rectify_workdays": 10}, date(2026, 10, 8), date(2026, 10, 20)),  # 太原
    (date(2026, 11, 6), {}, date(2026, 11, 9), date(2026, 11, 27)),  # a Friday: 回访 on Monday
])
def test_deadlines_count_working_days_across_national_holidays(on, rules, revisit, rectify):
    r = Rules.model_validate({**DOC, **rules})
    assert r.revisit_due(on, CAL).due == revisit
    assert r.rectify_due(on, CAL).due == rectify
    assert CAL.workdays_between(on, rectify) == r.rectify_workdays


def test_objection_answer_and_posting_period():
    r = Rules.model_validate({**DOC, "objection_answer_workdays": 3})
    assert r.objection_due(date(2026, 9, 30), CAL).due == date(2026, 10, 10)  # the make-up Saturday counts
    assert r.posting_long_enough(date(2026, 11, 2), date(2026, 11, 8))
    assert not r.posting_long_enough(date(2026, 11, 2), date(2026, 11, 7))


@pytest.mark.parametrize("counting, expect", [("workdays", date(2026, 10, 9)), ("calendar_days", date(2026, 10, 2))])
def test_unrated_close_counts_as_the_rules_say(counting, expect):
    r = Rules.model_validate({**DOC, "unrated_close_days": 2, "unrated_close_counting": counting})
    assert r.unrated_close_on(date(2026, 9, 30), CAL) == expect
    assert DEFAULT_RULES.unrated_close_on(date(2026, 9, 30), CAL) is None


BAD = {"level": 1, "bad": True, "on": "2026-09-30", "channel": "现场评价",
       "reason": {"category": "办理时间长", "text": "跑了三趟"}, "revisit_due": "2026-10-08", "rectify_due": "2026-10-28"}


@pytest.mark.parametrize("payload, code", [
    ({**BAD, "reason": None}, "reason_required"),
    ({**BAD, "reason": {"category": "不喜欢"}}, "reason_required"),
    ({**BAD, "reason": {"category": "其他", "text": "  "}}, "required"),
    ({**BAD, "channel": "微信群"}, "bad_channel"),
    ({**BAD, "level": True}, "bad_rating"),
])
def test_a_bad_rating_needs_its_reason(payload, code):
    state = fold("c1", HAPPY[:-1])
    assert [e.code for e in check(state, EventType.RATED, payload)] == [code]


def test_legacy_bad_rating_without_reason_still_folds():
    # Ratings recorded before reasons existed (no "bad" flag) are not set aside as conflicts.
    state = fold("c1", HAPPY)
    assert state.follow_up == "open" and not state.conflicts and state.bad_reason is None


def test_bad_rating_loop_revisit_rectify_follow_up_rating_appeal():
    events = HAPPY[:-1] + [ev(6, EventType.RATED, BAD)]
    s = fold("c1", events)
    assert s.follow_up == "open" and s.rectify_due == date(2026, 10, 28) and s.bad_reason["category"] == "办理时间长"
    assert s.follow_up_overdue(date(2026, 10, 8)) == []
    assert s.follow_up_overdue(date(2026, 10, 9)) == ["回访"]
    assert s.follow_up_overdue(date(2026, 10, 29)) == ["回访", "整改"]
    assert check(s, EventType.FOLLOW_UP_RATED, {"level": 4})[0].code == "not_rectified"
    events.append(ev(7, EventType.REVISITED, {"on": "2026-10-08", "result": "已电话联系,核实属实"}))
    s = fold("c1", events)
    assert s.revisited_on == date(2026, 10, 8) and s.follow_up_overdue(date(2026, 10, 29)) == ["整改"]
    events.append(ev(8, EventType.FOLLOW_UP_CLOSED, {"on": "2026-10-20", "verification": "属实", "rectification": "已改为当日上报",
                                                     "revisit": "群众认可"}))
    events.append(ev(9, EventType.FOLLOW_UP_RATED, {"level": 4, "on": "2026-10-21", "channel": "电话回访评价"}))
    s = fold("c1", events)
    assert (s.rating, s.follow_up_rating, s.follow_up, s.rectification) == (1, 4, "closed", "已改为当日上报")
    assert check(s, EventType.FOLLOW_UP_RATED, {"level": 5})[0].code == "already_rated"  # 一次一评
    assert check(s, EventType.APPEALED, {"grounds": " "})[0].code == "required"
    events.append(ev(10, EventType.APPEALED, {"grounds": "恶意差评:群众事后承认误评"}))
    assert check(fold("c1", events), EventType.APPEAL_DECIDED, {"outcome": "deleted", "reason": "x"})[0].code == "bad_outcome"
    events.append(ev(11, EventType.APPEAL_DECIDED, {"outcome": "overturned", "reason": "经核实属误评"}, node="HUB"))
    s = fold("c1", events)
    assert s.appeal == "overturned" and s.rating_overturned and s.rating == 1  # marked, never deleted
    assert check(s, EventType.APPEALED, {"grounds": "再申诉"})[0].code == "already_appealed"


def test_only_a_bad_rating_can_be_appealed():
    good = HAPPY[:-1] + [ev(6, EventType.RATED, {"level": 5})]
    assert check(fold("c1", good), EventType.APPEALED, {"grounds": "x"})[0].code == "not_rated"
    assert check(fold("c1", HAPPY[:-1]), EventType.APPEALED, {"grounds": "x"})[0].code == "illegal_transition"


def test_overturned_rating_has_no_overdue_follow_up():
    events = HAPPY[:-1] + [ev(6, EventType.RATED, BAD), ev(7, EventType.APPEALED, {"grounds": "误评"}),
                           ev(8, EventType.APPEAL_DECIDED, {"outcome": "upheld", "reason": "评价属实"}, node="HUB")]
    s = fold("c1", events)
    assert s.appeal == "upheld" and s.follow_up_overdue(date(2026, 11, 30)) == ["回访", "整改"]
    events[-1] = ev(8, EventType.APPEAL_DECIDED, {"outcome": "overturned", "reason": "误评"}, node="HUB")
    assert fold("c1", events).follow_up_overdue(date(2026, 11, 30)) == []


def test_an_appeal_decision_written_by_the_cases_own_station_is_set_aside():
    events = HAPPY[:-1] + [ev(6, EventType.RATED, BAD), ev(7, EventType.APPEALED, {"grounds": "误评"}),
                           ev(8, EventType.APPEAL_DECIDED, {"outcome": "overturned", "reason": "自批"}, node="XX0101")]
    s = fold("c1", events)
    assert s.appeal == "pending" and s.conflicts[0]["type"] == "appeal_decided"
