"""公示 against the county's rules: a posting period shorter than the rules' is refused, and each
objection has its answer date fixed (working days, across 国庆) when it is recorded."""
from datetime import date

import pytest

from station.errors import ValidationFailed
from station.services import bulletin
from station.services import rules as rules_service


def test_a_posting_period_shorter_than_the_rules_is_refused(session, today):
    today.day = date(2026, 11, 20)
    nid = bulletin.new_notice(session, "公示", "2026年度高龄津贴发放对象公示", "名单见附表。")
    with pytest.raises(ValidationFailed) as exc:
        bulletin.publish(session, nid, "2026-11-20", "2026-11-25")  # six days
    assert exc.value.details[0].code == "too_short" and "7 天" in exc.value.details[0].message
    assert bulletin.notice(session, nid)["status"] == "draft"
    short = bulletin.new_notice(session, "公告", "停水通知", "周三停水")
    bulletin.publish(session, short, "2026-11-20", "2026-11-21")  # a 公告 has no minimum
    rules_service.import_doc(session, {"version": "县-2", "published": "2026-11-01", "publisher": "县", "posting_min_days": 5}, "文件")
    assert bulletin.publish(session, nid, "2026-11-20", "2026-11-24")["status"] == "published"


def test_objections_answer_dates_in_working_days_fixed_when_recorded(session, today):
    today.day = date(2026, 9, 28)
    nid = bulletin.new_notice(session, "公示", "低保对象公示", "名单见附表。")
    bulletin.publish(session, nid, "2026-09-28", "2026-10-12")
    today.day = date(2026, 9, 30)  # the day before 国庆
    first = bulletin.add_objection(session, nid, "李四", "张三家有车")
    rules_service.import_doc(session, {"version": "县-3", "published": "2026-09-30", "publisher": "县",
                                       "objection_answer_workdays": 2}, "文件")
    second = bulletin.add_objection(session, nid, "王五", "名单漏了人")
    dues = {o["id"]: o["answer_due"] for o in bulletin.notice(session, nid)["objection_list"]}
    # default 5 working days: 8, 9, 10 (调休 Saturday), 12, 13 October; the later rules' 2 days: 8, 9 October
    assert dues == {first: "2026-10-13", second: "2026-10-09"}
    today.day = date(2026, 10, 9)
    assert bulletin.overdue_objections(session) == []
    today.day = date(2026, 10, 12)
    assert [o["id"] for o in bulletin.overdue_objections(session)] == [second]
    bulletin.answer_objection(session, second, "经核实已补入名单")
    today.day = date(2026, 10, 14)
    late = bulletin.overdue_objections(session)
    assert [(o["id"], o["title"], o["answer_due"]) for o in late] == [(first, "低保对象公示", "2026-10-13")]
