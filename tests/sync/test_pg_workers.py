"""``township serve --workers N`` on PostgreSQL: concurrent pushes from several stations while workers
are killed with SIGKILL mid-apply, 20 rounds; nothing lost, nothing applied twice. And the SQLite
store refuses more than one worker."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import psutil

from sync import client
from sync.http import HttpTransport
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ROOT, HubProcess, intake, new_station
from tests.sync.test_faults import assert_exactly_once

WORKERS = 3


def _workers(hub: HubProcess) -> list[psutil.Process]:
    """The live workers (a killed one stays a zombie child until the parent reaps it)."""
    alive = []
    for p in psutil.Process(hub.proc.pid).children():
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def _busy_worker(hub: HubProcess, rng: random.Random, within: float = 1.0) -> psutil.Process:
    """A worker holding a station's connection (handling a push or pull) — so the kill cuts an
    apply instead of hitting an idle process; a random one if none is busy within ``within`` s."""
    port = hub.port
    deadline = time.monotonic() + within
    while True:
        workers = _workers(hub)
        busy = []
        for p in workers:
            try:
                conns = p.net_connections(kind="tcp")
            except psutil.Error:
                continue
            if any(c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port for c in conns):
                busy.append(p)
        if busy or time.monotonic() > deadline:
            return rng.choice(busy or workers)
        time.sleep(0.005)


def _wait_workers(hub: HubProcess, n: int, gone: int | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = [p.pid for p in _workers(hub)]
        if len(pids) == n and gone not in pids:
            return
        time.sleep(0.05)
    raise AssertionError(f"{n} workers expected, {pids} running (killed: {gone})")


def test_concurrent_pushes_with_workers_killed_mid_apply_20_rounds(pg_cluster, tmp_path):
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=pg_cluster.new_database())[0].store.close()
    hub = HubProcess(home.dir, args=("--workers", str(WORKERS)))
    hub.start()
    try:
        _wait_workers(hub, WORKERS)
        stations = [new_station(tmp_path, hub, f"XX010{i}") for i in range(1, 4)]
        rng = random.Random(16)
        failures, killed = 0, 0
        for round_no in range(20):
            for s in stations:
                intake(s, 60, start=round_no * 60)
            errors: list[str] = []

            def run(s):
                try:
                    client.sync_once(s, HttpTransport(hub.url))
                except client.SyncFailed as exc:
                    errors.append(exc.title)  # noqa: B023 - runs within this iteration
            threads = [threading.Thread(target=run, args=(s,)) for s in stations]
            for t in threads:
                t.start()
            # Soon after the pushes start: an apply takes milliseconds now (a bundle's facts are read at
            # once), and a kill after the last reply cuts nothing.
            time.sleep(rng.uniform(0.0, 0.02))
            victim = _busy_worker(hub, rng)
            os.kill(victim.pid, signal.SIGKILL)
            killed += 1
            for t in threads:
                t.join(timeout=120)
            failures += len(errors)
            _wait_workers(hub, WORKERS, gone=victim.pid)  # the parent replaced the killed worker
        assert killed == 20 and failures >= 5, f"only {failures} syncs were cut by the 20 kills"
        for s in stations:
            client.sync_once(s, HttpTransport(hub.url))
        for s in stations:
            assert_exactly_once(s, hub)
        with hub.open() as h:
            assert h.store.verify_audit()[1] == []
        for s in stations:
            s.close()
        parent = hub.proc.pid
        children = [p.pid for p in _workers(hub)]
        hub.kill()  # kill -9 of the parent: its workers go with it, nobody keeps serving
        deadline = time.monotonic() + 10
        while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in children) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in children), parent
    finally:
        hub.stop()


def test_sqlite_refuses_more_than_one_worker(tmp_path):
    HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", HUB_PASS)[0].store.close()
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "serve", "--workers", "2", "--port", "1",
                        "--data-dir", str(tmp_path / "hub")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "只能由一个服务进程写入" in r.stderr and "PostgreSQL" in r.stderr and "Traceback" not in r.stderr


def test_the_same_bundle_pushed_at_once_to_every_worker_is_applied_once(pg_cluster, tmp_path):
    """Eight copies of one station's bundle race into three workers: the station's lock lets one apply
    it; the others find it applied (one ``sync.apply`` in the audit trail, every number received once)."""
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=pg_cluster.new_database())[0].store.close()
    hub = HubProcess(home.dir, args=("--workers", str(WORKERS)))
    hub.start()
    try:
        _wait_workers(hub, WORKERS)
        s = new_station(tmp_path, hub, "XX0101")
        intake(s, 150)
        bundle, first, last = client.build_bundle(s, client.hub(s))
        barrier = threading.Barrier(8)
        replies, errors = [], []

        def push():
            barrier.wait()
            try:
                replies.append(HttpTransport(hub.url).push(bundle))
            except Exception as exc:  # noqa: BLE001 - collected and shown by the assertion below
                errors.append(repr(exc))
        threads = [threading.Thread(target=push) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == [] and len(replies) == 8
        with hub.open() as h:
            applies = h.store.s.query("SELECT detail FROM audit WHERE action = 'sync.apply' AND target = 'XX0101'")
            assert len(applies) == 1, applies
            seqs = [r["seq"] for r in h.store.s.query("SELECT seq FROM received WHERE station = 'XX0101' ORDER BY seq")]
            assert seqs == list(range(first, last + 1))
            assert h.store.station("XX0101")["hwm"] == last
        client.apply_reply(s, replies[0])
        client.sync_once(s, HttpTransport(hub.url))
        assert_exactly_once(s, hub)
        s.close()
    finally:
        hub.stop()


def test_different_stations_push_at_once_and_all_succeed(pg_cluster, tmp_path):
    """Six stations push at the same moment into three workers: they apply side by side (their
    locks differ), and every push succeeds: the hub's one audit chain takes them one after another."""
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=pg_cluster.new_database())[0].store.close()
    hub = HubProcess(home.dir, args=("--workers", str(WORKERS)))
    hub.start()
    try:
        _wait_workers(hub, WORKERS)
        stations = [new_station(tmp_path, hub, f"XX020{i}") for i in range(1, 7)]
        for s in stations:
            intake(s, 150)
        bundles = [client.build_bundle(s, client.hub(s))[0] for s in stations]
        barrier = threading.Barrier(len(stations))
        replies, errors = {}, []

        def push(i):
            barrier.wait()
            try:
                replies[i] = HttpTransport(hub.url).push(bundles[i])
            except Exception as exc:  # noqa: BLE001 - collected and shown by the assertion below
                errors.append(repr(exc))
        threads = [threading.Thread(target=push, args=(i,)) for i in range(len(stations))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == [] and len(replies) == len(stations)
        for i, s in enumerate(stations):
            client.apply_reply(s, replies[i])
            client.sync_once(s, HttpTransport(hub.url))
            assert_exactly_once(s, hub)
            s.close()
    finally:
        hub.stop()
