"""Sync benchmarks.

- throughput: a station holding 100,000 events (20,000 cases × 5) syncs to a hub over HTTP on
  loopback (``township serve`` in its own process). Baseline in the same run: the same payloads
  applied to a second hub's store directly (``Hub.apply``: no crypto, no HTTP, no station side).
- concurrency: 50 stations push at once for a bounded time; every event must arrive exactly
  once; the 99th percentile of push latency is reported.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from station.core.ids import new_id
from station.services import cases
from station.services.session import StationHome
from station.store import keys
from sync import client, enrolment, protocol
from sync.http import HttpTransport
from sync.hub.service import HubHome
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, HubProcess

PASS = "bench-pass-2026"


def _bulk_station(home: StationHome, n_cases: int, events_per_case: int = 5):
    """Rows exactly as the services write them, in one transaction (100,000 audited intakes take minutes)."""
    s, _ = home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    conn = s.store.conn
    conn.execute("BEGIN")
    seq = 0
    for i in range(n_cases):
        rid, cid = new_id(), new_id()
        idn = make_id(seq=i % 999 + 1, birth=f"19{40 + (i // 999) % 60}{1 + i // 59940 % 12:02d}01")
        seq += 1
        conn.execute("INSERT INTO outbox (seq, kind, ref_id, created_at) VALUES (?, 'resident', ?, 'x')", (seq, rid))
        conn.execute("INSERT INTO residents (id, id_number, name, sex, birth_date, phone, created_at, updated_at) "
                     "VALUES (?,?,?,?,?,?,?,?)", (rid, f"{idn}-{i}", f"村民{i}", "男", "1950-01-01", "13800000000", "x", "x"))
        number = f"BE0001-2026-{i + 1:06d}"
        for k in range(events_per_case):
            seq += 1
            eid = new_id()
            if k == 0:
                etype, payload = "received", {"number": number, "resident_id": rid, "item_code": "SB-001",
                                              "item_name": "城乡居民基本养老保险参保登记", "owner": "zhanzhang",
                                              "received_on": "2026-11-20", "due_on": "2026-11-24",
                                              "materials_required": ["申请人居民身份证"], "materials_received": ["申请人居民身份证"]}
            else:
                etype, payload = "note_added", {"text": f"第{k}次电话回访", "on": "2026-11-20"}
            conn.execute("INSERT INTO outbox (seq, kind, ref_id, created_at) VALUES (?, 'event', ?, 'x')", (seq, eid))
            conn.execute("INSERT INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (eid, cid, etype, f"{1795000000000 + seq:013d}.00000.BE0001", "BE0001", "zhanzhang",
                          json.dumps(payload, ensure_ascii=False), seq, "x"))
        conn.execute("INSERT INTO cases (id, number, resident_id, item_code, item_name, status, owner, received_on, due_on, "
                     "updated_stamp) VALUES (?,?,?,?,?,?,?,?,?,?)", (cid, number, rid, "SB-001", "城乡居民基本养老保险参保登记",
                                                                       "received", "zhanzhang", "2026-11-20", "2026-11-24", "0"))
    conn.execute("COMMIT")
    return s


def _enrol(s, hub, url: str | None = None):
    code, _ = hub.add_station(s.station_code, s.station_name)
    enrolment.enroll_online(s, code, HttpTransport(url) if url else hub, url or "local")


def payloads_of(s, items: int) -> list[tuple[int, int, dict]]:
    """The station's outbox as the payloads its bundles carry, built before any timing starts."""
    payloads, seq = [], 1
    while seq <= items:
        rows = s.store.query("SELECT seq, kind, ref_id FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?", (seq, protocol.MAX_ITEMS_PER_BUNDLE))
        data = client._items_data(s, rows)
        chunk = [{"seq": r["seq"], "kind": r["kind"], "data": data[(r["kind"], r["ref_id"])]} for r in rows]
        payloads.append((chunk[0]["seq"], chunk[-1]["seq"], {"items": chunk, "ack": 0}))
        seq = chunk[-1]["seq"] + 1
    return payloads


def apply_directly(hub, station: str, payloads) -> float:
    """Seconds to apply the payloads to a hub store with no bundle layer and no transport (the floor)."""
    t = time.perf_counter()
    for first, last, payload in payloads:
        hub.apply(station, first, last, payload)
    return time.perf_counter() - t


