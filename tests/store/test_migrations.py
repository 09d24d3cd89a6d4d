"""Upgrading a database made by every earlier schema version keeps its data and indexes it."""
import secrets
import uuid

import pytest

from station.services import search
from station.services.session import StationHome
from station.store.db import open_store
from station.store.migrations import LATEST, migrate, version
from tests.conftest import PASS, make_id


def _old_station(tmp_path, schema: int) -> StationHome:
    """A station whose database stopped at ``schema``, holding a resident written at that version."""
    home = StationHome(tmp_path / f"v{schema}")
    s, _ = home.init("XX0101", "石板村", "zhanzhang", "罗世芬", PASS)
    key = s.db_key
    s.close()
    home.db_path.unlink()
    store = open_store(home.db_path, key, create=True)
    migrate(store, target=schema)
    with store.transaction() as db:
        # What `init` wrote, written with the columns that existed at that version.
        for k, v in (("station_code", "XX0101"), ("station_name", "石板村")):
            db.execute("INSERT INTO settings VALUES (?, ?)", (k, v))
        db.execute("INSERT INTO users VALUES (?, 'zhanzhang', '罗世芬', 'supervisor', 1, '2026-01-01')", (str(uuid.uuid4()),))
        db.execute("INSERT INTO catalog_versions VALUES ('2026.1', '2026-03-01', 'x', '2026-03-01', 1)")
        rid = str(uuid.uuid4())
        db.execute("INSERT INTO residents (id, id_number, name, sex, birth_date, phone, created_at, updated_at) "
                   "VALUES (?, ?, '欧阳秀英', '女', '1956-03-12', '13812345678', 'now', 'now')", (rid, make_id()))
        if schema >= 2:  # software of that version kept the search index itself
            db.execute("UPDATE residents SET id_rev = ?, phone_rev = ? WHERE id = ?", (make_id()[::-1], "87654321831", rid))
            for gram in ("欧阳", "阳秀", "秀英"):
                if schema >= 14:  # from 14 on each gram carries the name too
                    db.execute("INSERT INTO resident_grams VALUES (?, '欧阳秀英', ?)", (gram, rid))
                else:
                    db.execute("INSERT INTO resident_grams VALUES (?, ?)", (gram, rid))
    assert version(store) == schema
    store.close()
    return home


@pytest.mark.parametrize("schema", range(1, LATEST))
def test_upgrade_from_every_earlier_version(tmp_path, schema):
    home = _old_station(tmp_path, schema)
    with home.unlock("zhanzhang", PASS) as s:
        assert version(s.store) == LATEST
        assert [r["name"] for r in search.find_residents(s, "阳秀")] == ["欧阳秀英"]
        assert [r["name"] for r in search.find_residents(s, make_id()[-6:])] == ["欧阳秀英"]
        assert [r["name"] for r in search.find_residents(s, "5678")] == ["欧阳秀英"]
        assert s.calendar().township_years == set()


def test_newer_database_than_software_is_refused(tmp_path):
    key = secrets.token_bytes(32)
    store = open_store(tmp_path / "x.db", key, create=True)
    store.conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    from station.errors import StoreError
    with pytest.raises(StoreError, match="请升级软件"):
        migrate(store)
    store.close()
