"""The 好差评 loop through the service on a real encrypted station: the rules in force fix the 回访 and
整改 deadlines (working days, across 国庆) when the rating is recorded, a later change of the rules
applies only to later ratings, the appeal is decided only by the township, and the export reads back."""
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from station.core.rules import Rules
from station.errors import ValidationFailed
from station.services import cases, ratings
from station.services import rules as rules_service
from tests.conftest import intake_doc, make_id

REASON = {"reason_category": "办理时间长", "reason": "跑了三趟才办好"}


def delivered_case(session, today, seq=1, received=date(2026, 9, 21)) -> str:
    today.day = received
    n = cases.intake(session, intake_doc(resident={"id_number": make_id(seq=seq), "name": f"张秀{seq}"}))["number"]
    for etype, payload in [("submitted", {}), ("accepted_by_township", {}),
                           ("decided", {"outcome": "approved", "summary": "准予"}), ("result_delivered", {"method": "当面领取"})]:
        cases.add_event(session, n, etype, payload)
    return n


def test_bad_rating_needs_a_reason_and_gets_deadlines_across_national_day(session, today):
    n = delivered_case(session, today)
    today.day = date(2026, 9, 30)  # the day before 国庆
    with pytest.raises(ValidationFailed) as exc:
        cases.add_event(session, n, "rated", {"level": 1})
    assert exc.value.details[0].code == "reason_required"
    # A caller cannot set its own deadlines or declare a bad rating good.
    state = cases.add_event(session, n, "rated", {"level": 1, **REASON, "bad": False, "rectify_due": "2027-01-01"})
    assert state.follow_up == "open"
    assert (state.revisit_due, state.rectify_due) == (date(2026, 10, 8), date(2026, 10, 27))
    assert state.bad_reason == {"category": "办理时间长", "text": "跑了三趟才办好"}
    rated = [e for e in cases.load(session, n)[1] if e.type.value == "rated"][0]
    assert rated.payload["rules_version"] == "国家默认" and rated.payload["bad"] is True


def test_a_good_rating_keeps_no_reason(session, today):
    n = delivered_case(session, today)
    state = cases.add_event(session, n, "rated", {"level": 4, **REASON})
    assert state.follow_up is None and state.bad_reason is None


def test_rules_changed_mid_way_apply_only_to_later_ratings(session, today):
    first, second = delivered_case(session, today, 1), delivered_case(session, today, 2)
    today.day = date(2026, 9, 30)
    cases.add_event(session, first, "rated", {"level": 2, **REASON})
    # The county moves to 德州's numbers: 整改 in 5 working days, and 基本满意 counts as 差评 too.
    rules_service.import_doc(session, {"version": "2026-2", "published": "2026-09-30", "publisher": "某县政务服务中心",
                                       "rectify_workdays": 5, "bad_rating_max": 3}, "文件")
    assert session.rules().version == "2026-2"
    s2 = cases.add_event(session, second, "rated", {"level": 3, **REASON})
    assert s2.follow_up == "open" and s2.rectify_due == date(2026, 10, 13)  # 8, 9, 10 (调休), 12, 13 October
    today.day = date(2026, 10, 8)
    s1 = cases.add_event(session, first, "revisited", {"result": "电话联系,属实"})
    assert s1.rectify_due == date(2026, 10, 27)  # set under the old rules, not moved
    today.day = date(2026, 10, 14)
    overdue = {r["number"]: r["late"] for r in cases.overdue_follow_ups(session)}
    assert overdue == {second: ["回访", "整改"]}
    assert cases.counts_for_today(session)["follow_ups_overdue"] == 1
    with pytest.raises(ValidationFailed):  # installing the same version twice changes nothing
        rules_service.import_doc(session, {"version": "x", "published": "2026-09-30", "publisher": "县", "rectify_workdays": 0}, "文件")
    assert rules_service.import_doc(session, {"version": "2026-2", "published": "2026-09-30", "publisher": "县"}, "文件")["installed"] is False


def test_appeal_is_made_by_the_station_and_never_decided_there(session, today):
    n = delivered_case(session, today)
    cases.add_event(session, n, "rated", {"level": 1, **REASON})
    with pytest.raises(ValidationFailed):
        cases.add_event(session, n, "rating_appealed", {"grounds": " "})
    state = cases.add_event(session, n, "rating_appealed", {"grounds": "群众事后表示误操作"})
    assert state.appeal == "pending"
    with pytest.raises(ValidationFailed) as exc:
        cases.add_event(session, n, "appeal_decided", {"outcome": "overturned", "reason": "自己说了算"})
    assert exc.value.details[0].code == "township_event"
    assert cases.load(session, n)[0].appeal == "pending"


