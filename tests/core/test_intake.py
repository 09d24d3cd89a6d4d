from datetime import date

from station.catalog import shipped_catalog
from station.core.intake import IntakePlan, plan_intake
from station.core.workdays import WorkCalendar

CAT = shipped_catalog()
TODAY = date(2026, 11, 20)
DIBAO = CAT.item("MZ-001")
ALL = [m.name for m in DIBAO.materials]


def plan(**doc):
    return plan_intake(DIBAO, doc, TODAY, WorkCalendar())


def codes(result):
    assert isinstance(result, list), result
    return {e.code for e in result}


def test_shipped_catalog_is_realistic():
    assert len(CAT.items) >= 20
    for item in CAT.items:
        assert item.promised_days <= item.legal_days
        assert len(item.materials) >= 3, item.name
    assert {i.deciding_level for i in CAT.items} == {"村", "乡镇", "县"}
    assert any(i.name == "最低生活保障申请" for i in CAT.items)


def test_complete_intake_has_due_date():
    p = plan(materials_received=ALL)
    assert isinstance(p, IntakePlan) and p.missing == [] and p.complete
    assert p.due.due == WorkCalendar().add_workdays(TODAY, DIBAO.promised_days).due


def test_missing_essential_material_waits_without_deadline():
    p = plan(materials_received=ALL[:2])
    assert p.missing == ALL[2:] and not p.complete and p.due is None


def test_accept_with_gaps_only_for_gap_materials_and_with_promise():
    gap = [m.name for m in DIBAO.materials if m.gap_allowed]
    received = [n for n in ALL if n not in gap]
    p = plan(materials_received=received, accept_with_gaps={"promised_date": "2026-11-27"})
    assert p.complete and p.gap_promise == date(2026, 11, 27) and p.missing == gap
    assert codes(plan(materials_received=received, accept_with_gaps={})) == {"required"}
    assert codes(plan(materials_received=received, accept_with_gaps={"promised_date": "2026-11-19"})) == {"bad_promise"}
    assert codes(plan(materials_received=ALL[:1], accept_with_gaps={"promised_date": "2026-11-27"})) == {"essential_missing"}


def test_unknown_material_future_date_and_bad_proxy_all_reported_at_once():
    result = plan(materials_received=["结婚证"], received_on="2026-12-01", proxy={"name": "", "id_number": "123"})
    assert codes(result) == {"unknown_material", "future_date", "required", "id_shape"}
