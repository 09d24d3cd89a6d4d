"""``township migrate --to postgresql://…``: a SQLite hub with two stations' cases moves into PostgreSQL;
every table arrives the same, the audit chain holds, and both stations sync on without enrolling again."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from station.services import cases
from sync import client
from sync.http import HttpTransport
from sync.hub.service import HubHome
from sync.hub.store import SQLiteHubStore
from tests.sync.conftest import HUB_PASS, ROOT, HubProcess, intake, new_station
from tests.sync.test_faults import assert_exactly_once


def _township(*args, data_dir):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--json", "--data-dir", str(data_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_migrate_two_stations_then_they_sync_on(pg_cluster, tmp_path):
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    hub = HubProcess(home.dir)
    hub.start()
    a, b = new_station(tmp_path, hub, "XX0101"), new_station(tmp_path, hub, "XX0102")
    numbers = intake(a, 30) + intake(b, 20, start=100)
    for s in (a, b):
        client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:  # township work flows back down through the outbox
        h.case_event(numbers[0], "note_added", {"text": "请补交户口簿复印件"})
        before = {**h.store.counts(), "audit": h.store.s.scalar("SELECT count(*) FROM audit"),
                  "outbox": h.store.s.scalar("SELECT count(*) FROM outbox")}
        stations = {r["code"]: (r["hwm"], bytes(h.store.station(r["code"])["sign_pub"])) for r in h.store.stations()}
    hub.stop()

    r = _township("migrate", "--to", (dsn := pg_cluster.new_database()), data_dir=home.dir)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["counts"]["events"] == before["events"] and report["counts"]["audit"] == before["audit"]
    assert home.dsn() == dsn and not home.db_path.exists() and (home.dir / report["kept"]).exists()
    again = _township("migrate", "--to", dsn, data_dir=home.dir)
    assert again.returncode != 0 and "已经使用 PostgreSQL" in again.stdout

    hub.start()  # the same data dir, now on PostgreSQL
    with hub.open() as h:
        assert type(h.store) is not SQLiteHubStore
        assert {**h.store.counts(), "audit": h.store.s.scalar("SELECT count(*) FROM audit"),
                "outbox": h.store.s.scalar("SELECT count(*) FROM outbox")} == before
        assert {r["code"]: (r["hwm"], bytes(h.store.station(r["code"])["sign_pub"])) for r in h.store.stations()} == stations
        assert h.store.verify_audit()[1] == []
    more = intake(a, 5, start=500) + intake(b, 5, start=600)
    for s in (a, b):  # no enrolment: the same keys and numbering carry on
        client.sync_once(s, HttpTransport(hub.url))
        assert_exactly_once(s, hub)
    notes = [e.payload.get("text") for e in cases.load(a, numbers[0])[1] if e.type.value == "note_added"]
    assert notes == ["请补交户口簿复印件"]  # the township's note, queued before the move, reached the station
    with hub.open() as h:
        assert all(h.store.case(n) is not None for n in more)
        assert h.store.counts()["events"] > before["events"]
        # new quarantine/held rows number on after the copied ones
        h.store.quarantine("XX0101", None, "test", "迁移后", None)
        assert h.store.s.scalar("SELECT count(*) FROM quarantine") == before["quarantine"] + 1
    for s in (a, b):
        s.close()
    hub.stop()


def test_migrate_refuses_a_database_that_already_holds_a_hub(pg_cluster, tmp_path):
    dsn = pg_cluster.new_database()
    HubHome(tmp_path / "county").init("QX01", "区县", "admin", HUB_PASS, db=dsn)[0].store.close()
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇", "admin", HUB_PASS)[0].store.close()
    r = _township("migrate", "--to", dsn, data_dir=home.dir)
    assert r.returncode != 0 and "不会覆盖" in r.stdout
    assert home.db_path.exists() and home.dsn() is None
