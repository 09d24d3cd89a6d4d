"""Hostile bundles against a real hub store (in this process) and real stations: nesting bombs in the
header, a declared sequence span of 10^8, stamps that are not stamps or come from a clock in 2286, and
low-order X25519 keys at enrolment. Each is refused with a reason; none is a crash (issue 12)."""
from __future__ import annotations

import json
import struct
import time
import tracemalloc
import uuid

import pytest

from station.core import clock
from station.errors import ValidationFailed
from station.services import audit
from station.services.session import StationHome
from sync import bundle, client, enrol_protocol, enrolment, protocol
from sync.bundle import BundleRejected, canonical, peek, seal
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ST_PASS, intake

ZERO_KEY = bytes(32)


class Local:
    """The hub in this process as a transport: what ``township serve`` does after reading the body."""

    def __init__(self, hub):
        self.hub = hub

    def push(self, data: bytes) -> bytes:
        return self.hub.receive(data)


@pytest.fixture
def hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)
    yield h
    h.store.close()


@pytest.fixture
def station(tmp_path, hub):
    s, _ = StationHome(tmp_path / "XX0101").init("XX0101", "XX0101村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    one_time, _ = hub.add_station("XX0101", "XX0101村")
    enrolment.enroll_online(s, one_time, hub, None)
    yield s
    s.close()


def _header_bomb(depth: int) -> bytes:
    header = b"[" * depth + b"]" * depth
    body = bundle.MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">I", 0)
    return body + bytes(64)


def test_nested_header_is_malformed_not_a_recursion_error():
    for depth in (30_000, 5):
        with pytest.raises(BundleRejected) as exc:
            peek(_header_bomb(depth))
        assert exc.value.code == "malformed"
    # An integer with thousands of digits (CPython refuses to convert it with a bare ValueError).
    header = b'{"format":' + b"1" * 5000 + b"}"
    with pytest.raises(BundleRejected) as exc:
        peek(bundle.MAGIC + struct.pack(">I", len(header)) + header + bytes(68))
    assert exc.value.code == "malformed"


def test_json_depth_ignores_brackets_in_strings():
    assert bundle.json_depth(b'{"a":"[[[[\\"[[","b":[{}]}') == 3
    assert bundle.json_depth(b"[" * 100) == 100
    assert bundle.loads_bounded(b'{"counts":{"event":2}}', bundle.MAX_HEADER_DEPTH) == {"counts": {"event": 2}}
    with pytest.raises(ValueError):
        bundle.loads_bounded(b'{"a":[[[[[1]]]]]}', bundle.MAX_HEADER_DEPTH)


def _signed(station, hub, seq_from: int, seq_to: int, payload: dict) -> bytes:
    from station.services import signing
    return seal(kind="outbox", sender="XX0101", recipient=hub.hub_id, seq_from=seq_from, seq_to=seq_to, counts={},
                created_at=audit.now_iso(), payload=payload, sign_key=signing.signing_key(station),
                recipient_enc=bundle.public_bytes(hub.enc))


