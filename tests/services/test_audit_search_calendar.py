"""The audit chain against tampering; search; the township calendar correcting deadlines."""
import json
from datetime import date

import pytest

from station.errors import ValidationFailed
from station.services import audit, calendar, cases, residents, search
from tests.conftest import intake_doc, make_id


def _verify(session):
    return audit.verify(session.store.db)


@pytest.fixture
def busy(session):
    for i in range(3):
        cases.intake(session, intake_doc(resident={"id_number": make_id(seq=i * 2 + 1), "name": f"王{'一二三'[i]}明"}))
    count, problems = _verify(session)
    assert count >= 8 and problems == []
    return session


def test_edited_entry_detected(busy):
    busy.store.conn.execute("UPDATE audit SET detail = ? WHERE seq = 3", (json.dumps({"forged": 1}),))
    assert any("改动" in p.message for p in _verify(busy)[1])


def test_deleted_entry_detected(busy):
    busy.store.conn.execute("DELETE FROM audit WHERE seq = 4")
    messages = [p.message for p in _verify(busy)[1]]
    assert any("缺失" in m for m in messages)


def test_reordered_entries_detected(busy):
    rows = busy.store.query("SELECT * FROM audit WHERE seq IN (4, 5) ORDER BY seq")
    a, b = rows
    for row, seq in ((a, 5), (b, 4)):
        busy.store.conn.execute("UPDATE audit SET at=?, user=?, action=?, target=?, detail=?, prev_hash=?, hash=? WHERE seq=?",
                                (row["at"], row["user"], row["action"], row["target"], row["detail"], row["prev_hash"], row["hash"], seq))
    assert any("顺序" in p.message for p in _verify(busy)[1])


def test_truncated_tail_detected(busy):
    last = busy.store.scalar("SELECT max(seq) FROM audit")
    busy.store.conn.execute("DELETE FROM audit WHERE seq = ?", (last,))
    assert any("末尾" in p.message for p in _verify(busy)[1])


def test_search_by_fragment_tail_and_number(busy):
    assert [r["name"] for r in search.search(busy, "三明")["residents"]] == ["王三明"]
    assert {r["name"] for r in search.search(busy, "王")["residents"]} == {"王一明", "王二明", "王三明"}
    hit = search.search(busy, make_id(seq=3)[-6:])
    assert [r["name"] for r in hit["residents"]] == ["王二明"] and hit["residents"][0]["id_number"].count("*") == 8
    assert [c["number"] for c in search.search(busy, "xx0101-2026-000002")["cases"]] == ["XX0101-2026-000002"]
    assert [c["number"] for c in search.search(busy, "3")["cases"]] == []  # "3" is too short to mean anything
    assert [c["number"] for c in search.search(busy, "000003")["cases"]] == ["XX0101-2026-000003"]
    assert search.search(busy, "不存在")["residents"] == []


def test_name_fragment_pages_in_name_order(session):
    """More residents share the gram than a page holds: the page is the first ones by name, each
    checked against the whole fragment."""
    names = [f"{s}{g}明" for s in "赵钱孙李周吴郑王" for g in "一二三"] + ["王二"]
    for i, name in enumerate(names):
        residents.register(session, {"id_number": make_id(seq=i * 2 + 1), "name": name})
    found = [r["name"] for r in search.find_residents(session, "二明", limit=5)]
    assert found == sorted(n for n in names if "二明" in n)[:5]
    assert [r["name"] for r in search.find_residents(session, "王二明")] == ["王二明"]


def test_township_calendar_corrects_estimated_deadlines(session, today):
    today.day = date(2026, 12, 28)
    r = cases.intake(session, intake_doc(item="MZ-003", materials_received=[m.name for m in session.catalog.item("MZ-003").materials]))
    assert r["due_estimated"] and r["warnings"] and r["due_on"] == "2027-01-06"  # 7 weekdays
    bad = {"year": 2027, "holidays": ["2027-13-01"]}
    with pytest.raises(ValidationFailed):
        calendar.import_year(session, bad, "测试")
    result = calendar.import_year(session, {"year": 2027, "holidays": [
        {"date": "2027-01-01", "name": "元旦"}, {"date": "2027-01-04", "name": "元旦调休"}], "workdays": []}, "乡镇")
    assert result["deadlines_corrected"] == 1
    state, events = cases.load(session, r["number"])
    assert state.due_on == date(2027, 1, 8) and not state.due_estimated  # 1 and 4 Jan now off
    assert events[-1].type.value == "due_corrected" and events[-1].payload["was"] == "2027-01-06"
    assert calendar.status(session)["township_years"] == [2027]
    # importing the same year again changes nothing more
    assert calendar.import_year(session, {"year": 2027, "holidays": ["2027-01-01", "2027-01-04"]}, "乡镇")["deadlines_corrected"] == 0
