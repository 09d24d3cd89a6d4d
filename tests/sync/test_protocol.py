import pytest

from sync.bundle import BundleRejected
from sync.protocol import check_items, plan


def test_replay_overlap_and_gap():
    assert plan(10, 1, 10).status == "replay" and plan(10, 5, 9).new_hwm == 10
    overlap = plan(10, 8, 15)
    assert overlap.status == "apply" and overlap.skip_through == 10 and overlap.new_hwm == 15
    assert plan(10, 11, 12).new_hwm == 12
    with pytest.raises(BundleRejected) as exc:
        plan(10, 13, 20)
    assert exc.value.code == "gap" and "11 至 12" in exc.value.reason
    assert plan(0, 1, 0).status == "replay"  # an empty bundle (a pull) applies nothing


def test_items_must_match_the_header():
    items = [{"seq": s, "kind": "event", "data": {}} for s in (3, 4)]
    assert check_items(items, 3, 4, {"event"}) == items
    for bad in ([items[1], items[0]], items[:1], [{"seq": 3, "kind": "virus", "data": {}}, items[1]]):
        with pytest.raises(BundleRejected):
            check_items(bad, 3, 4, {"event"})