def test_ratings_export_reads_back_field_by_field(session, today, tmp_path):
    bad, good = delivered_case(session, today, 1), delivered_case(session, today, 2)
    today.day = date(2026, 9, 30)
    cases.add_event(session, bad, "rated", {"level": 1, "channel": "二维码评价", "reason_category": "其他", "reason": "窗口无人"})
    cases.add_event(session, good, "rated", {"level": 5})
    today.day = date(2026, 10, 8)
    cases.add_event(session, bad, "revisited", {"result": "已联系"})
    today.day = date(2026, 10, 12)
    cases.add_event(session, bad, "follow_up_closed", {"verification": "属实", "rectification": "增设值班表", "revisit": "认可"})
    cases.add_event(session, bad, "follow_up_rated", {"level": 4})
    expected = {
        bad: {"办件编号": bad, "事项编码": "MZ-001", "评价等级": "非常不满意", "评价时间": "2026-09-30", "评价渠道": "二维码评价",
              "差评原因": "其他:窗口无人", "整改情况": "已整改(2026-10-12):增设值班表", "回访时间": "2026-10-08",
              "追评等级": "满意", "申诉结果": ""},
        good: {"办件编号": good, "事项编码": "MZ-001", "评价等级": "非常满意", "评价时间": "2026-09-30", "评价渠道": "现场评价",
               "差评原因": "", "整改情况": "", "回访时间": "", "追评等级": "", "申诉结果": ""},
    }
    assert ratings.export(session, tmp_path / "r.json") == 2
    doc = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert doc["fields"][:8] == ["办件编号", "事项编码", "评价等级", "评价时间", "评价渠道", "差评原因", "整改情况", "回访时间"]
    assert {r["办件编号"]: r for r in doc["rows"]} == expected
    assert ratings.export(session, tmp_path / "r.xlsx") == 2
    sheet = load_workbook(tmp_path / "r.xlsx").active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == doc["fields"]
    read = {r[0]: {h: (v or "") for h, v in zip(values[0], r, strict=True)} for r in values[1:]}
    assert read == expected
    with pytest.raises(ValidationFailed):
        ratings.export(session, tmp_path / "r.csv")


def test_rules_survive_reopening_and_default_before_any(session, home, today):
    assert session.rules().version == "国家默认"
    rules_service.import_doc(session, {"version": "2026-3", "published": "2026-10-01", "publisher": "县", "revisit_workdays": 2}, "文件")
    session.close()
    from tests.conftest import PASS
    again = home.unlock("zhanzhang", PASS, today=today)
    try:
        assert again.rules() == Rules.model_validate({"version": "2026-3", "published": "2026-10-01", "publisher": "县",
                                                      "revisit_workdays": 2})
        assert dict(rules_service.describe(again)["lines"])["差评回访时限"] == "2 个工作日"
    finally:
        again.close()


@pytest.mark.parametrize("counting, not_yet, closed_on", [
    ("workdays", date(2026, 10, 9), date(2026, 10, 10)),  # two working days after 30 September: 8 and 9 October
    ("calendar_days", date(2026, 10, 2), date(2026, 10, 3)),
])
def test_unrated_cases_closed_as_the_rules_count(session, today, counting, not_yet, closed_on):
    n = delivered_case(session, today, received=date(2026, 9, 30))  # delivered the day before 国庆
    assert cases.close_unrated(session) == []  # the national defaults never close it
    rules_service.import_doc(session, {"version": "县-4", "published": "2026-09-01", "publisher": "县",
                                       "unrated_close_days": 2, "unrated_close_counting": counting}, "文件")
    delivered_on = cases.load(session, n)[0]
    assert delivered_on.status.value == "delivered"
    today.day = not_yet
    assert cases.close_unrated(session) == []
    today.day = closed_on
    assert cases.close_unrated(session) == [n]
    assert cases.close_unrated(session) == []  # once
    state, events = cases.load(session, n)
    assert state.rating_closed_on == closed_on and events[-1].payload["counting"] == counting
    with pytest.raises(ValidationFailed) as exc:
        cases.add_event(session, n, "rated", {"level": 5})
    assert exc.value.details[0].code == "rating_closed"
    with pytest.raises(ValidationFailed):
        cases.add_event(session, n, "rating_window_closed", {})


def test_due_soon_counts_the_rules_days(session, today):
    from tests.conftest import intake_doc as doc
    n = cases.intake(session, doc(item="SB-001", materials_received=["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]))
    due = date.fromisoformat(n["due_on"])
    assert session.calendar().workdays_between(today.day, due) == 2
    assert cases.counts_for_today(session)["due_soon"] == 1
    rules_service.import_doc(session, {"version": "县-5", "published": "2026-11-01", "publisher": "县", "due_soon_workdays": 1}, "文件")
    assert cases.counts_for_today(session)["due_soon"] == 0 and cases.list_cases(session, due_soon=True) == []
