"""The anchor rules on their own (``sync.anchor.judge``, ``parse_positions``): table-driven."""
from __future__ import annotations

import pytest

from sync.anchor import Position, judge, parse_positions

A, B, C, X = ("a" * 64), ("b" * 64), ("c" * 64), ("f" * 64)
HISTORY = {"audit": {10: A, 20: B}}


@pytest.mark.parametrize("heads, proofs, fresh, expected", [
    # an honest station: grows, proves the newest anchor, or an older one (a reply was lost)
    ({"audit": Position(25, C)}, {"audit": Position(20, B)}, True, None),
    ({"audit": Position(25, C)}, {"audit": Position(10, A)}, True, None),
    ({"audit": Position(20, B)}, {}, True, None),
    # an old bundle arriving late (a stick imported after a newer one): its head is older, no more
    ({"audit": Position(12, C)}, {"audit": Position(10, A)}, False, None),
    ({"audit": Position(12, C)}, {}, False, None),
    # the anchored entry is gone, or differs: a cut or a rewrite, whatever the head says
    ({"audit": Position(25, C)}, {"audit": Position(20, None)}, False, (20, "已不存在")),
    ({"audit": Position(25, C)}, {"audit": Position(10, X)}, True, (10, "改写")),
    # a head at a recorded position with another hash
    ({"audit": Position(20, X)}, {}, False, (20, "改写")),
    # a head below the newest anchor, in a bundle that cannot be old, or from a station that knew that anchor
    ({"audit": Position(15, C)}, {}, True, (20, "末尾")),
    ({"audit": Position(15, C)}, {"audit": Position(20, B)}, False, (20, "末尾")),
])
def test_judge(heads, proofs, fresh, expected):
    found = judge(HISTORY, heads, proofs, fresh)
    if expected is None:
        assert found == []
    else:
        assert [(f.chain, f.seq) for f in found] == [("audit", expected[0])] and expected[1] in found[0].message
        assert found[0].kind == "audit_chain" and "审计日志" in found[0].message


def test_nothing_recorded_yet_judges_nothing():
    assert judge({}, {"audit": Position(1, A)}, {"audit": Position(5, None)}, True) == []


def test_each_chain_on_its_own():
    found = judge({"audit": {10: A}, "ledger": {4: B}}, {"audit": Position(12, C), "ledger": Position(2, C)}, {}, True)
    assert [(f.kind, f.seq) for f in found] == [("ledger_chain", 4)] and "台账" in found[0].message


@pytest.mark.parametrize("value", [None, [], "x", {"audit": 3}, {"audit": {"seq": True, "hash": A}}, {"audit": {"seq": -1, "hash": A}},
                                   {"audit": {"seq": 3, "hash": "zz"}}, {"audit": {"seq": 3}}, {"audit": {"seq": "3", "hash": A}},
                                   {"other": {"seq": 3, "hash": A}}])
def test_malformed_positions_are_left_out(value):
    assert parse_positions(value) == {}


def test_positions_parse_and_a_missing_entry_only_where_allowed():
    doc = {"audit": {"seq": 3, "hash": A}, "ledger": {"seq": 7, "hash": None}}
    assert parse_positions(doc) == {"audit": Position(3, A)}
    assert parse_positions(doc, missing_hash_ok=True) == {"audit": Position(3, A), "ledger": Position(7, None)}
