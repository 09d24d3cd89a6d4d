"""Fault tests: kill -9 the station mid-push and the hub mid-apply, and cut connections at random.
Afterwards every event is at the hub exactly once and both stores are intact."""
from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from station.services import audit
from sync import client, protocol
from sync.http import HttpTransport
from tests.sync.conftest import ROOT, ST_PASS, intake, integrity_ok, new_station


def assert_exactly_once(s, hub) -> None:
    mine = {r["id"] for r in s.store.query("SELECT id FROM events WHERE outbox_seq IS NOT NULL")}
    last_seq = s.store.scalar("SELECT max(seq) FROM outbox")
    with hub.open() as h:
        db = h.store.s
        theirs = [r["id"] for r in db.query("SELECT id FROM events WHERE station = ? AND node = ?",  # its own, not the township's
                                             (s.station_code, s.station_code))]
        assert len(theirs) == len(set(theirs)) and set(theirs) == mine
        received = [r["seq"] for r in db.query("SELECT seq FROM received WHERE station = ? ORDER BY seq", (s.station_code,))]
        assert received == list(range(1, last_seq + 1))  # every outbox record once, none missing
        assert h.store.station(s.station_code)["hwm"] == last_seq
        assert integrity_ok(h.store) and audit.verify(db.db)[1] == []
        assert db.scalar("SELECT count(*) FROM residents WHERE station = ?", (s.station_code,)) == s.store.scalar("SELECT count(*) FROM residents")
        assert db.scalar("SELECT count(*) FROM quarantine") == 0
    assert client.pending(s) == 0


def test_kill_9_station_mid_push_20_rounds(hub, tmp_path, monkeypatch):
    s = new_station(tmp_path, hub, "XX0101")
    rng = random.Random(11)
    killed_mid = 0
    for round_no in range(20):
        intake(s, 250, start=round_no * 250)
        proc = subprocess.Popen([sys.executable, "-m", "tests.sync.sync_worker", str(tmp_path / "XX0101"), ST_PASS, hub.url],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        killed_mid += "done" not in out
    assert killed_mid >= 10, "most rounds should be killed before the sync finished"
    client.sync_once(s, HttpTransport(hub.url))
    assert_exactly_once(s, hub)
    s.close()


def test_kill_9_hub_mid_apply_20_rounds(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    rng = random.Random(12)
    failures = 0
    for round_no in range(20):
        intake(s, 120, start=round_no * 120)
        errors = []

        def run():
            try:
                client.sync_once(s, HttpTransport(hub.url))
            except client.SyncFailed as exc:
                errors.append(exc.title)  # noqa: B023 - runs within this iteration
        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(rng.uniform(0.0, 0.15))
        hub.kill()
        worker.join(timeout=60)
        failures += bool(errors)
        hub.start()
    assert failures >= 5, "the hub should have died in the middle of some syncs"
    client.sync_once(s, HttpTransport(hub.url))
    assert_exactly_once(s, hub)
    s.close()


class CuttingProxy:
    """TCP proxy on 127.0.0.1 that cuts about a third of connections after a random number of bytes."""

    def __init__(self, target_port: int, seed: int = 5):
        self.target = target_port
        self.rng = random.Random(seed)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.cut = 0
        self.total = 0
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.server.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.total += 1
            budget = self.rng.randrange(0, 40_000) if self.rng.random() < 1 / 3 else None
            self.cut += budget is not None
            upstream = socket.create_connection(("127.0.0.1", self.target))
            state = {"budget": budget, "lock": threading.Lock()}
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b, conn, upstream, state), daemon=True).start()

    def _pipe(self, src, dst, conn, upstream, state):
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                with state["lock"]:
                    if state["budget"] is not None:
                        if len(data) >= state["budget"]:
                            dst.sendall(data[: state["budget"]])
                            raise ConnectionError("cut")
                        state["budget"] -= len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (conn, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self):
        self.stop = True
        self.server.close()


def test_sync_converges_exactly_once_through_a_proxy_that_cuts_a_third(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(protocol, "MAX_ITEMS_PER_BUNDLE", 60)  # many small exchanges, many chances to cut
    s = new_station(tmp_path, hub, "XX0101")
    intake(s, 800)
    proxy = CuttingProxy(hub.port)
    http = requests.Session()
    http.headers["Connection"] = "close"  # every exchange a new connection, so a third of exchanges are cut
    attempts = 0
    try:
        while attempts < 200:
            attempts += 1
            try:
                client.sync_once(s, HttpTransport(f"http://127.0.0.1:{proxy.port}", session=http))
                if client.pending(s) == 0:
                    break
            except client.SyncFailed:
                continue
    finally:
        proxy.close()
    assert proxy.cut >= 3 and attempts > 1, (proxy.cut, proxy.total)
    assert_exactly_once(s, hub)
    s.close()
