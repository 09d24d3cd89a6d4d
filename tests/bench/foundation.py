"""Foundation benchmarks: intake commit, search on a large station, unlock.

Each figure is measured against a baseline in the same run:
- intake: ``cases.intake`` on the encrypted store vs. writing *the same rows* (read back from
  the store) to plain, unencrypted SQLite with the same schema and pragmas, one transaction
  per case, as the service does.
- search: the service's queries on a 200,000-case encrypted station vs. the same SQL on a
  plain SQLite copy of the same rows.
- unlock: passphrase → open store, with the real Scrypt cost (deliberately slow).
"""
from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import sqlite_utils

from station.core.search import name_grams, reverse_digits
from station.services import cases, search
from station.services.demo import GIVEN, SURNAMES, _id_number
from station.services.session import StationHome
from station.store.db import HMAC
from station.store.migrations import MIGRATIONS

PASS = "bench-pass-2026"
TABLES = ["residents", "resident_grams", "outbox", "events", "cases", "audit", "settings", "counters"]


def _plain(path: Path, key: bytes | None = None) -> sqlite3.Connection:
    """Same schema and pragmas as the station; unencrypted, or SQLCipher when given a key."""
    if key is None:
        conn = sqlite3.connect(path, isolation_level=None)
    else:
        import sqlcipher3
        conn = sqlcipher3.connect(str(path), isolation_level=None)
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute(f"PRAGMA cipher_hmac_algorithm = {HMAC}")
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "temp_store = MEMORY", "cache_size = -16000"):
        conn.execute(f"PRAGMA {pragma}")
    db = sqlite_utils.Database(conn)
    for step in MIGRATIONS:
        step(db)
    return conn


