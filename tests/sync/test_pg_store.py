"""The hub's store on PostgreSQL: what reaches PostgreSQL's files and dumps, the SQL dialect layer,
the data key that belongs to the keyring, and ``township init --db``."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from station.services import attachments, cases
from sync import client
from sync.http import HttpTransport
from sync.hub import dialect, staff
from sync.hub.service import HubHome
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ROOT, HubProcess, new_station


def _psql(cluster, dsn: str, sql: str) -> str:
    return cluster.tool("psql", "-X", "-A", "-t", "-d", dsn, "-c", sql).stdout.decode()


def test_no_identity_number_phone_or_name_in_the_data_dir_or_a_dump(pg_cluster, tmp_path):
    """Real bundles from a real station over HTTP; then every file of the cluster (tables, WAL) and a
    plain pg_dump are searched for what the station sent: none of it in the clear, while the ids,
    numbers and station codes the hub queries on are found (so the search does see the data)."""
    dsn = pg_cluster.new_database()
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=dsn)[0].store.close()
    hub = HubProcess(home.dir)
    hub.start()
    try:
        s = new_station(tmp_path, hub, "XX0101")
        people = [(make_id(seq=i + 1, birth=f"19{50 + i}0203"), name, f"1391234{5670 + i}")
                  for i, name in enumerate(["罗世芬", "杨天祥", "王秀英", "龙启明"])]
        numbers = [cases.intake(s, {"resident": {"id_number": idn, "name": name, "phone": phone}, "item": "SB-001",
                                    "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]})["number"]
                   for idn, name, phone in people]
        scan = tmp_path / "罗世芬户口簿.jpg"
        scan.write_bytes(b"\xff\xd8\xff" + b"SCANNED-PAGE-OF-LUO-SHIFEN " * 40)
        attachments.attach(s, numbers[0], scan)
        client.sync_once(s, HttpTransport(hub.url))
        with hub.open() as h:  # the hub has it all, readable through the store
            assert h.store.counts()["residents"] == 4 and h.store.counts()["attachments"] == 1
            assert {json.loads(r["data"])["id_number"] for r in h.store.s.query("SELECT data FROM residents")} == {p[0] for p in people}
            assert h.store.case(numbers[0])["station"] == "XX0101"
            staff.add(h, "yangxz", "杨秀珍", "经办人", "jingban-pass-77")  # a staff member's real name is personal too
            assert h.store.staff_member("yangxz")["display_name"] == "杨秀珍"
        s.close()
    finally:
        hub.stop()
    _psql(pg_cluster, dsn, "CHECKPOINT")  # table pages on disk, not only in the WAL and shared buffers
    dump = pg_cluster.tool("pg_dump", "--no-owner", "-d", dsn).stdout
    secrets = [p[0].encode() for p in people] + [p[2].encode() for p in people] + \
              [p[1].encode("utf-8") for p in people] + ["罗世芬户口簿".encode("utf-8"), b"SCANNED-PAGE-OF-LUO-SHIFEN", "杨秀珍".encode("utf-8")]
    clear = [n.encode() for n in numbers] + [b"XX0101", b"yangxz"]
    assert all(c in dump for c in clear), "the dump holds the cases' numbers and station codes in the clear"
    assert [x.decode("utf-8") for x in secrets if x in dump] == []
    found, seen = set(), set()
    for path in pg_cluster.data_files():
        data = path.read_bytes()
        found |= {x for x in secrets if x in data}
        seen |= {c for c in clear if c in data}
    assert seen == set(clear), "the data directory holds the queryable columns in the clear"
    assert [x.decode("utf-8") for x in found] == []


def test_a_keyring_that_does_not_belong_to_the_database_is_refused(pg_cluster, tmp_path):
    dsn = pg_cluster.new_database()
    HubHome(tmp_path / "a").init("JZ01", "旧州镇", "admin", HUB_PASS, db=dsn)[0].store.close()
    other = tmp_path / "b"
    with pytest.raises(Exception) as exc:  # a second hub cannot be set up over the first one's data
        HubHome(other).init("JZ02", "别的镇", "admin", HUB_PASS, db=dsn)
    assert "不会覆盖" in str(exc.value)
    assert not (other / "database.json").exists()
    # the first hub's database pointed at by a keyring of another hub: refused, nothing read
    HubHome(tmp_path / "c").init("JZ03", "第三镇", "admin", HUB_PASS, db=pg_cluster.new_database())[0].store.close()
    (tmp_path / "c" / "database.json").write_text(json.dumps({"dsn": dsn}))
    with pytest.raises(Exception) as exc:
        HubHome(tmp_path / "c").unlock("admin", HUB_PASS)
    assert "密钥文件与数据库不符" in str(exc.value)


def test_township_init_db_and_a_wrong_address(pg_cluster, tmp_path):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}

    def init(data_dir, db):
        return subprocess.run([sys.executable, "-m", "sync.hub.cli", "init", "--code", "JZ01", "--name", "旧州镇", "--db", db,
                               "--data-dir", str(data_dir)], cwd=ROOT, env=env, capture_output=True, text=True)
    dsn = pg_cluster.new_database()
    ok = init(tmp_path / "hub", dsn)
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "hub" / "database.json").read_text())["dsn"] == dsn
    assert oct((tmp_path / "hub" / "database.json").stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "hub" / "hub.db").exists()
    assert _psql(pg_cluster, dsn, "SELECT version FROM hub_schema").strip() == str(len(__import__("sync.hub.store", fromlist=["x"]).HUB_MIGRATIONS))
    bad = init(tmp_path / "nowhere", f"postgresql://hub@127.0.0.1:{pg_cluster.port}/no_such_database")
    assert bad.returncode != 0 and "无法连接 PostgreSQL 数据库" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "nowhere" / "database.json").exists()
    worse = init(tmp_path / "mysql", "mysql://x")
    assert worse.returncode != 0 and "postgresql://" in worse.stderr


@pytest.mark.parametrize("sqlite, pg", [
    ("INSERT OR IGNORE INTO received (station, seq) VALUES (?, ?)",
     "INSERT INTO received (station, seq) VALUES (%s, %s) ON CONFLICT DO NOTHING"),
    ("SELECT id, user FROM events WHERE case_id = :id AND note LIKE '%x?'",
     "SELECT id, \"user\" FROM events WHERE case_id = %(id)s AND note LIKE '%%x?'"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, n TEXT NOT NULL)",
     "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, b BYTEA, n TEXT COLLATE \"C\" NOT NULL)"),
    ("CREATE TABLE k (a TEXT, s INTEGER, PRIMARY KEY (a, s)) WITHOUT ROWID",
     "CREATE TABLE k (a TEXT COLLATE \"C\", s BIGINT, PRIMARY KEY (a, s))"),
    ("CREATE TABLE r (id TEXT PRIMARY KEY, users TEXT)",
     "CREATE TABLE r (id TEXT COLLATE \"C\" PRIMARY KEY, users TEXT COLLATE \"C\", rowid BIGINT GENERATED BY DEFAULT AS IDENTITY)"),
])
def test_the_dialect_rewrites_only_what_differs(sqlite, pg):
    assert dialect.to_pg(sqlite) == pg


def test_sealed_columns_are_found_in_inserts_and_updates():
    assert dialect.written_columns("INSERT OR IGNORE INTO attachments (id, station, name, data) VALUES (?,?,?,?)") == \
        ("attachments", [("id", 0), ("station", 1), ("name", 2), ("data", 3)])
    assert dialect.written_columns("UPDATE stations SET status = ?, enrol_key = ? WHERE code = ?") == \
        ("stations", [("status", 0), ("enrol_key", 1)])
    assert dialect.written_columns("INSERT INTO cases (id, status) VALUES (:id, :status) ON CONFLICT(id) DO UPDATE SET status = excluded.status") == \
        ("cases", [("id", "id"), ("status", "status")])


def test_two_connections_appending_to_the_audit_chain_at_once_queue(pg_cluster, tmp_path):
    """Two workers' transactions each append an audit entry (different stations): the second waits for
    the first to commit and then chains onto it, instead of failing on the same sequence number."""
    import threading

    from sync.hub.pgstore import PostgresHubStore
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇", "admin", HUB_PASS, db=pg_cluster.new_database())[0].store.close()
    key = home.unlock_key("admin", HUB_PASS)
    a, b = PostgresHubStore(home.dsn(), key), PostgresHubStore(home.dsn(), key)
    errors = []
    with a.transaction():
        a.audit("admin", "test.first", "XX0101", {})

        def second():
            try:
                with b.transaction():
                    b.audit("admin", "test.second", "XX0102", {})
            except Exception as exc:  # noqa: BLE001 - collected and shown by the assertion below
                errors.append(repr(exc))
        t = threading.Thread(target=second)
        t.start()
        t.join(timeout=1.0)
        assert t.is_alive(), "the second append waits while the first transaction is open"
    t.join(timeout=30)
    assert errors == []
    count, problems = a.verify_audit()
    assert problems == [] and [r["action"] for r in a.s.query("SELECT action FROM audit ORDER BY seq")][-2:] == ["test.first", "test.second"]
    a.close()
    b.close()


def test_the_hub_reconnects_after_postgresql_drops_its_connections(pg_cluster, tmp_path):
    """PostgreSQL restarted or a failover: every connection of the running hub is terminated; the next
    sync still works (the store connects again), and nothing is applied twice."""
    from sync import client
    from sync.http import HttpTransport
    from tests.sync.conftest import intake
    from tests.sync.test_faults import assert_exactly_once
    dsn = pg_cluster.new_database()
    home = HubHome(tmp_path / "hub")
    home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=dsn)[0].store.close()
    hub = HubProcess(home.dir, args=("--workers", "2"))
    hub.start()
    try:
        s = new_station(tmp_path, hub, "XX0101")
        intake(s, 3)
        client.sync_once(s, HttpTransport(hub.url))
        dropped = _psql(pg_cluster, dsn, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE application_name = 'village-hub') t")
        assert int(dropped.strip()) >= 1
        intake(s, 3, start=10)
        client.sync_once(s, HttpTransport(hub.url))
        assert client.pending(s) == 0
        assert_exactly_once(s, hub)
        s.close()
    finally:
        hub.stop()
