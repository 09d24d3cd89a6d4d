"""Every storage failure a clerk can meet is told apart and said in Chinese with what to do:
disk full, read-only media, a locked file, a damaged page; "wrong key" only when the key is wrong.
Real encrypted stations on a real small tmpfs (filled, remounted read-only), real damaged bytes."""
from __future__ import annotations

import os
import secrets
import shutil

import pytest

from station.errors import DiskFull, ReadOnlyMedia, StoreDamaged, StoreError, StoreLocked, WrongKey
from station.services import audit, cases
from station.services.session import StationHome
from station.store import db as store_db
from tests.conftest import PASS, intake_doc, make_id
from tests.store.media import fill, remount, small_disk


def _station(where, today) -> StationHome:
    home = StationHome(where / "st")
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    cases.intake(s, intake_doc())
    s.close()
    return home


def _no_key_talk(exc: StoreError) -> None:
    # The message must not send the clerk to restore a backup for a full disk or a locked file.
    assert "密钥" not in str(exc) and "恢复" not in str(exc) and "Error" not in str(exc)


def test_disk_full_on_write_is_disk_full_and_nothing_is_half_saved(tmp_path, today):
    with small_disk(tmp_path / "fs") as mnt:
        home = _station(mnt, today)
        s = home.unlock("zhanzhang", PASS, today=today)
        try:
            filler = fill(mnt)
            before = s.store.scalar("SELECT count(*) FROM cases")
            with pytest.raises(DiskFull) as exc:
                for n in range(2, 60):  # the first writes may still fit in pages SQLite holds
                    cases.intake(s, intake_doc(resident={"id_number": make_id(seq=n), "name": "张秀英"}))
            assert "磁盘空间已满" in exc.value.title and "腾出" in exc.value.title
            _no_key_talk(exc.value)
            written = s.store.scalar("SELECT count(*) FROM cases")
            filler.unlink()
            count, problems = audit.verify(s.store.db)
            assert not problems and written >= before
            cases.intake(s, intake_doc(resident={"id_number": make_id(seq=99), "name": "张秀英"}))
        finally:
            s.close()


@pytest.mark.parametrize("leave", [0, 8192, 16384])
def test_opening_with_almost_no_space_says_disk_full_not_wrong_key(tmp_path, today, leave):
    with small_disk(tmp_path / "fs") as mnt:
        home = _station(mnt, today)
        fill(mnt, leave=leave)
        with pytest.raises(DiskFull) as exc:
            home.unlock("zhanzhang", PASS, today=today).close()
        _no_key_talk(exc.value)


def test_read_only_media_is_said_as_such(tmp_path, today):
    with small_disk(tmp_path / "fs") as mnt:
        home = _station(mnt, today)
        remount(mnt, "ro")
        try:
            with pytest.raises(ReadOnlyMedia) as exc:
                s = home.unlock("zhanzhang", PASS, today=today)
                try:
                    cases.intake(s, intake_doc(resident={"id_number": make_id(seq=5), "name": "张秀英"}))
                finally:
                    s.close()
            assert "只读" in exc.value.title
            _no_key_talk(exc.value)
        finally:
            remount(mnt, "rw")


def test_locked_file_is_said_as_such(session, monkeypatch):
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.3)
    other = store_db.connect(session.store.path, session.db_key)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreLocked) as exc:
            cases.intake(session, intake_doc())
        assert "占用" in exc.value.title
        _no_key_talk(exc.value)
    finally:
        other.execute("ROLLBACK")
        other.close()


def _damage(path, page: int) -> None:
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096 + 200)
        f.write(os.urandom(64))


def test_damaged_first_page_is_damage_not_wrong_key(home, today):
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    s.close()
    _damage(home.db_path, 1)
    with pytest.raises(StoreDamaged) as exc:
        home.unlock("zhanzhang", PASS, today=today)
    assert "损坏" in exc.value.title and "备份" in exc.value.title and "密钥" not in exc.value.title


def test_damaged_later_page_is_damage(home, today):
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    for n in range(1, 40):
        cases.intake(s, intake_doc(resident={"id_number": make_id(seq=n), "name": "张秀英", "address": "石板村" * 40}))
    s.close()
    pages = home.db_path.stat().st_size // 4096
    for page in range(2, pages + 1):
        _damage(home.db_path, page)
    with pytest.raises(StoreDamaged) as exc:
        s = home.unlock("zhanzhang", PASS, today=today)
        try:
            s.store.query("SELECT * FROM residents")
        finally:
            s.close()
    assert "损坏" in exc.value.title and "密钥" not in exc.value.title


def test_wrong_key_is_said_only_when_the_key_is_wrong(home, today, tmp_path):
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    s.close()
    other = StationHome(tmp_path / "other")
    other.init("XX0102", "另一站", "zhanzhang", "罗世芬", PASS, today=today)[0].close()
    shutil.copy(other.keys_path, home.keys_path)  # another station's keys.json
    with pytest.raises(WrongKey) as exc:
        home.unlock("zhanzhang", PASS, today=today)
    assert "密钥" in exc.value.title
    with pytest.raises(WrongKey):
        store_db.open_store(home.db_path, secrets.token_bytes(32))


def test_key_file_on_read_only_media_is_not_called_damaged(tmp_path, today):
    with small_disk(tmp_path / "fs") as mnt:
        home = _station(mnt, today)
        home.keys_path.chmod(0o644)  # left open by an older version: opening tightens it, on RO media it cannot
        remount(mnt, "ro")
        try:
            with pytest.raises(ReadOnlyMedia) as exc:
                home.unlock("zhanzhang", PASS, today=today).close()
            _no_key_talk(exc.value)
        finally:
            remount(mnt, "rw")
