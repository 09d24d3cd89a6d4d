"""The write policy on its own (pure): every item kind × author, every event type × author, ownership."""
from __future__ import annotations

import uuid

import pytest

from station.core.cases import EventType
from sync import policy
from sync.policy import HUB, STATION, STATION_PAPER, Facts

HUB_ID = "JZ01"
# Written out by hand from the rules (not derived from the module): who may send each kind.
KINDS = {
    "resident": {STATION}, "event": {STATION, HUB}, "attachment": {STATION}, "ledger_entry": {STATION},
    "infra_event": {STATION}, "notice": {STATION, HUB}, "objection": {STATION}, "catalog": {HUB},
    "calendar": {HUB}, "rules": {HUB}, "ledger_list": {HUB}, "restore": {HUB}, "no_such_kind": set(),
}
TOWNSHIP = {EventType.ACCEPTED, EventType.RETURNED, EventType.DECIDED, EventType.FORWARDED}


def _expected_event_authors(t: EventType) -> set[str]:
    if t in TOWNSHIP:
        return {HUB, STATION_PAPER}
    if t == EventType.APPEAL_DECIDED:  # only the township decides an appeal of a rating, never from paper
        return {HUB}
    if t == EventType.NOTE:
        return {STATION, HUB}
    return {STATION}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("author", [STATION, STATION_PAPER, HUB])
def test_every_kind_by_every_author(kind, author):
    allowed = author in KINDS[kind]
    reason = policy.may_send(author, kind)
    assert (reason is None) == allowed, (kind, author, reason)
    if not allowed:
        assert kind in reason  # the refusal names what was refused


@pytest.mark.parametrize("etype", list(EventType))
@pytest.mark.parametrize("author", [STATION, STATION_PAPER, HUB])
def test_every_event_type_by_every_author(etype, author):
    reason = policy.may_write_event(author, etype)
    assert (reason is None) == (author in _expected_event_authors(etype)), (etype, author, reason)
    if reason:
        assert etype.label in reason


def _event(etype: EventType, node="XX0101", case_id=None, **payload) -> dict:
    return {"id": str(uuid.uuid4()), "case_id": case_id or str(uuid.uuid4()), "type": etype.value, "stamp": "1.00000.XX0101",
            "node": node, "user": "daiban", "payload": payload}


RECEIVED_OK = {"number": "XX0101-2026-000001"}
CASE = str(uuid.uuid4())

STATION_CASES = [
    # (name, kind, data, facts, refused?)
    ("own resident", "resident", {"id": "r1"}, Facts(), False),
    ("own resident again", "resident", {"id": "r1"}, Facts(owner="XX0101"), False),
    ("another station's resident", "resident", {"id": "r1"}, Facts(owner="XX0102"), True),
    ("another station's notice", "notice", {"id": "n1"}, Facts(owner="XX0102"), True),
    ("another station's objection", "objection", {"id": "o1"}, Facts(owner="XX0102"), True),
    ("another station's ledger entry", "ledger_entry", {"id": "l1"}, Facts(owner="XX0102"), True),
    ("scan on another station's case", "attachment", {"id": "a1", "case_id": CASE}, Facts(case_owner="XX0102"), True),
    ("scan on own case", "attachment", {"id": "a1", "case_id": CASE}, Facts(case_owner="XX0101"), False),
    ("scan on a case the hub never saw", "attachment", {"id": "a1", "case_id": CASE}, Facts(), True),
    ("catalog from a station", "catalog", {"id": "c"}, Facts(), True),
    ("new case", "event", _event(EventType.RECEIVED, **RECEIVED_OK), Facts(), False),
    ("case numbered as another station's", "event", _event(EventType.RECEIVED, number="XX0102-2026-000001"), Facts(), True),
    ("case id that is a printed number", "event", _event(EventType.RECEIVED, case_id="XX0102-2026-000001", **RECEIVED_OK), Facts(), True),
    ("number already used by another case", "event", _event(EventType.RECEIVED, case_id=CASE, **RECEIVED_OK),
     Facts(number_case=str(uuid.uuid4())), True),
    ("the same case sent again", "event", _event(EventType.RECEIVED, case_id=CASE, **RECEIVED_OK),
     Facts(case_owner="XX0101", number_case=CASE), False),
    ("case id already another station's", "event", _event(EventType.RECEIVED, case_id=CASE, **RECEIVED_OK), Facts(case_owner="XX0102"), True),
    ("event written in another node's name", "event", _event(EventType.SUBMITTED, node="XX0102", case_id=CASE), Facts(case_owner="XX0101"), True),
    ("event in the hub's name", "event", _event(EventType.DECIDED, node=HUB_ID, case_id=CASE, outcome="approved"), Facts(case_owner="XX0101"), True),
    ("event on another station's case", "event", _event(EventType.SUBMITTED, case_id=CASE), Facts(case_owner="XX0102"), True),
    ("event on an unknown case", "event", _event(EventType.SUBMITTED, case_id=CASE), Facts(), True),
    ("station's own decision", "event", _event(EventType.DECIDED, case_id=CASE, outcome="approved"), Facts(case_owner="XX0101"), True),
    ("station's own acceptance", "event", _event(EventType.ACCEPTED, case_id=CASE), Facts(case_owner="XX0101"), True),
    ("paper decision transcribed before enrolling", "event", _event(EventType.DECIDED, case_id=CASE, transcribed=True),
     Facts(case_owner="XX0101", paper_allowed=True), False),
    ("'paper' decision made after enrolling", "event", _event(EventType.DECIDED, case_id=CASE, transcribed=True),
     Facts(case_owner="XX0101"), True),
    ("transcribed note", "event", _event(EventType.NOTE, case_id=CASE, transcribed=True), Facts(case_owner="XX0101"), True),
    ("submission", "event", _event(EventType.SUBMITTED, case_id=CASE), Facts(case_owner="XX0101"), False),
    ("station's appeal of a rating", "event", _event(EventType.APPEALED, case_id=CASE, grounds="误评"),
     Facts(case_owner="XX0101"), False),
    ("station deciding its own appeal", "event", _event(EventType.APPEAL_DECIDED, case_id=CASE, outcome="overturned"),
     Facts(case_owner="XX0101"), True),
    ("station 'transcribing' an appeal decision", "event",
     _event(EventType.APPEAL_DECIDED, case_id=CASE, outcome="overturned", transcribed=True),
     Facts(case_owner="XX0101", paper_allowed=True), True),
    ("rules from a station", "rules", {"version": "x"}, Facts(), True),
]


