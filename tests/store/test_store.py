"""The encrypted file itself: SQLCipher settings, no plain header, wrong key refused."""
import secrets

import pytest

from station.errors import StoreError
from station.store.db import SQLITE_HEADER, open_store
from station.store.migrations import LATEST, version


def test_encrypted_file_has_fts5_and_no_plain_header(session):
    store = session.store
    options = {r[0] for r in store.conn.execute("PRAGMA compile_options")}
    assert "ENABLE_FTS5" in options
    assert store.scalar("PRAGMA journal_mode") == "wal"
    assert store.scalar("PRAGMA synchronous") == 2  # FULL
    assert store.scalar("PRAGMA temp_store") == 2  # MEMORY
    assert version(store) == LATEST
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    head = store.path.read_bytes()[:16]
    assert head != SQLITE_HEADER and len(head) == 16


def test_wrong_key_is_refused_with_a_message(session):
    path = session.store.path
    session.close()
    with pytest.raises(StoreError) as exc:
        open_store(path, secrets.token_bytes(32))
    assert "密钥不符" in exc.value.title


def test_transaction_rolls_back_everything(session):
    before = session.store.scalar("SELECT count(*) FROM audit")
    with pytest.raises(RuntimeError):
        with session.store.transaction() as db:
            db.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')")
            raise RuntimeError("power cut")
    assert session.store.scalar("SELECT count(*) FROM settings WHERE key = 'x'") == 0
    assert session.store.scalar("SELECT count(*) FROM audit") == before


def test_sqlite_utils_writes_join_the_open_transaction(session):
    """sqlite-utils must not commit behind our back (it nests in a savepoint)."""
    with pytest.raises(RuntimeError):
        with session.store.transaction() as db:
            db["settings"].insert({"key": "via_sqlite_utils", "value": "1"})
            raise RuntimeError
    assert session.store.scalar("SELECT count(*) FROM settings WHERE key = 'via_sqlite_utils'") == 0
