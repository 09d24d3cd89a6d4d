"""County hub benchmark: N simulated stations on 127.0.0.1 pushing for a bounded time against the hub
on PostgreSQL with 4 workers and against the SQLite hub (1 worker), in the same run.

Each station is a real station (its own encrypted store, enrolled online); in a loop it records 5
events on a case and syncs (push + pull). The stations are driven from several client processes
(so the client side is not one GIL). Reported per hub: events/s arriving at the hub, p50/p99 push
latency, failed rounds, and after a final sync of every station: events lost (at the station,
not at the hub) and duplicated at the hub — both must be 0.

    .venv/bin/python -m tests.bench --only county [--stations 50] [--seconds 20]
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from station.services import cases
from station.services.session import StationHome
from station.store import keys
from sync import client, enrolment
from sync.http import HttpTransport
from sync.hub.service import HubHome
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ROOT, HubProcess

PASS = "bench-pass-2026"
CLIENT_PROCS = 4


def _setup(workdir: Path, name: str, stations: int, dsn: str | None, workers: int):
    home = HubHome(workdir / f"hub-{name}")
    home.init("JZ09", "基准区县", "admin", HUB_PASS, db=dsn)[0].store.close()
    hub = HubProcess(home.dir, args=("--workers", str(workers)) if workers > 1 else ())
    hub.start()
    dirs = []
    with home.unlock("admin", HUB_PASS) as h:
        codes = [h.add_station(f"S{name[0].upper()}{i:04d}", f"站{i}")[0] for i in range(stations)]
    for i in range(stations):
        s, _ = StationHome(workdir / f"{name}-s{i}").init(f"S{name[0].upper()}{i:04d}", f"站{i}", "zhanzhang", "基准", PASS)
        enrolment.enroll_online(s, codes[i], HttpTransport(hub.url), hub.url)
        cases.intake(s, {"resident": {"id_number": make_id(seq=i % 999 + 1), "name": f"村民{i}"}, "item": "SB-001",
                         "materials_received": ["申请人居民身份证"]})
        client.sync_once(s, HttpTransport(hub.url))
        s.close()
        dirs.append(str(workdir / f"{name}-s{i}"))
    return home, hub, dirs


def _hub_events(home: HubHome) -> int:
    with home.unlock("admin", HUB_PASS) as h:
        return h.store.s.scalar("SELECT count(*) FROM events")


def _drive(hub: HubProcess, dirs: list[str], seconds: float) -> dict:
    chunks = [dirs[i::CLIENT_PROCS] for i in range(CLIENT_PROCS)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.bench.county", "client", hub.url, *chunk],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for chunk in chunks if chunk]
    for p in procs:  # every station unlocked before the clock starts
        assert p.stdout.readline().strip() == "ready"
    deadline = time.time() + seconds
    latencies, errors = [], 0
    for p in procs:
        p.stdin.write(f"{deadline}\n")
        p.stdin.flush()
    for p in procs:
        out, _ = p.communicate()
        r = json.loads(out.strip().splitlines()[-1])
        latencies += r["latencies"]
        errors += r["errors"]
    return {"latencies": latencies, "errors": errors}


def _check(home: HubHome, hub: HubProcess, dirs: list[str]) -> tuple[int, int]:
    lost = dupes = 0
    sessions = [StationHome(d).unlock("zhanzhang", PASS) for d in dirs]
    for s in sessions:  # whatever a failed round left behind
        client.sync_once(s, HttpTransport(hub.url))
    with home.unlock("admin", HUB_PASS) as h:
        for s in sessions:
            mine = {r["id"] for r in s.store.query("SELECT id FROM events WHERE outbox_seq IS NOT NULL")}
            theirs = [r["id"] for r in h.store.s.query("SELECT id FROM events WHERE station = ? AND node = ?",
                                                       (s.station_code, s.station_code))]
            lost += len(mine - set(theirs))
            dupes += len(theirs) - len(set(theirs))
    for s in sessions:
        s.close()
    return lost, dupes


def bench(workdir: Path, stations: int, seconds: float) -> dict:
    from tests.pg import Cluster, pg_bin
    saved = keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P
    keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = 2**10, 8, 1  # station and hub set-ups; unlock cost is not what is measured
    cluster = Cluster(pg_bin())
    cluster.start()
    out = {"stations": stations, "seconds": seconds}
    try:
        setups = {"sqlite": _setup(workdir, "sqlite", stations, None, 1),
                  "postgresql": _setup(workdir, "postgresql", stations, cluster.new_database(), 4)}
        for name, (home, hub, dirs) in setups.items():
            before = _hub_events(home)
            t0 = time.perf_counter()
            run = _drive(hub, dirs, seconds)
            elapsed = time.perf_counter() - t0
            arrived = _hub_events(home) - before
            lost, dupes = _check(home, hub, dirs)
            hub.stop()
            lat = sorted(run["latencies"]) or [0.0]
            out[name] = {"workers": 4 if name == "postgresql" else 1, "events": arrived, "events_per_s": arrived / elapsed,
                         "pushes": len(run["latencies"]), "errors": run["errors"], "lost": lost, "duplicated": dupes,
                         "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))]}
    finally:
        keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = saved
        cluster.stop()
    out["ratio"] = out["postgresql"]["events_per_s"] / max(out["sqlite"]["events_per_s"], 1e-9)
    return out


def run(stations: int = 50, seconds: float = 20.0) -> dict:
    with tempfile.TemporaryDirectory(prefix="county-bench-") as tmp:
        return bench(Path(tmp), stations, seconds)


def line(r: dict) -> str:
    def one(name):
        x = r[name]
        return (f"{name} ({x['workers']} worker{'s' if x['workers'] > 1 else ''}): {x['events_per_s']:,.0f} events/s, "
                f"{x['pushes']} pushes, p50 {x['p50_ms']:.0f} ms, p99 {x['p99_ms']:.0f} ms, failed rounds {x['errors']}, "
                f"lost {x['lost']}, duplicated {x['duplicated']}")
    return (f"county hub, {r['stations']} stations pushing for {r['seconds']:.0f} s each: " + one("postgresql") + "; " + one("sqlite")
            + f" → PostgreSQL/SQLite {r['ratio']:.2f}x (target ≥ 2x)")


def _client(url: str, dirs: list[str]) -> None:
    """One client process: its stations take turns, each recording 5 events and syncing, until the deadline."""
    import threading

    latencies, errors = [], []
    lock = threading.Lock()

    class Timed(HttpTransport):
        def push(self, data: bytes) -> bytes:
            t = time.perf_counter()
            try:
                return super().push(data)
            finally:
                with lock:
                    latencies.append(time.perf_counter() - t)

    sessions = [StationHome(d).unlock("zhanzhang", PASS) for d in dirs]
    print("ready", flush=True)
    deadline = float(sys.stdin.readline())

    def loop(s):
        number = cases.list_cases(s, limit=1)[0]["number"]
        transport = Timed(url)
        while time.time() < deadline:
            for _ in range(5):
                cases.add_event(s, number, "note_added", {"text": "回访"})
            try:
                client.sync_once(s, transport)
            except client.SyncFailed as exc:
                errors.append(exc.title)
        s.close()
    threads = [threading.Thread(target=loop, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"latencies": latencies, "errors": len(errors)}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        _client(sys.argv[2], sys.argv[3:])
    else:
        n = int(os.environ.get("COUNTY_STATIONS", "50"))
        print(line(run(n, float(os.environ.get("COUNTY_SECONDS", "20")))))
