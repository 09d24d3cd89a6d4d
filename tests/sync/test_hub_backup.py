"""``township backup`` / ``township restore`` on both stores: a hub with a synced station is backed up
while it runs, restored into a fresh data dir (and, for PostgreSQL, a fresh database), compared table by
table, and the station syncs on with the restored hub. A damaged backup is refused before any secret."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from station.services import attachments
from sync import client
from sync.http import HttpTransport
from sync.hub import backup
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ROOT, HubProcess, intake, new_station
from tests.sync.test_faults import assert_exactly_once


def _township(*args, data_dir):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--json", "--data-dir", str(data_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _tables(home: HubHome) -> dict:
    with home.unlock("admin", HUB_PASS) as h:
        key = home.unlock_key("admin", HUB_PASS)
        if home.dsn():
            return backup.contents(h.store.s.conn, pg=True, key=key)
        return backup.contents(h.store.s.conn, pg=False, key=key)


def test_backup_while_serving_restore_fresh_compare_and_sync_on(hub, hub_db, tmp_path, request):
    s = new_station(tmp_path, hub, "XX0101")
    numbers = intake(s, 25)
    scan = tmp_path / "户口簿.jpg"
    scan.write_bytes(b"\xff\xd8\xff" + os.urandom(20_000))
    attachments.attach(s, numbers[0], scan)
    client.sync_once(s, HttpTransport(hub.url))
    r = _township("backup", str(tmp_path / "bk"), data_dir=hub.dir)  # the hub keeps serving
    assert r.returncode == 0, r.stdout + r.stderr
    made = json.loads(r.stdout)
    assert made["store"] == ("postgresql" if hub_db else "sqlite") and made["tables"]["events"][0] > 25
    original = _tables(HubHome(hub.dir))
    hub.stop()

    target = tmp_path / "restored"
    args = ["restore", str(tmp_path / "bk")] + (["--db", request.getfixturevalue("pg_cluster").new_database()] if hub_db else [])
    r = _township(*args, data_dir=target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _tables(HubHome(target)) == original  # every table, every row, the same
    again = _township(*args, data_dir=target)
    assert again.returncode != 0 and "不会覆盖" in again.stdout

    restored = HubProcess(target)
    restored.start()
    try:
        intake(s, 5, start=100)
        client.sync_once(s, HttpTransport(restored.url))
        assert_exactly_once(s, restored)
    finally:
        restored.stop()
        s.close()


def test_a_damaged_backup_is_refused_before_any_secret(hub, tmp_path):
    assert _township("backup", str(tmp_path / "bk"), data_dir=hub.dir).returncode == 0
    manifest = json.loads((tmp_path / "bk" / backup.MANIFEST).read_text())
    data_file = next(n for n in manifest["files"] if n != backup.KEYS)
    raw = bytearray((tmp_path / "bk" / data_file).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "bk" / data_file).write_bytes(bytes(raw))
    env = {**os.environ, "TOWNSHIP_USER": "admin"}
    env.pop("TOWNSHIP_PASSPHRASE", None)
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "restore", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "r")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "已损坏" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r" / "keys.json").exists()
    assert _township("backup", str(tmp_path / "bk"), data_dir=hub.dir).returncode != 0  # never over an old backup
