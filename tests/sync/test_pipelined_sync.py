"""The station builds its next bundle while the township applies the one before (sync.client.sync_once).
Found by an outside review: a bundle built ahead carried the acknowledgement from before the reply in
flight was taken in, so the township's records came down twice and a sync could end before they had
all arrived; and a failure building ahead threw away the reply to the bundle already applied."""
from __future__ import annotations

import pytest

from station.services import audit
from sync import bundle, client, protocol
from tests.sync.conftest import intake
from tests.sync.test_hostile_bundles import Local, hub, station  # noqa: F401  (the in-process hub and an enrolled station)


class Spy(Local):
    """The in-process hub, noting what each bundle acknowledged and which hub records each reply carried."""

    def __init__(self, township):
        super().__init__(township)
        self.log: list[dict] = []

    def push(self, data):
        opened = bundle.open_bundle(data, me=self.hub.hub_id, my_enc=self.hub.enc,
                                    sender_key=lambda s: bytes(self.hub.store.station(s)["sign_pub"]))
        reply = super().push(data)
        down = bundle.peek(reply)
        self.log.append({"ack": opened.payload["ack"], "down": (down["seq_from"], down["seq_to"])})
        return reply


def _hub_top(township) -> int:
    return township.store.s.scalar("SELECT max(seq) FROM outbox WHERE station = 'XX0101'")


@pytest.mark.parametrize("station_cases", [2, 3])
def test_township_records_come_down_once_and_all_before_the_sync_ends(hub, station, monkeypatch, station_cases):  # noqa: F811
    numbers = intake(station, 1)
    client.sync_once(station, Local(hub))
    for i in range(6):  # six township notes for the station
        hub.case_event(numbers[0], "note_added", {"text": f"乡镇备注{i}"})
    intake(station, station_cases, start=1)  # more than one bundle of the station's own records
    monkeypatch.setattr(protocol, "MAX_ITEMS_PER_BUNDLE", 2)  # small bundles both ways
    spy = Spy(hub)
    client.sync_once(station, spy)
    downs = [r["down"] for r in spy.log if r["down"][1] >= r["down"][0]]
    assert len(downs) == len(set(downs)), f"a reply carried the same township records twice: {spy.log}"
    assert client.inbound_hwm(station) == _hub_top(hub) and client.pending(station) == 0


def test_a_failure_building_ahead_keeps_the_reply_to_what_was_pushed(hub, station, monkeypatch):  # noqa: F811
    numbers = intake(station, 1)
    client.sync_once(station, Local(hub))
    hub.case_event(numbers[0], "note_added", {"text": "乡镇备注"})  # one township record to come down
    intake(station, 1, start=1)  # two records: one bundle of two
    with station.store.transaction() as db:  # then a record whose content is missing (a damaged database)
        db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES ('resident', 'gone', ?)", (audit.now_iso(),))
    monkeypatch.setattr(protocol, "MAX_ITEMS_PER_BUNDLE", 2)
    with pytest.raises(client.SyncFailed, match="内容缺失"):
        client.sync_once(station, Local(hub))
    assert client.inbound_hwm(station) == _hub_top(hub), "the township's record was not taken in"
    assert client.pending(station) == 1, "the two records the township applied were not marked delivered"
