"""A real hub on 127.0.0.1 (``township serve`` in its own process) and real stations."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from station.services import cases
from station.services.session import StationHome
from sync import enrolment
from sync.http import HttpTransport
from sync.hub.service import HubHome
from tests.conftest import make_id

ROOT = Path(__file__).resolve().parents[2]
HUB_PASS = "hub-pass-2026"
ST_PASS = "station-pass-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """``township serve`` on a free port; ``kill()`` is kill -9, ``start()`` brings it back."""

    def __init__(self, data_dir: Path, tls: tuple[Path, Path] | None = None, args: tuple[str, ...] = ()):
        self.dir = data_dir
        self.args = args  # more ``township serve`` options (limits)
        self.port = free_port()
        self.tls = tls  # (certificate, key): serve https
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
        tls = ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])] if self.tls else []
        self.proc = subprocess.Popen([sys.executable, "-m", "sync.hub.cli", "serve", "--port", str(self.port),
                                      "--data-dir", str(self.dir), *tls, *self.args], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v1/health", timeout=0.5, verify=str(self.tls[0]) if self.tls else True).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("hub did not start: " + (self.proc.stderr.read().decode() if self.proc.poll() is not None else ""))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def open(self):
        """The hub's store, opened beside the running server (as the township CLI does)."""
        return HubHome(self.dir).unlock("admin", HUB_PASS)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_db(request):
    """The hub's store, both kinds: None (the SQLCipher file) or a fresh PostgreSQL database's address."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_cluster").new_database()


def integrity_ok(store) -> bool:
    """SQLite's own page check; on PostgreSQL every sealed value opens (a tampered one raises)."""
    from sync.hub.store import SQLiteHubStore
    if type(store) is SQLiteHubStore:
        return store.s.scalar("PRAGMA integrity_check") == "ok"
    from sync.hub.pgstore import SEALED
    for table, cols in SEALED.items():
        store.s.query(f"SELECT {', '.join(sorted(cols))} FROM {table}")
    return True


@pytest.fixture
def hub(tmp_path, hub_db):
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)[0].store.close()
    process = HubProcess(home.dir)
    process.start()
    yield process
    process.stop()


def new_station(tmp_path: Path, hub: HubProcess, code: str):
    """A station enrolled over HTTP with a one-time code; returns the open session."""
    s, _ = StationHome(tmp_path / code).init(code, f"{code}村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    with hub.open() as h:
        one_time, _ = h.add_station(code, f"{code}村")
    enroll(s, hub, one_time)
    return s


def enroll(session, hub: HubProcess, one_time: str) -> None:
    """The station side of HTTP enrolment with a one-time code the township issued."""
    enrolment.enroll_online(session, one_time, HttpTransport(hub.url), hub.url)


def intake(session, n: int, start: int = 0) -> list[str]:
    out = []
    for i in range(start, start + n):
        r = cases.intake(session, {"resident": {"id_number": make_id(seq=i % 999 + 1, birth=f"19{40 + i // 999 % 60}0101"),
                                                "name": f"村民{i}"},
                                   "item": "SB-001", "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]})
        out.append(r["number"])
    return out
