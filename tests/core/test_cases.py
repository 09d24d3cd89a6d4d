"""The case state machine and the fold, without any store."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.core.cases import CaseEvent, CaseState, EventType, Status, check, fold

RECEIVED = {"number": "XX0101-2026-000001", "resident_id": "r1", "item_code": "MZ-001", "owner": "daiban",
            "received_on": "2026-11-02", "due_on": "2026-11-20", "materials_required": ["身份证", "户口簿"],
            "materials_received": ["身份证", "户口簿"], "gap_allowed": []}


def ev(n: int, etype: EventType, payload=None, node="XX0101") -> CaseEvent:
    return CaseEvent(id=f"e{n:03d}", case_id="c1", type=etype, stamp=f"{1700000000000 + n:013d}.00000.{node}",
                     node=node, user="daiban", payload=payload or {})


HAPPY = [
    ev(1, EventType.RECEIVED, RECEIVED), ev(2, EventType.SUBMITTED), ev(3, EventType.ACCEPTED, node="HUB"),
    ev(4, EventType.DECIDED, {"outcome": "approved", "summary": "准予"}, node="HUB"),
    ev(5, EventType.DELIVERED, {"method": "当面领取"}), ev(6, EventType.RATED, {"level": 1}),
]


def test_happy_path_to_bad_rating_opens_follow_up_that_closes():
    state = fold("c1", HAPPY)
    assert state.status == Status.RATED and state.follow_up == "open" and not state.conflicts
    closing = {"verification": "已核实", "rectification": "已整改", "revisit": "已回访"}
    assert check(state, EventType.FOLLOW_UP_CLOSED, {"verification": "已核实"})  # all three are required
    assert check(state, EventType.FOLLOW_UP_CLOSED, closing) == []
    state = fold("c1", HAPPY + [ev(7, EventType.FOLLOW_UP_CLOSED, closing)])
    assert state.follow_up == "closed"


def test_good_rating_opens_no_follow_up():
    events = HAPPY[:-1] + [ev(6, EventType.RATED, {"level": 4})]
    assert fold("c1", events).follow_up is None


@pytest.mark.parametrize("upto,etype,payload", [
    (1, EventType.DELIVERED, {"method": "当面领取"}),        # cannot deliver before a decision
    (1, EventType.RATED, {"level": 5}),                     # cannot rate before delivery
    (5, EventType.WITHDRAWN, {"reason": "不办了"}),           # cannot withdraw once decided
    (2, EventType.SUBMITTED, {}),                            # already submitted
    (6, EventType.RATED, {"level": 5}),                     # one rating per case (一事一评)
])
def test_illegal_transitions_are_refused_in_chinese(upto, etype, payload):
    state = fold("c1", HAPPY[:upto])
    problems = check(state, etype, payload)
    assert problems and problems[0].code == "illegal_transition"
    assert "不能" in problems[0].message


def test_returned_case_can_be_resubmitted():
    events = HAPPY[:2] + [ev(3, EventType.RETURNED, {"reason": "复印件不清晰"}, node="HUB"), ev(4, EventType.SUBMITTED)]
    state = fold("c1", events)
    assert state.status == Status.SUBMITTED and state.returned_reason == "复印件不清晰"


def test_submit_blocked_while_essential_materials_missing():
    payload = dict(RECEIVED, materials_received=["身份证"], due_on=None)
    state = fold("c1", [ev(1, EventType.RECEIVED, payload)])
    assert state.missing == ["户口簿"] and state.due_on is None
    assert check(state, EventType.SUBMITTED, {})[0].code == "materials_missing"
    state = fold("c1", [ev(1, EventType.RECEIVED, payload),
                        ev(2, EventType.MATERIALS_ADDED, {"materials": ["户口簿"], "on": "2026-11-05", "due_on": "2026-11-20"})])
    assert check(state, EventType.SUBMITTED, {}) == []
    assert str(state.due_from) == "2026-11-05"


def test_rating_and_decision_payloads_checked():
    state = fold("c1", HAPPY[:5])
    assert check(state, EventType.RATED, {"level": 6})[0].code == "bad_rating"
    state = fold("c1", HAPPY[:3])
    assert {p.code for p in check(state, EventType.DECIDED, {"outcome": "maybe"})} == {"bad_outcome", "required"}


def test_concurrent_conflict_is_recorded_not_silently_applied():
    # Station withdraws while the township, apart, decides: both orders fold the same way.
    withdraw = ev(3, EventType.WITHDRAWN, {"reason": "群众撤回"})
    decide = ev(4, EventType.DECIDED, {"outcome": "approved", "summary": "准予"}, node="HUB")
    state = fold("c1", HAPPY[:2] + [decide, withdraw])
    assert state.status == Status.WITHDRAWN
    assert [c["event_id"] for c in state.conflicts] == ["e004"]


@settings(max_examples=60, deadline=None)
@given(st.permutations(HAPPY + [ev(7, EventType.NOTE, {"text": "电话催办"}), ev(8, EventType.WITHDRAWN, {"reason": "撤回"})]))
def test_fold_is_order_independent(events):
    """Sync delivers events in any order and any number of times; the state is the same."""
    expected = fold("c1", HAPPY + [ev(7, EventType.NOTE, {"text": "电话催办"}), ev(8, EventType.WITHDRAWN, {"reason": "撤回"})])
    assert fold("c1", list(events)) == expected


def test_fold_of_nothing_is_empty():
    assert fold("c1", []) == CaseState(id="c1")
    assert check(None, EventType.SUBMITTED, {})[0].code == "not_received"


def test_a_paper_decision_is_superseded_by_the_townships_own_record():
    """A clerk transcribes the paper decision (not enrolled); the township's record arrives later and wins."""
    paper = [ev(1, EventType.RECEIVED, RECEIVED), ev(2, EventType.SUBMITTED),
             ev(3, EventType.ACCEPTED, {"transcribed": True}),
             ev(4, EventType.DECIDED, {"outcome": "approved", "summary": "纸质通知:准予", "transcribed": True}),
             ev(5, EventType.DELIVERED, {"method": "当面领取"})]
    state = fold("c1", paper)
    assert state.status == Status.DELIVERED and state.paper == ["accepted_by_township", "decided"]
    township = {"outcome": "rejected", "summary": "乡镇复核:不予"}
    assert check(state, EventType.DECIDED, township) == []  # not an illegal transition for the township
    assert check(state, EventType.DECIDED, {**township, "transcribed": True})  # a second transcription is
    state = fold("c1", paper + [ev(6, EventType.DECIDED, township, node="HUB")])
    assert state.status == Status.DELIVERED and not state.conflicts  # the case keeps its place
    assert (state.decision, state.decision_summary) == ("rejected", "乡镇复核:不予") and state.paper == ["accepted_by_township"]
    # Without a transcription, a decision on a delivered case is still a conflict.
    plain = fold("c1", HAPPY[:5] + [ev(9, EventType.DECIDED, township, node="HUB")])
    assert plain.decision == "approved" and plain.conflicts


def test_forward_to_county_after_acceptance_then_the_countys_result():
    submitted = HAPPY[:2]
    assert check(fold("c1", submitted), EventType.FORWARDED, {"on": "2026-11-05"})[0].code == "illegal_transition"
    accepted = HAPPY[:3]
    state = fold("c1", accepted)
    county = {"outcome": "rejected", "summary": "县民政局:家庭收入超过标准", "county": True}
    assert check(state, EventType.DECIDED, county)[0].code == "not_forwarded"
    forwarded = accepted + [ev(4, EventType.FORWARDED, {"on": "2026-11-05"}, node="HUB")]
    state = fold("c1", forwarded)
    assert state.status == Status.ACCEPTED and str(state.forwarded_on) == "2026-11-05" and not state.conflicts
    assert check(state, EventType.FORWARDED, {"on": "2026-11-06"})[0].code == "already_forwarded"
    state = fold("c1", forwarded + [ev(5, EventType.DECIDED, county, node="HUB")])
    assert state.status == Status.DECIDED and state.decision == "rejected" and not state.conflicts
