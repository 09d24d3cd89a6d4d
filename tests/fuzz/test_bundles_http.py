"""Fuzzers for bundles and HTTP (issue 12): bundle open, header peek, signed bundles carrying
hostile headers and payloads through a real hub store, and hostile bodies to every endpoint of a
real ``township serve`` on 127.0.0.1. The property: only clean refusals (``BundleRejected`` in
process, 4xx over HTTP), never another exception, never a 5xx.

Budget: ``FUZZ_EXAMPLES`` examples per fuzzer (200 by default, in the normal test run); a longer run:
``FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz/test_bundles_http.py -q`` (or ``HYPOTHESIS_PROFILE=long``,
which means 5,000 here).
"""
from __future__ import annotations

import json
import os
import struct

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.services import audit, signing
from station.services.session import StationHome
from sync import bundle, client, enrolment
from sync.bundle import BundleRejected, canonical, seal
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ST_PASS, HubProcess

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (5000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 200))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                           max_leaves=30)
HEADER_FIELDS = ("format", "kind", "sender", "recipient", "seq_from", "seq_to", "counts", "created_at", "payload_sha256",
                 "payload_size", "eph", "nonce")
GOOD_HEADER = {"format": 1, "kind": "outbox", "sender": "XX0101", "recipient": "JZ01", "seq_from": 1, "seq_to": 0, "counts": {},
               "created_at": "2026-11-23T08:00:00Z", "payload_sha256": "0" * 64, "payload_size": 2, "eph": "AAAA", "nonce": "AAAA"}
hostile_ints = st.integers() | st.sampled_from([-1, 0, 2**31, 2**62, 2**63, 2**64, 10**8, 10**400])


def _raw(header: bytes) -> bytes:
    return bundle.MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">I", 0) + bytes(64)


@st.composite
def headers(draw) -> bytes:
    """Header bytes: a good header with fields replaced, dropped or nested, or text that is hardly JSON."""
    choice = draw(st.sampled_from(["fields", "nest", "text", "bytes"]))
    if choice == "fields":
        h = dict(GOOD_HEADER)
        for f in draw(st.lists(st.sampled_from(HEADER_FIELDS), max_size=4)):
            h[f] = draw(json_values | hostile_ints)
        for f in draw(st.lists(st.sampled_from(HEADER_FIELDS), max_size=2)):
            h.pop(f, None)
        return canonical(h)
    if choice == "nest":
        depth = draw(st.integers(1, 50_000))
        opener = draw(st.sampled_from([b"[", b'{"a":', b'[{"a":']))
        return opener * depth
    if choice == "text":
        return draw(st.text(alphabet='[]{}",:0123456789.-eE \\ntrufalsn', max_size=400)).encode()
    return draw(st.binary(max_size=400))


def _counted(fn):
    """Run ``fn``; a ``BundleRejected`` is a clean refusal, anything else fails the fuzzer."""
    try:
        fn()
    except BundleRejected as exc:
        assert exc.code and exc.reason
        return "rejected"
    return "accepted"


@FUZZ
@given(headers())
def test_fuzz_header_peek(header):
    _counted(lambda: bundle.peek(_raw(header)))


HUB_SIGN, HUB_ENC = bundle.new_keys()
ST_SIGN, _ = bundle.new_keys()