def _doc(rng: random.Random, i: int) -> dict:
    born = date(1940 + i % 60, 1 + i % 12, 1 + i % 28)
    return {"resident": {"id_number": _id_number(rng, born, i % 2 == 0), "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                         "phone": f"139{rng.randrange(10**8):08d}"},
            "item": "MZ-001", "materials_received": ["申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书"]}


def bench_intake(workdir: Path, n: int = 300) -> dict:
    home = StationHome(workdir / "intake")
    session, _ = home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    rng = random.Random(1)
    docs = [_doc(rng, i) for i in range(n)]
    start = time.perf_counter()
    numbers = [cases.intake(session, d)["number"] for d in docs]
    ours = time.perf_counter() - start

    # The same rows, case by case: everything each intake transaction wrote.
    store = session.store
    first_audit = store.scalar("SELECT min(seq) FROM audit WHERE action = 'resident.add'")
    per_case = []
    for number in numbers:
        c = store.one("SELECT * FROM cases WHERE number = ?", (number,))
        rows = {
            "residents": store.query("SELECT * FROM residents WHERE id = ?", (c["resident_id"],)),
            "resident_grams": store.query("SELECT * FROM resident_grams WHERE resident_id = ?", (c["resident_id"],)),
            "events": store.query("SELECT * FROM events WHERE case_id = ?", (c["id"],)),
            "cases": [c],
        }
        seqs = [e["outbox_seq"] for e in rows["events"]]
        rows["outbox"] = store.query(f"SELECT * FROM outbox WHERE seq IN ({','.join('?' * len(seqs))}) OR ref_id = ?",
                                     (*seqs, c["resident_id"]))
        rows["audit"] = store.query("SELECT * FROM audit WHERE target IN (?, ?)", (number, c["resident_id"]))
        per_case.append(rows)
    session.close()
    assert first_audit is not None

    base = _write_rows(_plain(workdir / "plain-intake.db"), per_case)
    floor = _write_rows(_plain(workdir / "cipher-intake.db", key=bytes(32)), per_case)
    return {"cases": n, "ours_ms_per_case": 1000 * ours / n, "plain_ms_per_case": 1000 * base / n,
            "cipher_ms_per_case": 1000 * floor / n, "ratio": ours / base, "cipher_ratio": floor / base}


def _write_rows(conn, per_case: list[dict]) -> float:
    """Seconds to write each case's rows in its own transaction, as the service does."""
    start = time.perf_counter()
    for i, rows in enumerate(per_case):
        conn.execute("BEGIN IMMEDIATE")
        for table, table_rows in rows.items():
            for row in table_rows:
                cols = ",".join(row)
                conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * len(row))})", tuple(row.values()))
        conn.execute("INSERT INTO settings (key, value) VALUES ('audit_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(i),))
        conn.execute("INSERT INTO counters (name, value) VALUES ('case:2026', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1")
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _fill_large(conn, n_cases: int, n_residents: int, seed: int = 5) -> list[dict]:
    """Bulk rows shaped exactly as the services write them (search only reads these tables)."""
    rng = random.Random(seed)
    people, seen = [], set()
    conn.execute("BEGIN")
    for i in range(n_residents):
        born = date(1930 + i % 75, 1 + i % 12, 1 + i % 28)
        idn = _id_number(rng, born, i % 2 == 0)
        if idn in seen:
            continue
        seen.add(idn)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN)[0] if rng.random() < 0.2 else "")
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        rid = str(uuid.UUID(int=rng.getrandbits(128)))
        people.append({"id": rid, "name": name, "id_number": idn, "phone": phone})
        conn.execute("INSERT INTO residents (id, id_number, name, sex, birth_date, phone, address, village_group, "
                     "created_at, updated_at, id_rev, phone_rev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (rid, idn, name, "男", born.isoformat(), phone, "某村", "一组", "2026", "2026",
                      reverse_digits(idn), reverse_digits(phone)))
        conn.executemany("INSERT OR IGNORE INTO resident_grams VALUES (?, ?, ?)", [(g, name, rid) for g in name_grams(name)])
    for i in range(n_cases):
        p = people[rng.randrange(len(people))]
        conn.execute("INSERT INTO cases (id, number, resident_id, item_code, item_name, status, owner, received_on, due_on, "
                     "due_estimated, follow_up, rating, updated_stamp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     (str(uuid.UUID(int=rng.getrandbits(128))), f"BE0001-{2020 + i // 40000}-{i % 40000 + 1:06d}", p["id"],
                      "MZ-001", "最低生活保障申请", rng.choice(["received", "submitted", "rated"]), "daiban",
                      f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", "2026-12-01", 0, None, None, "0"))
    conn.execute("COMMIT")
    return people


def _time_queries(fn, queries) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append(1000 * (time.perf_counter() - t))
    return out


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[18]


def bench_search(workdir: Path, n_cases: int = 200_000, n_residents: int = 60_000) -> dict:
    home = StationHome(workdir / "large")
    session, _ = home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    t = time.perf_counter()
    people = _fill_large(session.store.conn, n_cases, n_residents)
    fill_s = time.perf_counter() - t
    plain = _plain(workdir / "plain-large.db")
    _fill_large(plain, n_cases, n_residents)
    plain_store = type(session.store)(plain, workdir / "plain-large.db")  # same query helpers on plain SQLite
    plain_session = type(session)(store=plain_store, user=session.user, station_code="BE0001", station_name="x",
                                  db_key=b"", keys=session.keys)
    plain_session._catalog = session.catalog

    rng = random.Random(9)
    sample = [people[rng.randrange(len(people))] for _ in range(300)]
    kinds = {
        "name_2char": [p["name"][1:3] if len(p["name"]) >= 3 else p["name"][:2] for p in sample],
        "id_tail_6": [p["id_number"][-6:] for p in sample],
        "phone_tail_4": [p["phone"][-4:] for p in sample],
        "case_number": [f"BE0001-2021-{rng.randrange(1, 40000):06d}" for _ in sample],
    }
    results = {"cases": n_cases, "residents": n_residents, "fill_s": fill_s}
    for kind, queries in kinds.items():
        search.search(session, queries[0])  # warm the page cache, as a clerk's first search does
        search.search(plain_session, queries[0])
        ours = _time_queries(lambda q: search.search(session, q), queries)
        base = _time_queries(lambda q: search.search(plain_session, q), queries)
        results[kind] = {"p50_ms": statistics.median(ours), "p95_ms": _p95(ours), "plain_p95_ms": _p95(base),
                         "ratio_p95": _p95(ours) / max(_p95(base), 1e-6)}
    # Cold: a fresh unlock, first search of the day.
    session.close()
    plain.close()
    t = time.perf_counter()
    s2 = home.unlock("zhanzhang", PASS)
    unlock_s = time.perf_counter() - t
    t = time.perf_counter()
    search.search(s2, kinds["name_2char"][5])
    results["cold_first_search_ms"] = 1000 * (time.perf_counter() - t)
    s2.close()
    results["unlock_on_large_s"] = unlock_s
    return results


def bench_unlock(workdir: Path, rounds: int = 5) -> dict:
    home = StationHome(workdir / "unlock")
    home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)[0].close()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        home.unlock("zhanzhang", PASS).close()
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    sqlite3.connect(workdir / "unlock" / "station.db").close()  # baseline: opening a file at all
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "plain_open_ms": 1000 * (time.perf_counter() - t)}


def run(workdir: Path | None = None, large: int = 200_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="station-bench-") as tmp:
        base = Path(workdir or tmp)
        return {"intake": bench_intake(base), "unlock": bench_unlock(base), "search": bench_search(base, n_cases=large)}
