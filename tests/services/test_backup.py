"""Backups onto a stick and restoring them: real encrypted stores, a real writer process, real
file systems (a tmpfs that is full or read-only), real bit flips."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from station.errors import AlreadyExists, AuthFailed, BackupFailed, PermissionDenied, StoreError, ValidationFailed
from station.services import attachments, audit, backup, backup_age, cases, settings
from station.services.session import StationHome
from station.store.db import connect
from tests.conftest import PASS, intake_doc, make_id
from tests.ledgers.test_ledgers import row, xlsx

ROOT = Path(__file__).resolve().parents[2]
APPEND_ONLY = {"events": "rowid", "residents": "rowid", "ledger_entries": "seq", "attachments": "rowid"}


def rows(store_or_conn, table: str, order: str) -> list[tuple]:
    conn = getattr(store_or_conn, "conn", store_or_conn)
    return [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]


def station_with_records(session, tmp_path: Path, big_scan_mb: float = 0.0) -> None:
    """Cases with residents, a subsidy ledger from a spreadsheet, and scanned attachments."""
    from ledgers import service as ledger_service
    numbers = [cases.intake(session, intake_doc(resident={"id_number": make_id(seq=n), "name": f"张秀英{n}",
                                                          "phone": f"1381234{n:04d}"}))["number"] for n in range(1, 4)]
    sheet = xlsx(tmp_path / "名单.xlsx", [row(n) for n in range(1, 6)])
    assert ledger_service.import_file(session, sheet, "subsidy", "耕地地力保护补贴", "2026").written == 5
    scans = tmp_path / "scans"
    scans.mkdir(exist_ok=True)
    small = scans / "身份证.png"
    small.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    attachments.attach(session, numbers[0], small)
    if big_scan_mb:
        big = scans / "户口簿.pdf"
        big.write_bytes(b"%PDF-1.4\n" + os.urandom(int(big_scan_mb * 1024 * 1024)))
        attachments.attach(session, numbers[1], big)


class Writer:
    """``tests/crash_writer.py`` in its own process: writes cases in a loop, reports each commit."""

    def __init__(self, data_dir: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.crash_writer", str(data_dir), PASS, "5000"], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.committed: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(60), self.proc.stderr.read() if self.proc.poll() is not None else "writer did not start"

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip() == "ready":
                self.ready.set()
            else:
                self.committed.append(json.loads(line)["number"])

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed) < count:
            assert time.monotonic() < deadline and self.proc.poll() is None, "writer stopped committing"
            time.sleep(0.01)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_backup_while_another_process_writes_restores_one_consistent_moment(session, home, tmp_path):
    station_with_records(session, tmp_path, big_scan_mb=6)
    stick = tmp_path / "stick"
    stick.mkdir()
    writer = Writer(home.dir)
    try:
        writer.wait_for(3)
        before_backup = list(writer.committed)
        steps = []

        def progress(stage, done, total):
            # The first copy step has run: the snapshot is pinned. Let the writer commit more
            # cases now, in the middle of the copy, and only then let the copy go on.
            if stage == "copy" and not steps:
                writer.wait_for(len(writer.committed) + 3)
            steps.append((stage, done, total))
        result = backup.create(session, stick, progress=progress)
        during = list(writer.committed)
    finally:
        writer.stop()
    assert len([s for s in steps if s[0] == "copy"]) > 3, "the copy ran in several steps"
    manifest = result.manifest
    assert len(during) >= len(before_backup) + 3

    restored_home = StationHome(tmp_path / "new-pc" / "station")
    back = backup.restore(result.folder, restored_home.dir, username="zhanzhang", passphrase=PASS)
    assert back.counts == manifest["counts"]
    with restored_home.unlock("zhanzhang", PASS) as r:
        source = session.store
        # Scanned files and ledger entries: every one back, byte for byte.
        assert rows(r.store, "attachments", "rowid") == rows(source, "attachments", "rowid")
        assert rows(r.store, "ledger_entries", "seq") == rows(source, "ledger_entries", "seq")
        for table, order in APPEND_ONLY.items():
            got, have = rows(r.store, table, order), rows(source, table, order)
            assert len(got) == manifest["counts"][table]
            # One moment: what came back is exactly the source's first rows, nothing from later.
            assert got == have[:len(got)], table
        back_numbers = [x["number"] for x in r.store.query("SELECT number FROM cases ORDER BY rowid")]
        source_numbers = [x["number"] for x in source.query("SELECT number FROM cases ORDER BY rowid")]
        assert back_numbers == source_numbers[:len(back_numbers)]
        assert set(before_backup) <= set(back_numbers)  # committed before the backup began: all back
        assert len(back_numbers) < len(source_numbers)  # the writes made during the copy are not half in it
        for a in r.store.query("SELECT data, sha256 FROM attachments"):
            assert hashlib.sha256(a["data"]).hexdigest() == a["sha256"]
        count, problems = audit.verify(r.store.db)
        assert problems == [] and count == manifest["audit"]["entries"] + 1
        assert r.store.one("SELECT action, target FROM audit ORDER BY seq DESC LIMIT 1") == \
            {"action": "backup.restore", "target": result.folder.name}
        assert r.store.scalar("PRAGMA integrity_check") == "ok"
    # The source knows the backup happened, in its audit trail and its settings.
    assert settings.last_backup_at(session) == manifest["created_at"]
    entry = session.store.one("SELECT user, target, detail FROM audit WHERE action = 'backup.create'")
    assert entry["user"] == "zhanzhang" and entry["target"] == result.folder.name
    assert json.loads(entry["detail"])["counts"] == manifest["counts"]
    for f in list(result.folder.iterdir()) + list(restored_home.dir.iterdir()):
        assert f.stat().st_mode & 0o077 == 0, f"{f} is readable by others"


def flip(path: Path, bit: int) -> bytes:
    data = path.read_bytes()
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(changed))
    return data


def test_one_flipped_bit_in_any_file_is_refused_and_nothing_is_written(session, tmp_path):
    cases.intake(session, intake_doc())
    (tmp_path / "stick").mkdir()
    result = backup.create(session, tmp_path / "stick")
    target = tmp_path / "restored"
    rng = random.Random(7)
    for name in ("station.db", "keys.json", "manifest.json"):
        path = result.folder / name
        size = path.stat().st_size * 8
        for bit in [0, size // 2, size - 1] + rng.sample(range(size), 5):
            original = flip(path, bit)
            try:
                with pytest.raises(BackupFailed) as exc:
                    backup.restore(result.folder, target, username="zhanzhang", passphrase=PASS)
                assert "已损坏" in exc.value.title and name in exc.value.title, exc.value.title
                assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["station", "stick"]
            finally:
                path.write_bytes(original)
    # Every single bit of the manifest, without asking for any secret.
    raw = (result.folder / "manifest.json").read_bytes()
    assert backup.parse_manifest(raw)["counts"]["cases"] == 1
    for bit in range(len(raw) * 8):
        changed = bytearray(raw)
        changed[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BackupFailed, match="已损坏"):
            backup.parse_manifest(bytes(changed))
    assert backup.restore(result.folder, target, username="zhanzhang", passphrase=PASS).counts["cases"] == 1


def test_a_manifest_rewritten_without_the_key_is_refused_after_unlocking(session, tmp_path):
    """Someone edits the counts and fixes up the plain checksum: the keyed MAC still tells."""
    (tmp_path / "stick").mkdir()
    result = backup.create(session, tmp_path / "stick")
    path = result.folder / "manifest.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["counts"]["cases"] = 99
    doc["checksum"] = backup._checksum(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    backup.check(result.folder)  # whole to anyone without the key
    with pytest.raises(BackupFailed, match="清单与其中的数据库不符"):
        backup.restore(result.folder, tmp_path / "restored", username="zhanzhang", passphrase=PASS)
    assert not (tmp_path / "restored").exists()


def test_generations_beyond_keep_are_pruned_never_the_one_just_written(session, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    base = stick / "村站备份-XX0101"
    start = datetime(2026, 11, 1, 18, 30, tzinfo=timezone.utc)
    for day in range(5):
        backup.create(session, stick, keep=3, now=start + timedelta(days=day))
    local = [(start + timedelta(days=d)).astimezone().strftime("%Y%m%d-%H%M%S") for d in range(5)]
    assert sorted(p.name for p in base.iterdir()) == local[2:]
    # The PC's clock was reset (flat CMOS battery): the new backup's name sorts first, and stays.
    reset = datetime(2000, 1, 1, 8, 0).astimezone()
    last = backup.create(session, stick, keep=3, now=reset)
    assert last.folder.name == reset.strftime("%Y%m%d-%H%M%S") and last.pruned == [local[2]]
    assert sorted(p.name for p in base.iterdir()) == [last.folder.name] + local[3:]
    # Two backups in the same second get distinct names; keep=1 leaves only the newest.
    same = datetime(2026, 12, 1, 9, 0).astimezone()
    first = backup.create(session, stick, keep=5, now=same)
    second = backup.create(session, stick, keep=1, now=same)
    assert second.folder.name == first.folder.name + "-2"
    assert [p.name for p in base.iterdir()] == [second.folder.name]
    assert [i.folder for i in backup.list_backups(stick)] == [second.folder]
    assert settings.backup_keep(session) == settings.BACKUP_KEEP_DEFAULT
    with pytest.raises(ValidationFailed):
        backup.create(session, stick, keep=0)


def test_keep_and_reminder_settings(session, home, today):
    settings.set_backup_keep(session, 2)
    assert settings.backup_keep(session) == 2
    with pytest.raises(ValidationFailed):
        settings.set_backup_keep(session, 0)
    with pytest.raises(ValidationFailed):
        settings.set_backup_remind_days(session, 0)
    assert settings.backup_remind_days(session) == 7
    settings.set_backup_remind_days(session, 3)
    assert backup_age.last_age(session).due and backup_age.last_age(session).days is None  # never backed up
    from station.core.models import Role
    from station.services import users
    users.add(session, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    with home.unlock("daiban", "clerk-pass-1", today=today) as clerk:
        with pytest.raises(PermissionDenied):
            settings.set_backup_keep(clerk, 9)
        assert settings.set_backup_remind_days(clerk, 10) == 10


@pytest.mark.parametrize("last,today_,remind,days,due", [
    (None, date(2026, 11, 20), 7, None, True),
    ("2026-11-20T09:00:00+08:00", date(2026, 11, 20), 7, 0, False),
    ("2026-11-13T09:00:00+08:00", date(2026, 11, 19), 7, 6, False),
    ("2026-11-13T09:00:00+08:00", date(2026, 11, 20), 7, 7, True),
    ("2026-11-25T09:00:00+08:00", date(2026, 11, 20), 7, 0, False),  # the PC's clock went back
    ("2026-11-19T09:00:00+08:00", date(2026, 11, 20), 1, 1, True),
])
def test_backup_age(last, today_, remind, days, due, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        got = backup_age.age(last, today_, remind)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (got.days, got.due) == (days, due)


def test_backup_bytes_hold_nothing_readable_and_open_nothing_without_a_secret(home, today, tmp_path):
    session, recovery = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    with session:
        station_with_records(session, tmp_path)
        (tmp_path / "stick").mkdir()
        result = backup.create(session, tmp_path / "stick")
    blob = b"".join(p.read_bytes() for p in result.folder.iterdir())
    secrets_ = [make_id(seq=n) for n in range(1, 6)] + [f"1381234{n:04d}" for n in range(1, 4)] + \
               [f"62170000{n:011d}" for n in range(1, 6)] + ["张秀英", "王1", "三组", "PNG\r\n\x1a\n", "%PDF-1.4"]
    # The scans' whole signatures, not "PNG" alone: three letters turn up by chance in the manifest's
    # and key file's base64 (about one run in a hundred failed on that).
    for s in secrets_:
        assert s.encode("utf-8") not in blob, s
        assert s.encode("utf-16-le") not in blob, s
    target = tmp_path / "found"
    with pytest.raises(AuthFailed):
        backup.restore(result.folder, target, username="zhanzhang", passphrase="guess-this-1")
    with pytest.raises(AuthFailed):
        backup.restore(result.folder, target, recovery_code="00000-00000-00000-00000-00000")
    with pytest.raises(ValidationFailed):
        backup.restore(result.folder, target)
    with pytest.raises(StoreError):
        connect(result.folder / "station.db", os.urandom(32), read_only=True)
    assert not target.exists()
    # A failed guess is counted in a scratch copy, never written into the backup.
    backup.check(result.folder)
    restored = backup.restore(result.folder, target, recovery_code=recovery.lower())
    assert restored.counts["cases"] == 3 and restored.station_code == "XX0101"
    with StationHome(target).unlock("zhanzhang", PASS) as s:
        last = s.store.one("SELECT user, detail FROM audit ORDER BY seq DESC LIMIT 1")
        assert last["user"] is None and json.loads(last["detail"])["unlocked_with"] == "recovery_code"


def test_restore_never_overwrites_a_station_or_a_folder_in_use(session, tmp_path):
    (tmp_path / "stick").mkdir()
    result = backup.create(session, tmp_path / "stick")
    before = {p.name: p.read_bytes() for p in session.store.path.parent.iterdir() if p.name == "keys.json"}
    with pytest.raises(AlreadyExists, match="已经有一个服务站"):
        backup.restore(result.folder, session.store.path.parent, username="zhanzhang", passphrase=PASS)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "照片.jpg").write_bytes(b"x")
    with pytest.raises(AlreadyExists, match="不是空文件夹"):
        backup.restore(result.folder, busy, username="zhanzhang", passphrase=PASS)
    assert [p.name for p in busy.iterdir()] == ["照片.jpg"]
    assert {p.name: p.read_bytes() for p in session.store.path.parent.iterdir() if p.name == "keys.json"} == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert backup.restore(result.folder, empty, username="zhanzhang", passphrase=PASS).data_dir == empty
    assert sorted(p.name for p in empty.iterdir()) == ["keys.json", "station.db"]
    assert backup.resolve(tmp_path / "stick") == result.folder


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False):
    """A real small file system (a full stick, a write-protected stick); needs mount rights."""
    path.mkdir()
    opts = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root): " + done.stderr.decode(errors="replace"))
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_missing_full_and_write_protected_sticks_leave_nothing_behind(session, tmp_path):
    station_with_records(session, tmp_path)
    audit_before = session.store.scalar("SELECT count(*) FROM audit")
    with pytest.raises(BackupFailed, match="找不到U盘"):
        backup.create(session, tmp_path / "no-stick")
    with tmpfs(tmp_path / "full", "96k") as stick:
        with pytest.raises(BackupFailed, match="U盘空间不足") as exc:
            backup.create(session, stick)
        assert "没有留下半份备份" in exc.value.title
        assert list(stick.iterdir()) == []
    with tmpfs(tmp_path / "ro", "4m", read_only=True) as stick:
        with pytest.raises(BackupFailed, match="U盘不能写入"):
            backup.create(session, stick)
        assert list(stick.iterdir()) == []
    assert settings.last_backup_at(session) is None
    assert session.store.scalar("SELECT count(*) FROM audit") == audit_before
    # An earlier attempt cut short (temporary folder left by a power cut) is swept away.
    stick = tmp_path / "stick"
    left = stick / "村站备份-XX0101" / ".20261101-080000.part"
    left.mkdir(parents=True)
    (left / "station.db").write_bytes(b"half")
    os.utime(left, (time.time() - 2 * backup.STALE_PART_S,) * 2)
    result = backup.create(session, stick)
    assert sorted(p.name for p in (stick / "村站备份-XX0101").iterdir()) == [result.folder.name]
