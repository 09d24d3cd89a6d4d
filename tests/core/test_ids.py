"""Record ids are time-ordered UUIDs (version 7), so new records land at the end of every index on
ids instead of on a random page each (station/core/ids.py)."""
import sqlite3
import uuid

import pytest

from station.core.ids import new_id
from station.services import cases
from sync import policy
from tests.conftest import intake_doc


def test_a_new_id_is_a_version_7_uuid_in_canonical_text():
    for _ in range(1000):
        text = new_id()
        u = uuid.UUID(text)
        assert (u.version, u.variant) == (7, uuid.RFC_4122)
        assert str(u) == text  # lower case, hyphens where they belong
        assert policy.is_case_id(text)  # a station's case id is still refused unless it is a UUID


def test_ids_made_one_after_another_sort_in_that_order_and_never_repeat():
    ids = [new_id() for _ in range(20_000)]  # thousands within one millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def _leaves_touched(make, existing: int = 100_000, added: int = 2_000) -> int:
    """How many pages of a text primary key's index change (new, or their cell count moved) when
    ``added`` ids from ``make`` join ``existing`` ones (SQLite's own page list, ``dbstat``)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO t VALUES (?)", [(make(),) for _ in range(existing)])
    pages = "SELECT pageno, ncell FROM dbstat WHERE name = 'sqlite_autoindex_t_1'"
    before = dict(conn.execute(pages))
    conn.executemany("INSERT INTO t VALUES (?)", [(make(),) for _ in range(added)])
    return sum(1 for page, cells in conn.execute(pages) if before.get(page) != cells)


def test_new_ids_go_to_the_end_of_an_index_not_onto_a_page_each():
    """The reason for version 7: 2,000 new ids in an index of 100,000 change a few dozen pages at its
    end, where random ids change nearly every leaf of it."""
    try:
        sqlite3.connect(":memory:").execute("SELECT 1 FROM dbstat LIMIT 1")
    except sqlite3.OperationalError:
        pytest.skip("this SQLite is built without dbstat")
    assert _leaves_touched(new_id) < 100
    assert _leaves_touched(lambda: str(uuid.uuid4())) > 500


def test_an_intake_writes_version_7_ids(session):
    number = cases.intake(session, intake_doc())["number"]
    case = session.store.one("SELECT id, resident_id FROM cases WHERE number = ?", (number,))
    event_ids = [r["id"] for r in session.store.query("SELECT id FROM events WHERE case_id = ?", (case["id"],))]
    assert event_ids
    for text in (case["id"], case["resident_id"], *event_ids):
        assert uuid.UUID(text).version == 7
