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
PREBUILT_ROUNDS = 30  # bundles of 5 events per station sealed ahead for the hub-bound figure


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
    return {"latencies": latencies, "errors": errors, "elapsed": time.time() - (deadline - seconds)}


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


BUNDLE_EVENTS = 5


def _prebuild(dirs: list[str], rounds: int) -> dict[str, tuple[int, int]]:
    """Each station records ``rounds`` × 5 events and seals them into bundles of 5 (files beside its
    store) as its next sync would: the hub-bound figure then costs the client only the HTTP post."""
    ranges = {}
    for d in dirs:
        s = StationHome(d).unlock("zhanzhang", PASS)
        number = cases.list_cases(s, limit=1)[0]["number"]
        for _ in range(rounds * BUNDLE_EVENTS):
            cases.add_event(s, number, "note_added", {"text": "回访"})
        peer = client.hub(s)
        first = s.store.scalar("SELECT min(seq) FROM outbox WHERE acked = 0")
        out = Path(d) / "bundles"
        out.mkdir(exist_ok=True)
        f, k = first, 0
        last = s.store.scalar("SELECT max(seq) FROM outbox")
        while f <= last:
            data, _, seq_to = client.build_bundle(s, peer, first=f, max_items=BUNDLE_EVENTS)
            (out / f"{k:05d}-{f}-{seq_to}.vsb").write_bytes(data)
            f, k = seq_to + 1, k + 1
        ranges[d] = (first, last)
        s.close()
    return ranges


def _drive_prebuilt(hub: HubProcess, dirs: list[str], seconds: float) -> dict:
    chunks = [dirs[i::CLIENT_PROCS] for i in range(CLIENT_PROCS)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.bench.county", "post", hub.url, *chunk],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for chunk in chunks if chunk]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    deadline = time.time() + seconds
    for p in procs:
        p.stdin.write(f"{deadline}\n")
        p.stdin.flush()
    latencies, errors, pushed = [], 0, {}
    for p in procs:
        r = json.loads(p.communicate()[0].strip().splitlines()[-1])
        latencies += r["latencies"]
        errors += r["errors"]
        pushed.update(r["pushed"])
    # from the start signal to the last client's end (all stations may run out of bundles before the deadline)
    return {"latencies": latencies, "errors": errors, "pushed": pushed, "elapsed": time.time() - (deadline - seconds)}


def _check_prebuilt(home: HubHome, pushed: dict[str, int], ranges: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
    """Events the hub acknowledged (200) but does not hold, and events it holds twice; and how many were pushed."""
    lost = dupes = total = 0
    with home.unlock("admin", HUB_PASS) as h:
        for d, last in pushed.items():
            s = StationHome(d).unlock("zhanzhang", PASS)
            first = ranges[d][0]
            mine = {r["id"] for r in s.store.query("SELECT id FROM events WHERE outbox_seq BETWEEN ? AND ?", (first, last))}
            theirs = [r["id"] for r in h.store.s.query("SELECT id FROM events WHERE station = ? AND node = ?",
                                                       (s.station_code, s.station_code))]
            received = [r["seq"] for r in h.store.s.query("SELECT seq FROM received WHERE station = ? ORDER BY seq", (s.station_code,))]
            lost += len(mine - set(theirs)) + (0 if received[:last] == list(range(1, last + 1)) else 1)
            dupes += len(theirs) - len(set(theirs))
            total += len(mine)
            s.close()
    return lost, dupes, total


def _post(url: str, dirs: list[str]) -> None:
    """One client process posting its stations' sealed bundles in order, a thread per station."""
    import threading

    import requests
    bundles = {d: sorted((Path(d) / "bundles").glob("*.vsb")) for d in dirs}
    print("ready", flush=True)
    deadline = float(sys.stdin.readline())
    latencies, errors, pushed = [], [], {}
    lock = threading.Lock()

    def loop(d):
        session = requests.Session()
        for path in bundles[d]:
            if time.time() >= deadline:
                break
            data = path.read_bytes()
            t = time.perf_counter()
            try:
                ok = session.post(url + "/v1/push", data=data, headers={"Content-Type": "application/octet-stream"}, timeout=60).ok
            except requests.RequestException:
                ok = False
            with lock:
                latencies.append(time.perf_counter() - t)
            if not ok:
                errors.append(path.name)
                break  # the next bundle would only be held behind the gap
            pushed[d] = int(path.stem.split("-")[2])
    threads = [threading.Thread(target=loop, args=(d,)) for d in dirs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"latencies": latencies, "errors": len(errors), "pushed": pushed}))


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
            run = _drive(hub, dirs, seconds)
            elapsed = run["elapsed"]
            arrived = _hub_events(home) - before
            lost, dupes = _check(home, hub, dirs)
            lat = sorted(run["latencies"]) or [0.0]
            out[name] = {"workers": 4 if name == "postgresql" else 1, "events": arrived, "events_per_s": arrived / elapsed,
                         "pushes": len(run["latencies"]), "errors": run["errors"], "lost": lost, "duplicated": dupes,
                         "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))]}
            # hub-bound: the same stations' next bundles sealed beforehand, posted as fast as the hub answers
            ranges = _prebuild(dirs, rounds=PREBUILT_ROUNDS)
            run = _drive_prebuilt(hub, dirs, seconds)
            elapsed = run["elapsed"]
            lost, dupes, total = _check_prebuilt(home, run["pushed"], ranges)
            hub.stop()
            lat = sorted(run["latencies"]) or [0.0]
            out[name]["prebuilt"] = {"events": total, "events_per_s": total / elapsed, "pushes": len(run["latencies"]),
                                     "errors": run["errors"], "lost": lost, "duplicated": dupes,
                                     "exhausted": sum(1 for d in dirs if run["pushed"].get(d) == ranges[d][1]),
                                     "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))]}
    finally:
        keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = saved
        cluster.stop()
    out["ratio"] = out["postgresql"]["events_per_s"] / max(out["sqlite"]["events_per_s"], 1e-9)
    out["prebuilt_ratio"] = out["postgresql"]["prebuilt"]["events_per_s"] / max(out["sqlite"]["prebuilt"]["events_per_s"], 1e-9)
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
    def pre(name):
        x = r[name]["prebuilt"]
        return (f"{name}: {x['events_per_s']:,.0f} events/s, {x['pushes']} pushes, p50 {x['p50_ms']:.0f} ms, p99 {x['p99_ms']:.0f} ms, "
                f"failed {x['errors']}, lost {x['lost']}, duplicated {x['duplicated']}, stations that ran out of bundles {x['exhausted']}")
    return (f"county hub, {r['stations']} stations pushing for {r['seconds']:.0f} s each (station loop: record 5 events, sync): "
            + one("postgresql") + "; " + one("sqlite") + f" → PostgreSQL/SQLite {r['ratio']:.2f}x (target ≥ 2x)\n"
            f"county hub, hub-bound (bundles of 5 events sealed beforehand, posted back to back): " + pre("postgresql") + "; "
            + pre("sqlite") + f" → PostgreSQL/SQLite {r['prebuilt_ratio']:.2f}x")


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
    if sys.argv[1:2] == ["post"]:
        _post(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["client"]:
        _client(sys.argv[2], sys.argv[3:])
    else:
        n = int(os.environ.get("COUNTY_STATIONS", "50"))
        print(line(run(n, float(os.environ.get("COUNTY_SECONDS", "20")))))
