"""Every statement the hub runs to apply a station's bundle finds its rows by key.

A push is applied item by item, so a statement that scans — or searches an index that matches a
whole class of rows, such as every 'received' event — costs time in proportion to everything the hub
already holds, on every item. Found by profiling the sync benchmark: the owner of a new case was
looked up through the index on ``events(type)``, which SQLite's planner preferred over the index on
``case_id``, so each new case read every intake the hub had ever received (two thirds of a push's time
at 20,000 events, growing with the hub).
"""
from __future__ import annotations

import re

from station.services import cases
from station.services.session import StationHome
from sync import client, enrolment
from sync.hub.service import HubHome
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ST_PASS

# Tables that grow with every bundle: reading them must go through a key of the row or its case.
GROWING = ("events", "cases", "received", "received_more", "residents", "outbox", "quarantine")
KEYED = re.compile(r"\((id|case_id|number|station|seq|rowid|type=\? AND case_id)[=>]|COVERING INDEX events_stamp")


class _Push:
    def __init__(self, hub):
        self.hub = hub

    def push(self, data: bytes) -> bytes:
        return self.hub.receive(data)


def _unkeyed(conn, statements) -> list[str]:
    out = []
    for q in sorted({q for q in statements if q.lstrip().upper().startswith("SELECT")}):
        for row in conn.execute("EXPLAIN QUERY PLAN " + q).fetchall():
            detail = row[-1]
            m = re.match(r"(SCAN|SEARCH) (\w+)", detail)
            if m and m.group(2) in GROWING and (m.group(1) == "SCAN" or not KEYED.search(detail)):
                out.append(f"{detail}  ←  {q}")
    return out


def test_opening_the_hub_reads_no_whole_table(tmp_path):
    """Every township command and the server open the hub; its clock starts after the newest stamp,
    which was a scan of every event (seconds on a county's millions)."""
    from sync.hub.service import Hub
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "基准乡镇", "admin", HUB_PASS)
    seen: list[str] = []
    hub.store.s.conn.set_trace_callback(seen.append)
    Hub(hub.store)
    hub.store.s.conn.set_trace_callback(None)
    assert any("max(stamp)" in q for q in seen)
    assert not _unkeyed(hub.store.s.conn, seen), _unkeyed(hub.store.s.conn, seen)
    hub.store.close()


def test_applying_a_bundle_reads_nothing_by_a_whole_class_of_rows(tmp_path):
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "基准乡镇", "admin", HUB_PASS)
    s, _ = StationHome(tmp_path / "st").init("AA0001", "甲站", "zhanzhang", "站长", ST_PASS)
    code, _ = hub.add_station(s.station_code, s.station_name)
    enrolment.enroll_online(s, code, hub, "local")
    for k in range(3):
        number = cases.intake(s, {"resident": {"id_number": make_id(seq=k + 1), "name": f"村民{k}"}, "item": "SB-001",
                                  "materials_received": ["申请人居民身份证"]})["number"]
        cases.add_event(s, number, "note_added", {"text": "回访"})
    client.sync_once(s, _Push(hub))  # the hub now holds rows of every growing table
    for k in range(3, 6):
        cases.intake(s, {"resident": {"id_number": make_id(seq=k + 1), "name": f"村民{k}"}, "item": "SB-001",
                         "materials_received": ["申请人居民身份证"]})
    conn = hub.store.s.conn
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        client.sync_once(s, _Push(hub))
    finally:
        conn.set_trace_callback(None)
    assert any(q.lstrip().upper().startswith("SELECT") for q in seen), "the trace saw no reads"
    unkeyed = _unkeyed(conn, seen)
    assert not unkeyed, "\n".join(unkeyed)
    s.close()
    hub.store.close()