@FUZZ
@given(headers(), st.binary(max_size=300))
def test_fuzz_bundle_open(header, tail):
    data = bundle.MAGIC + struct.pack(">I", len(header)) + header + tail
    _counted(lambda: bundle.open_bundle(data, me="JZ01", my_enc=HUB_ENC, sender_key=lambda s: bundle.public_bytes(ST_SIGN)))


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory):
    """A real hub store and an enrolled station, in this process (signed bundles need the station's key)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    hub, _ = HubHome(tmp / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)
    s, _ = StationHome(tmp / "XX0101").init("XX0101", "XX0101村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    one_time, _ = hub.add_station("XX0101", "XX0101村")
    enrolment.enroll_online(s, one_time, hub, None)
    yield hub, s
    s.close()
    hub.store.close()


KINDS = st.sampled_from(["resident", "event", "attachment", "ledger_entry", "infra_event", "notice", "objection", "catalog", "x"])
STAMPS = st.text(max_size=30) | st.sampled_from(["9999999999999.99998.X", "0000000000000.00000.XX0101", "1763884800000.00000.XX0101"])


@st.composite
def payloads(draw, seq_from: int, n: int) -> dict:
    items = []
    for i in range(n):
        data = draw(st.dictionaries(st.sampled_from(["id", "case_id", "type", "stamp", "node", "payload", "data", "sha256",
                                                     "id_number", "notice_id", "ledger", "amount_fen"]),
                                    json_values | STAMPS, max_size=8))
        seq = seq_from + i if draw(st.integers(0, 9)) else draw(hostile_ints)
        items.append({"seq": seq, "kind": draw(KINDS), "data": data})
    payload = {"items": items}
    if draw(st.booleans()):
        payload["ack"] = draw(json_values | hostile_ints)
    if draw(st.booleans()):
        payload[draw(st.sampled_from(["heads", "at_anchor", "quarantined", "items"]))] = draw(json_values)
    return payload


@FUZZ
@given(st.data())
def test_fuzz_signed_bundles_through_the_hub(enrolled, data):
    """An enrolled station (or one whose key leaked) sending anything: only clean refusals or applies."""
    hub, s = enrolled
    hwm = hub.store.station("XX0101")["hwm"]
    seq_from = data.draw(st.sampled_from([hwm + 1, hwm, 1, 0]) | hostile_ints.filter(lambda v: 0 <= v < 2**62))
    n = data.draw(st.integers(0, 4))
    seq_to = data.draw(st.sampled_from([seq_from + n - 1, seq_from + 10**8, seq_from - 2]) | st.integers(0, 2**62))
    payload = data.draw(payloads(seq_from, n))
    raw = seal(kind=data.draw(st.sampled_from(["outbox", "reply"])), sender="XX0101", recipient="JZ01", seq_from=seq_from,
               seq_to=seq_to, counts={}, created_at=audit.now_iso(), payload=payload, sign_key=signing.signing_key(s),
               recipient_enc=bundle.public_bytes(hub.enc))
    if _counted(lambda: hub.receive(raw)) == "accepted":
        assert hub.store.station("XX0101")["hwm"] >= hwm


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    home = HubHome(tmp / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    process = HubProcess(home.dir)
    process.start()
    s, _ = StationHome(tmp / "XX0101").init("XX0101", "XX0101村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    with process.open() as h:
        one_time, _ = h.add_station("XX0101", "XX0101村")
    from tests.sync.conftest import enroll
    enroll(s, process, one_time)
    good = client.build_bundle(s, client.hub(s))[0]
    yield process, good
    s.close()
    process.stop()


@st.composite
def bodies(draw, good: bytes) -> bytes:
    choice = draw(st.sampled_from(["bytes", "header", "mutated", "json"]))
    if choice == "bytes":
        return draw(st.binary(max_size=2000))
    if choice == "header":
        return _raw(draw(headers()))
    if choice == "json":
        return json.dumps(draw(json_values)).encode()
    pos = draw(st.integers(0, len(good) - 1))
    chunk = draw(st.binary(min_size=1, max_size=32))
    return good[:pos] + chunk + good[pos + draw(st.integers(0, 32)):]


@FUZZ
@given(st.data())
def test_fuzz_http_bodies_never_5xx(served, data):
    process, good = served
    path = data.draw(st.sampled_from(["/v1/push", "/v1/pull", "/v1/enroll/start", "/v1/enroll/finish"]))
    body = data.draw(bodies(good))
    ctype = data.draw(st.sampled_from(["application/octet-stream", "application/json", "text/plain"]))
    r = requests.post(process.url + path, data=body, headers={"Content-Type": ctype}, timeout=30)
    assert r.status_code < 500, (path, r.status_code, r.text[:300])


HUB_KINDS = st.sampled_from(["event", "catalog", "calendar", "ledger_list", "notice", "restore", "x"])


@FUZZ
@given(st.data())
def test_fuzz_signed_replies_through_the_station(enrolled, data):
    """The station reading a reply (over HTTP or an ack on a stick) signed by its hub, carrying anything."""
    from station.errors import StationError
    hub, s = enrolled
    hwm = client.inbound_hwm(s)
    seq_from = data.draw(st.sampled_from([hwm + 1, hwm, 1]) | hostile_ints.filter(lambda v: 0 <= v < 2**62))
    n = data.draw(st.integers(0, 3))
    seq_to = data.draw(st.sampled_from([seq_from + n - 1, seq_from + 10**8]) | st.integers(0, 2**62))
    payload = data.draw(payloads(seq_from, n))
    for item in payload["items"] if isinstance(payload.get("items"), list) else []:
        if isinstance(item, dict):
            item["kind"] = data.draw(HUB_KINDS)
    for key in ("quarantined", "anchor", "chain_alerts"):
        if data.draw(st.booleans()):
            payload[key] = data.draw(json_values | st.lists(st.dictionaries(st.sampled_from(["seq", "reason", "chain"]),
                                                                            json_values | hostile_ints, max_size=3), max_size=3))
    raw = seal(kind="reply", sender="JZ01", recipient="XX0101", seq_from=seq_from, seq_to=seq_to, counts={},
               created_at=audit.now_iso(), payload=payload, sign_key=hub.sign,
               recipient_enc=bundle.public_bytes(client.encryption_key(s)))
    try:
        client.apply_reply(s, raw)
    except (BundleRejected, StationError):
        pass