def bench_throughput(workdir: Path, n_cases: int = 20_000) -> dict:
    s = _bulk_station(StationHome(workdir / "station"), n_cases)
    total_events = s.store.scalar("SELECT count(*) FROM events")
    items = s.store.scalar("SELECT count(*) FROM outbox")
    # Baseline: the same payloads straight into a hub store.
    direct_hub, _ = HubHome(workdir / "direct").init("JZ01", "基准乡镇", "admin", HUB_PASS)
    _enrol(s, direct_hub)
    direct_s = apply_directly(direct_hub, s.station_code, payloads_of(s, items))
    direct_hub.store.close()
    # The wire: the whole station side, bundles, HTTP on loopback, the hub in its own process.
    s.store.conn.execute("DELETE FROM peers")
    HubHome(workdir / "hub").init("JZ02", "基准乡镇", "admin", HUB_PASS)[0].store.close()
    hub = HubProcess(workdir / "hub")
    hub.start()
    try:
        with HubHome(workdir / "hub").unlock("admin", HUB_PASS) as h:
            code, _ = h.add_station("BE0001", "基准站")
        enrolment.enroll_online(s, code, HttpTransport(hub.url), hub.url)
        t = time.perf_counter()
        client.sync_once(s, HttpTransport(hub.url))
        wire_s = time.perf_counter() - t
        assert client.pending(s) == 0
        with HubHome(workdir / "hub").unlock("admin", HUB_PASS) as h:
            arrived = h.store.s.scalar("SELECT count(*) FROM events")
    finally:
        hub.stop()
        s.close()
    assert arrived == total_events
    return {"events": total_events, "items": items, "wire_s": wire_s, "direct_s": direct_s,
            "wire_events_per_s": total_events / wire_s, "direct_events_per_s": total_events / direct_s,
            "ratio": direct_s / wire_s}


def bench_concurrency(workdir: Path, stations: int = 50, seconds: float = 20.0) -> dict:
    saved = keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P
    keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = 2**10, 8, 1  # 50 station set-ups; unlock cost is not what is measured
    try:
        HubHome(workdir / "hub50").init("JZ03", "基准乡镇", "admin", HUB_PASS)[0].store.close()
        hub = HubProcess(workdir / "hub50")
        hub.start()
        sessions = []
        for i in range(stations):
            s, _ = StationHome(workdir / f"s{i}").init(f"ST{i:04d}", f"站{i}", "zhanzhang", "基准", PASS)
            with HubHome(workdir / "hub50").unlock("admin", HUB_PASS) as h:
                code, _ = h.add_station(s.station_code, s.station_name)
            enrolment.enroll_online(s, code, HttpTransport(hub.url), hub.url)
            for k in range(3):
                cases.intake(s, {"resident": {"id_number": make_id(seq=k + 1), "name": f"村民{k}"}, "item": "SB-001",
                                 "materials_received": ["申请人居民身份证"]})
            sessions.append(s)
    finally:
        keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = saved
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    errors: list[str] = []

    class Timed(HttpTransport):
        def push(self, data: bytes) -> bytes:
            t = time.perf_counter()
            try:
                return super().push(data)
            finally:
                with lock:
                    latencies.append(time.perf_counter() - t)

    def station_loop(s):
        number = cases.list_cases(s, limit=1)[0]["number"]
        transport = Timed(hub.url)
        while time.monotonic() < deadline:
            for _ in range(5):
                cases.add_event(s, number, "note_added", {"text": "回访"})
            try:
                client.sync_once(s, transport)
            except client.SyncFailed as exc:
                errors.append(exc.title)
    threads = [threading.Thread(target=station_loop, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in sessions:  # whatever a failed round left behind
        client.sync_once(s, HttpTransport(hub.url))
    lost = dupes = 0
    with HubHome(workdir / "hub50").unlock("admin", HUB_PASS) as h:
        for s in sessions:
            mine = {r["id"] for r in s.store.query("SELECT id FROM events WHERE outbox_seq IS NOT NULL")}
            theirs = [r["id"] for r in h.store.s.query("SELECT id FROM events WHERE station = ?", (s.station_code,))]
            lost += len(mine - set(theirs))
            dupes += len(theirs) - len(set(theirs))
        total = h.store.s.scalar("SELECT count(*) FROM events")
    hub.stop()
    for s in sessions:
        s.close()
    lat = sorted(latencies)
    return {"stations": stations, "seconds": seconds, "pushes": len(lat), "events": total, "lost": lost, "duplicates": dupes,
            "errors": len(errors), "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))]}


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="station-sync-bench-") as tmp:
        return {"throughput": bench_throughput(Path(tmp)), "concurrency": bench_concurrency(Path(tmp))}