@pytest.mark.parametrize("name,kind,data,facts,refused", STATION_CASES, ids=[c[0] for c in STATION_CASES])
def test_the_hub_judges_a_stations_items(name, kind, data, facts, refused):
    reason = policy.judge_from_station("XX0101", kind, data, facts, HUB_ID)
    assert (reason is not None) == refused, reason


HUB_CASES = [
    ("township decision", "event", _event(EventType.DECIDED, node=HUB_ID, outcome="approved"), Facts(), False),
    ("decision in the station's name", "event", _event(EventType.DECIDED, node="XX0101"), Facts(), True),
    ("township 'paper' decision", "event", _event(EventType.DECIDED, node=HUB_ID, transcribed=True), Facts(), True),
    ("township rating", "event", _event(EventType.RATED, node=HUB_ID, level=5), Facts(), True),
    ("township note", "event", _event(EventType.NOTE, node=HUB_ID, text="x"), Facts(), False),
    ("township appeal decision", "event", _event(EventType.APPEAL_DECIDED, node=HUB_ID, outcome="upheld"), Facts(), False),
    ("township rules", "rules", {"version": "x"}, Facts(), False),
    ("township notice", "notice", {"id": "n1"}, Facts(owner=HUB_ID), False),
    ("overwrite the station's own notice", "notice", {"id": "n1"}, Facts(owner="XX0101"), True),
    ("resident pushed by the hub", "resident", {"id": "r1"}, Facts(), True),
    ("restore own case", "restore", {"kind": "event", "data": _event(EventType.RECEIVED, **RECEIVED_OK)}, Facts(), False),
    ("restore another station's case", "restore",
     {"kind": "event", "data": _event(EventType.RECEIVED, node="XX0102", number="XX0102-2026-000001")}, Facts(), True),
    ("restore a catalog", "restore", {"kind": "catalog", "data": {}}, Facts(), True),
]


@pytest.mark.parametrize("name,kind,data,facts,refused", HUB_CASES, ids=[c[0] for c in HUB_CASES])
def test_the_station_judges_the_hubs_items(name, kind, data, facts, refused):
    reason = policy.judge_from_hub("XX0101", HUB_ID, kind, data, facts)
    assert (reason is not None) == refused, reason


def test_case_ids_are_uuids():
    assert policy.is_case_id(str(uuid.uuid4()))
    assert not policy.is_case_id("XX0101-2026-000001") and not policy.is_case_id(None) and not policy.is_case_id("")
