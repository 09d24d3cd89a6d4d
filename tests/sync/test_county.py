"""Townships within a county's hub (both stores): stations belong to a township; cases and statistics
by township and for the county, through the CLI; a township's scope shows its own stations' cases only."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from sync import client
from sync.http import HttpTransport
from sync.hub import county
from tests.sync.conftest import HUB_PASS, ROOT, intake, new_station


def _township(hub, *args):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--json", "--data-dir", str(hub.dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_townships_scope_cases_and_statistics(hub, tmp_path):
    stations = {code: new_station(tmp_path, hub, code) for code in ("XX0101", "XX0102", "YY0201")}
    made = {"XX0101": intake(stations["XX0101"], 3), "XX0102": intake(stations["XX0102"], 2, start=10),
            "YY0201": intake(stations["YY0201"], 4, start=20)}
    for s in stations.values():
        client.sync_once(s, HttpTransport(hub.url))
    for code, name in (("JZ", "旧州镇"), ("HP", "黄平镇")):
        r = _township(hub, "county", "add-township", "--code", code, "--name", name)
        assert r.returncode == 0, r.stdout + r.stderr
    assert _township(hub, "county", "add-township", "--code", "JZ", "--name", "又一个").returncode != 0
    for station, township in (("XX0101", "JZ"), ("XX0102", "JZ"), ("YY0201", "HP")):
        assert _township(hub, "county", "assign", station, "--township", township).returncode == 0
    bad = _township(hub, "county", "assign", "XX0101", "--township", "NOPE")
    assert bad.returncode != 0 and "没有乡镇 NOPE" in bad.stdout

    listed = json.loads(_township(hub, "county", "cases", "--township", "JZ").stdout)
    assert sorted(r["number"] for r in listed) == sorted(made["XX0101"] + made["XX0102"])
    assert {r["township"] for r in listed} == {"JZ"}
    everyone = json.loads(_township(hub, "county", "cases").stdout)
    assert sorted(r["number"] for r in everyone) == sorted(n for ns in made.values() for n in ns)

    stats = json.loads(_township(hub, "county", "stats").stdout)
    assert stats["by_township"] == {"HP": {"received": 4}, "JZ": {"received": 5}}
    assert stats["total"] == {"received": 9} and stats["stations"] == {"HP": 1, "JZ": 2}
    only = json.loads(_township(hub, "county", "stats", "--township", "HP").stdout)
    assert only["by_township"] == {"HP": {"received": 4}} and only["total"] == {"received": 4}
    text = subprocess.run([sys.executable, "-m", "sync.hub.cli", "county", "stats", "--data-dir", str(hub.dir)], cwd=ROOT,
                          env={**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"},
                          capture_output=True, text=True, timeout=120).stdout
    assert "全县合计:已收件 9" in text

    with hub.open() as h:
        assert [t["stations"] for t in county.townships(h)] == [1, 2]  # HP, JZ
        assert county.station_township(h, "YY0201") == "HP"
        assert h.store.s.scalar("SELECT count(*) FROM audit WHERE action = 'station.township'") == 3
        assert h.store.verify_audit()[1] == []
    for s in stations.values():
        s.close()
