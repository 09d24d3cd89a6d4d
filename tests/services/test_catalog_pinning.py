"""A case lives by the catalog version it was received under: a new version changes only new cases,
and an item withdrawn from the catalog leaves its open cases workable, saying so."""
from datetime import date

from station.catalog import shipped_catalog
from station.core.models import Catalog
from station.services import cases, catalog
from tests.conftest import intake_doc


def publish(session, version: str, drop: str | None = None, promised: dict | None = None) -> Catalog:
    doc = shipped_catalog().model_dump(mode="json")
    doc["version"] = version
    doc["items"] = [i for i in doc["items"] if i["code"] != drop]
    for i in doc["items"]:
        if i["code"] in (promised or {}):
            i["promised_days"] = promised[i["code"]]
    new = Catalog.model_validate(doc)
    with session.store.transaction() as db:
        catalog.install(db, new, "zhanzhang", "测试")
    session.forget_catalog()
    return new


def test_withdrawn_item_leaves_open_case_workable_and_says_so(session, today):
    today.day = date(2026, 11, 2)
    n = cases.intake(session, intake_doc())["number"]
    v1 = session.catalog.version
    before = cases.load(session, n)[0]
    publish(session, "2027.1", drop="MZ-001")
    assert session.catalog.item("MZ-001") is None
    note = cases.view(session, n)["catalog"]
    assert note["withdrawn"] and v1 in note["text"] and "不在现行事项清单" in note["text"]
    state = cases.add_event(session, n, "submitted")  # still workable
    assert state.status.value == "submitted" and state.due_on == before.due_on
    assert cases.received_item(session, state) == shipped_catalog().item("MZ-001")


def test_new_version_changes_only_new_cases(session, today):
    today.day = date(2026, 11, 2)
    old = cases.intake(session, intake_doc())["number"]
    v1_days = shipped_catalog().item("MZ-001").promised_days
    publish(session, "2027.2", promised={"MZ-001": 1})
    new = cases.intake(session, intake_doc())["number"]
    old_state, new_state = cases.load(session, old)[0], cases.load(session, new)[0]
    assert cases.received_item(session, old_state).promised_days == v1_days
    assert cases.received_item(session, new_state).promised_days == 1
    assert session.calendar().workdays_between(date(2026, 11, 2), old_state.due_on) == v1_days
    assert new_state.due_on == date(2026, 11, 3)
    assert "2027.2" in cases.view(session, old)["catalog"]["text"]
    assert cases.view(session, new)["catalog"]["text"] is None
