"""Data survives what village PCs go through, and nothing personal is readable on disk."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from station.services import audit, residents
from station.services.demo import DEMO_PASSPHRASE, build
from station.services.session import StationHome

ROOT = Path(__file__).resolve().parents[1]


def test_no_personal_data_in_db_wal_or_shm_after_demo(tmp_path):
    data_dir = tmp_path / "demo"
    session = build(data_dir, cases_count=40)
    person = residents.get(session, session.store.scalar("SELECT id FROM residents LIMIT 1"))
    # Files are scanned while the station is still open, so the WAL and SHM are there too.
    files = [p for p in data_dir.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"station.db", "station.db-wal", "station.db-shm", "keys.json"}
    needles = []
    for text in (person["name"], person["id_number"], person["phone"], "最低生活保障"):
        needles += [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]
    blobs = {p.name: p.read_bytes() for p in files}
    session.close()
    blobs.update({p.name + " (closed)": p.read_bytes() for p in data_dir.iterdir() if p.is_file()})
    for name, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"{needle!r} readable in {name}"
    assert not any(p.name.startswith("etilqs") for p in Path("/tmp").iterdir())  # no SQLite temp files left


def test_kill_9_while_writing_loses_nothing_that_was_reported(tmp_path):
    home = StationHome(tmp_path / "st")
    s, _ = home.init("XX0101", "石板村", "zhanzhang", "罗世芬", DEMO_PASSPHRASE)
    s.close()
    reported: list[str] = []
    rng = random.Random(7)
    for round_no in range(6):
        proc = subprocess.Popen([sys.executable, "-m", "tests.crash_writer", str(home.dir), DEMO_PASSPHRASE, str(round_no * 10_000)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        deadline = time.monotonic() + rng.uniform(0.3, 1.2)
        os.set_blocking(proc.stdout.fileno(), False)
        buffer = ""
        while time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # mid-write, most likely inside a transaction
        proc.wait()
        buffer += proc.stdout.read() or ""
        reported += [json.loads(line)["number"] for line in buffer.splitlines() if line.startswith("{")]
    assert len(reported) > 20, "the writer should have committed cases before being killed"
    with home.unlock("zhanzhang", DEMO_PASSPHRASE) as again:
        stored = {r["number"] for r in again.store.query("SELECT number FROM cases")}
        missing = set(reported) - stored
        assert not missing, f"reported as saved but lost: {sorted(missing)[:5]}"
        count, problems = audit.verify(again.store.db)
        assert problems == [] and count > 2 * len(reported)
        # Every case is whole: its events and its projection agree (no half-applied write).
        assert again.store.scalar("SELECT count(*) FROM cases c WHERE NOT EXISTS "
                                  "(SELECT 1 FROM events e WHERE e.case_id = c.id AND e.type = 'received')") == 0
        assert again.store.scalar("SELECT count(*) FROM events WHERE case_id NOT IN (SELECT id FROM cases)") == 0
        assert again.store.scalar("PRAGMA integrity_check") == "ok"