def test_a_declared_span_of_10_8_is_refused_before_anything_is_allocated(hub, station):
    data = _signed(station, hub, 1, 10**8, {"items": []})
    assert len(data) < 1000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(BundleRejected) as exc:
            hub.receive(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exc.value.code == "too_large" and str(protocol.MAX_ITEMS_PER_BUNDLE) in exc.value.reason
    assert peak < 5_000_000 and time.monotonic() - started < 2  # was 3.9 GB and 13 s
    assert hub.store.station("XX0101")["hwm"] == 0


def test_check_items_builds_nothing_in_proportion_to_the_span():
    tracemalloc.start()
    try:
        for lo, hi in ((1, 10**8), (5, 5 + protocol.MAX_ITEMS_PER_BUNDLE)):
            with pytest.raises(BundleRejected) as exc:
                protocol.check_items([], lo, hi, {"event"})
            assert exc.value.code == "too_large"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    items = [{"seq": s, "kind": "event", "data": {}} for s in (3, 4)]
    assert protocol.check_items(items, 3, 4, {"event"}) == items
    for bad in ([{"seq": 3, "kind": "event", "data": {}}], [{"seq": True, "kind": "event", "data": {}}, items[1]], ["x", items[1]]):
        with pytest.raises(BundleRejected):
            protocol.check_items(bad, 3, 4, {"event"})


def _forge_event(session, stamp: str) -> int:
    """An event with the given stamp written and queued, as a damaged or tampered station would."""
    case_id = session.store.scalar("SELECT id FROM cases LIMIT 1")
    eid = str(uuid.uuid4())
    with session.store.transaction() as db:
        seq = db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES ('event', ?, ?)", (eid, audit.now_iso())).lastrowid
        db.execute("INSERT INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) VALUES "
                   "(?, ?, 'note_added', ?, 'XX0101', 'daiban', '{\"text\": \"x\"}', ?, ?)", (eid, case_id, stamp, seq, audit.now_iso()))
    return seq


def test_a_garbage_stamp_is_quarantined_and_does_not_block_the_station(hub, station):
    intake(station, 1)
    client.sync_once(station, Local(hub))
    bad = _forge_event(station, "garbage")
    intake(station, 1, start=1)  # and a good case after it
    client.sync_once(station, Local(hub))  # was a ValueError (a 500 over HTTP), every time: the station stuck
    assert client.pending(station) == 0 and hub.store.counts()["cases"] == 2
    q = hub.store.quarantined("XX0101")
    assert [r["seq"] for r in q] == [bad] and "时间戳格式不对" in q[0]["reason"]
    mine = station.store.query("SELECT seq, reason FROM sync_quarantine")
    assert [r["seq"] for r in mine] == [bad] and "时间戳" in mine[0]["reason"]


def test_a_nul_character_in_a_record_is_quarantined_alike_on_both_stores(hub, station):
    """PostgreSQL text cannot hold NUL (SQLite can): an event whose author has one was a refused bundle
    there, every time (the station stuck); now it is set aside with its reason on both stores."""
    intake(station, 1)
    client.sync_once(station, Local(hub))
    case_id = station.store.scalar("SELECT id FROM cases")
    with station.store.transaction() as db:
        seq = db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES ('event', ?, ?)", ("nul\x00id", audit.now_iso())).lastrowid
        db.execute("INSERT INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) VALUES "
                   "(?, ?, 'note_added', ?, 'XX0101', ?, '{\"text\": \"x\"}', ?, ?)",
                   ("nul\x00id", case_id, clock.HybridClock("XX0101").now(), "dai\x00ban", seq, audit.now_iso()))
    intake(station, 1, start=1)  # and a good case after it
    client.sync_once(station, Local(hub))
    assert client.pending(station) == 0 and hub.store.counts()["cases"] == 2
    q = hub.store.quarantined("XX0101")
    assert [r["seq"] for r in q] == [seq] and "空字符" in q[0]["reason"]
    assert hub.store.quarantine_item(q[0]["id"])["data"]["user"] == "dai\x00ban"  # kept as it came, to look at


def test_a_stamp_from_2286_is_a_clock_problem_shown_to_the_station_never_absorbed(hub, station):
    intake(station, 1)
    client.sync_once(station, Local(hub))
    bad = _forge_event(station, "9999999999999.99998.XX0101")
    client.sync_once(station, Local(hub))
    assert hub.clock.last_ms < int(time.time() * 1000) + clock.MAX_CLOCK_SKEW_MS  # the hub's clock did not jump to 2286
    assert hub.store.max_stamp() < "9"
    q = hub.store.quarantined("XX0101")
    assert [r["seq"] for r in q] == [bad] and "服务站电脑的时钟不对" in q[0]["reason"]
    # What the clerk sees on the station's sync problems: the PC's clock is wrong.
    reason = station.store.query("SELECT reason FROM sync_quarantine")[0]["reason"]
    assert "服务站电脑的时钟不对" in reason and "校准" in reason
    # New township stamps still sort after the station's and keep their fixed width.
    for _ in range(3):
        stamp = hub.clock.now()
        assert clock.parse_stamp(stamp)[0] < 9_000_000_000_000


def test_a_stamp_a_little_ahead_is_accepted(hub, station):
    intake(station, 1)
    ahead = clock.format_stamp(int(time.time() * 1000) + 3_600_000, 0, "XX0101")  # an hour fast: within the allowed skew
    _forge_event(station, ahead)
    client.sync_once(station, Local(hub))
    assert hub.store.quarantined("XX0101") == [] and hub.store.max_stamp() == ahead


def test_stamp_format_and_counter_overflow():
    for bad in ("garbage", "1.2.X", "99999999999999.00000.X", "0000000000001.000001.X", "0000000000001.00000.", None, 5,
                "0000000000001.00000.X\n"):
        with pytest.raises(clock.StampRejected):
            clock.parse_stamp(bad)
    with pytest.raises(clock.StampRejected) as exc:
        clock.check_received("9999999999999.99998.X", "服务站")
    assert exc.value.code == "clock_ahead"
    c = clock.HybridClock("JZ01")
    c.observe("0000000001000.99998.XX0101")
    stamps = [c.now(wall_ms=5) for _ in range(4)]  # the wall clock is behind: the counter runs, then the millisecond
    assert stamps == sorted(stamps) and len(set(map(len, stamps))) == 1
    assert [clock.parse_stamp(s)[:2] for s in stamps] == [(1000, 99999), (1001, 0), (1001, 1), (1001, 2)]


def test_low_order_x25519_keys_are_refused_at_enrolment(tmp_path, hub):
    assert not bundle.x25519_key_ok(ZERO_KEY) and not bundle.x25519_key_ok(bytes([1]) + bytes(31))
    assert bundle.x25519_key_ok(bundle.public_bytes(bundle.new_keys()[1]))
    s, _ = StationHome(tmp_path / "XX0102").init("XX0102", "XX0102村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    one_time, _ = hub.add_station("XX0102", "XX0102村")
    sign_pub = enrol_protocol.b64(bundle.public_bytes(bundle.new_keys()[0]))
    # Online: the station side as a hostile client would run it, sending an all-zero encryption key.
    pake = enrol_protocol.station_pake("XX0102", hub.hub_id, one_time)
    started = hub.enrol_start({"station_code": "XX0102", "msg": enrol_protocol.b64(pake.start())})
    keys = enrol_protocol.session_keys(pake.finish(enrol_protocol.unb64(started["msg"])))
    box = enrol_protocol.seal_box(keys.station_keys, {"station_code": "XX0102", "sign_pub": sign_pub, "enc_pub": enrol_protocol.b64(ZERO_KEY)},
                                  enrol_protocol.box_aad(started["session"], "XX0102", "station-keys"))
    with pytest.raises(ValidationFailed) as exc:
        hub.enrol_finish({"session": started["session"], "box": box})
    assert "低阶点" in str(exc.value)
    assert hub.store.station("XX0102")["status"] == "pending"
    # On a stick: a reply carrying a zero key, with a correct proof of the code.
    _, doc = hub.add_station("XX0103", "XX0103村")
    st = hub.store.station("XX0103")
    proof = enrol_protocol.reply_proof(bytes(st["enrol_key"]), "XX0103", hub.hub_id, sign_pub, enrol_protocol.b64(ZERO_KEY))
    reply = enrol_protocol.seal_reply(bundle.public_bytes(hub.enc), "XX0103", hub.hub_id,
                                      {"station_code": "XX0103", "hub_id": hub.hub_id, "sign_pub": sign_pub,
                                       "enc_pub": enrol_protocol.b64(ZERO_KEY), "proof": proof})
    with pytest.raises(ValidationFailed, match="登记回执格式不对"):
        hub.confirm(reply)
    assert hub.store.station("XX0103")["status"] == "pending"
    s.close()


def test_a_station_enrolled_with_a_zero_key_earlier_gets_a_reason_not_a_crash(hub, station):
    hub.store.update_station("XX0101", enc_pub=ZERO_KEY)  # as an older hub let it in
    data, _, _ = client.build_bundle(station, client.hub(station))
    with pytest.raises(BundleRejected) as exc:
        hub.receive(data)
    assert exc.value.code == "bad_key" and "重新登记" in exc.value.reason


def test_a_hub_offering_a_zero_key_is_refused_by_the_station():
    assert not enrol_protocol.public_keys_ok(enrol_protocol.b64(bundle.public_bytes(bundle.new_keys()[0])), enrol_protocol.b64(ZERO_KEY))
    assert not enrol_protocol.public_keys_ok("not base64!", "AAAA")
    assert json.loads(canonical({"a": 1})) == {"a": 1}


class HubClockBehind(Local):
    """The real hub's reply, as a hub whose clock is three days behind this PC's would sign it."""

    def push(self, data: bytes) -> bytes:
        reply = self.hub.receive(data)
        h = peek(reply)
        from sync.bundle import open_bundle
        station = self.station
        opened = open_bundle(reply, me=station.station_code, my_enc=client.encryption_key(station),
                             sender_key=lambda _s: bundle.public_bytes(self.hub.sign))
        from datetime import datetime, timedelta, timezone
        behind = (datetime.now(timezone.utc) - timedelta(days=3)).isoformat()
        return seal(kind="reply", sender=h["sender"], recipient=h["recipient"], seq_from=h["seq_from"], seq_to=h["seq_to"],
                    counts=h["counts"], created_at=behind, payload=opened.payload, sign_key=self.hub.sign,
                    recipient_enc=bundle.public_bytes(client.encryption_key(station)))


def test_a_pc_clock_days_off_is_said_on_the_today_line(hub, station):
    from station.services import syncstate
    intake(station, 1)
    transport = HubClockBehind(hub)
    transport.station = station
    result = client.sync_once(station, transport)
    assert client.pending(station) == 0  # the sync itself worked...
    assert result.clock_problem and "快约 72 小时" in result.clock_problem
    line = syncstate.describe(syncstate.status(station))  # ...and the Today screen says the clock is wrong
    assert "本机电脑的时钟不对" in line and "校准" in line
    client.sync_once(station, Local(hub))  # clock right again (the hub's own reply): the warning goes
    assert "时钟" not in syncstate.describe(syncstate.status(station))
    assert client.clock_problem("not a time") is None


def test_two_new_cases_under_one_number_in_one_bundle_the_second_is_set_aside(hub, station):
    """Found by an outside review: both intakes passed the number check (neither case had a row yet),
    and the second case's row then broke the unique number, failing the whole bundle every time."""
    first, second = intake(station, 2)
    with station.store.transaction() as db:  # a tampered or damaged station: the second intake under the first's number
        row = db.execute("SELECT e.id, e.payload FROM events e JOIN cases c ON c.id = e.case_id "
                         "WHERE c.number = ? AND e.type = 'received'", (second,)).fetchone()
        payload = json.loads(row[1])
        payload["number"] = first
        db.execute("UPDATE events SET payload = ? WHERE id = ?", (json.dumps(payload, ensure_ascii=False), row[0]))
    client.sync_once(station, Local(hub))
    assert client.pending(station) == 0 and hub.store.counts()["cases"] == 1
    assert hub.store.case(first)["id"] == station.store.scalar("SELECT id FROM cases WHERE number = ?", (first,))
    reasons = [q["reason"] for q in hub.store.quarantined("XX0101")]
    assert reasons and "已被本站另一件使用" in reasons[0], reasons


@pytest.mark.parametrize("odd", ['"item_name":NaN', '"due_on":Infinity', '"gap_promise":-Infinity', '"item_name":1e400',
                                 '"home_visit":NaN'])
def test_a_new_case_with_nan_or_infinity_is_projected_as_stored(hub, station, odd):
    """Found by an outside review: a new case is folded from the bundle's own events, which still held
    NaN where the stored event (pydantic's JSON dump) has null; the row then broke NOT NULL or date
    parsing and the whole bundle failed, every time (the station stuck). It is projected as a fold of
    what was stored, exactly as reading the case back gives."""
    from station.core.cases import CaseEvent, fold
    case_id = str(uuid.uuid4())
    payload = ('{"number":"XX0101-2026-000001","resident_id":"r1","item_code":"SB-001","item_name":"养老","owner":"u",'
               '"received_on":"2026-01-01","materials_required":["a"],"materials_received":["a"],"due_on":"2026-01-09"}')
    key = odd.split(":")[0]
    payload = payload.replace(f',{key}:"养老"', "").replace(f',{key}:"2026-01-09"', "")[:-1] + "," + odd + "}"
    text = ('{"ack":0,"items":[{"seq":1,"kind":"event","data":{"id":"%s","case_id":"%s","type":"received","stamp":"%s",'
            '"node":"XX0101","user":"u","payload":%s}}]}') % (uuid.uuid4(), case_id, clock.HybridClock("XX0101").now(), payload)
    hub.apply("XX0101", 1, 1, bundle.loads_bounded(text.encode(), bundle.MAX_PAYLOAD_DEPTH))
    assert hub.store.station("XX0101")["hwm"] == 1 and not hub.store.quarantined("XX0101")
    row = hub.store.case("XX0101-2026-000001")
    again = fold(case_id, [CaseEvent.model_validate(e) for e in hub.store.case_events(case_id)])
    assert (row["item_name"], row["due_on"], row["status"]) == \
        (again.item_name or "", again.due_on.isoformat() if again.due_on else None, again.status.value)


def test_json_depth_is_linear_on_escaped_quotes_that_never_close():
    """Found by an outside review: a header (read before its signature is checked) or a request body of
    one opening quote and escaped quotes took the string regex back to every quote: 8 s of CPU for 64 KB.
    Malformed either way; now one pass."""
    for size in (20_000, 32_700):
        text = b'"' + b'\\"' * size
        start = time.process_time()
        assert bundle.json_depth(text) == 0 and bundle.json_depth(text + b"\\") == 0
        with pytest.raises(BundleRejected):
            peek(bundle.MAGIC + struct.pack(">I", len(text)) + text + bytes(68))
        assert time.process_time() - start < 0.5


def test_new_cases_are_folded_from_the_bundle_and_a_case_with_an_event_already_there_is_read_back(hub, station, monkeypatch):
    """A bundle's new events are written at once (``_Known.flush``): on both stores the count written
    must match, or every case would be read back for nothing (or, were it too high, a case folded from
    an event that is not stored). A case whose event id the hub already holds is read back."""
    read_back: list[str] = []
    real = hub.store.case_events_of
    monkeypatch.setattr(hub.store, "case_events_of", lambda ids: read_back.extend(ids) or real(ids))
    numbers = intake(station, 3)
    client.sync_once(station, Local(hub))
    assert read_back == [] and hub.store.counts()["cases"] == 3
    # The same intake event sent again under a new number (a station restored from an older backup
    # numbers what it has not sent after the hub's mark): its id is there, nothing is written twice.
    row = station.store.one("SELECT e.case_id, e.id FROM events e JOIN cases c ON c.id = e.case_id WHERE c.number = ?", (numbers[0],))
    events_before = hub.store.s.scalar("SELECT count(*) FROM events")
    data = client._items_data(station, [{"kind": "event", "ref_id": row["id"]}])[("event", row["id"])]
    top = hub.store.station("XX0101")["hwm"]
    hub.apply("XX0101", top + 1, top + 1, {"ack": 0, "items": [{"seq": top + 1, "kind": "event", "data": data}]})
    assert read_back == [row["case_id"]]
    assert hub.store.s.scalar("SELECT count(*) FROM events") == events_before and not hub.store.quarantined("XX0101")
    assert hub.store.case(numbers[0])["status"] == "received"
