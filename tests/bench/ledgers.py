"""Ledger benchmarks.

- import: a 50,000-row .xlsx through ``import_file`` (read, check every row, write, chain) —
  target under 20 s — with openpyxl's own reading of the same file measured in the same run.
- totals: grouped sums over 1,000,000 entries (target ≤ 0.5 s), against the same query on plain
  SQLite holding the same rows.
- big CSV: peak RSS of the real command ``station ledger import FILE --dry-run`` in its own process,
  on a 1,000,000-row CSV (refused at the row limit after streaming to it; target < 300 MB) and on a
  CSV of exactly ``sheets.MAX_ROWS`` rows (accepted), against the same command's floor: ``station
  ledger list`` (imports, unlock with its real KDF, nothing read).
"""
from __future__ import annotations

import csv
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl

from ledgers import service
from station.services.demo import _id_number
from station.services.session import StationHome

PASS = "bench-pass-2026"


def _xlsx(path: Path, n: int) -> None:
    rng = random.Random(8)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(["序号", "户主姓名", "身份证号码", "村民小组", "面积(亩)", "补贴标准(元/亩)", "补贴金额(元)", "一卡通账号"])
    seen = set()
    i = 0
    while i < n:
        born = date(1930 + rng.randrange(75), 1 + rng.randrange(12), 1 + rng.randrange(28))
        idn = _id_number(rng, born, rng.random() < 0.5)
        if idn in seen:
            continue
        seen.add(idn)
        area = Decimal(rng.randrange(50, 2000)) / 100
        rate = Decimal("125.80")
        sheet.append([i + 1, f"户主{i}", idn, f"{i % 12 + 1}组", float(area), float(rate),
                      float((area * rate).quantize(Decimal("0.01"))), f"62170000{i:011d}"])
        i += 1
    book.save(path)


def bench_import(work: Path, n: int = 50_000) -> dict:
    path = work / "list.xlsx"
    _xlsx(path, n)
    t = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    read_s = time.perf_counter() - t
    s, _ = StationHome(work / "imp").init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    t = time.perf_counter()
    report = service.import_file(s, path, "subsidy", "耕地地力保护补贴", "2026")
    import_s = time.perf_counter() - t
    s.close()
    assert report.written == n == rows - 1 and not report.errors
    return {"rows": n, "import_s": import_s, "openpyxl_read_s": read_s, "ours_s": import_s - read_s}


def bench_totals(work: Path, n: int = 1_000_000) -> dict:
    s, _ = StationHome(work / "tot").init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    plain = sqlite3.connect(work / "plain.db")
    rng = random.Random(2)
    programs = ["耕地地力保护补贴", "种粮一次性补贴", "生态公益林补偿", "农机购置补贴"]
    cols = "seq, id, ledger, program, period, id_number, head_name, village_group, amount_fen, status, kind, author, created_at, prev_hash, hash"

    def rows():
        for i in range(n):
            yield (i + 1, f"e{i}", "subsidy", programs[i % 4], str(2020 + i % 7), f"ID{i % 200_000}", "户主",
                   f"{i % 12 + 1}组", rng.randrange(100, 100_000), "已发放", "original", "x", "x", "x", "x")
    import sqlite_utils

    from station.store.migrations import MIGRATIONS
    plain_db = sqlite_utils.Database(plain)
    for step in MIGRATIONS:
        step(plain_db)
    data = list(rows())
    for conn in (s.store.conn, plain):
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO ledger_entries ({cols}) VALUES ({','.join('?' * 15)})", data)
        conn.execute("COMMIT")
    del data
    service.totals(s, "subsidy")  # first touch reads the index pages from disk
    t = time.perf_counter()
    result = service.totals(s, "subsidy")
    ours = time.perf_counter() - t
    sql = ("SELECT ledger, program, period, village_group, sum(amount_fen), sum(CASE kind WHEN 'reversal' THEN -1 ELSE 1 END) FROM ledger_entries "
           "WHERE ledger = ? GROUP BY ledger, program, period, village_group ORDER BY ledger, program, period, village_group")
    plain.execute(sql, ("subsidy",)).fetchall()
    t = time.perf_counter()
    plain.execute(sql, ("subsidy",)).fetchall()
    base = time.perf_counter() - t
    t = time.perf_counter()
    grand = service.totals(s, "subsidy", by=("program",))
    by_program = time.perf_counter() - t
    s.close()
    plain.close()
    assert sum(r["total_fen"] for r in result) == sum(r["total_fen"] for r in grand)
    return {"entries": n, "groups": len(result), "ours_s": ours, "plain_s": base, "ratio": ours / base, "by_program_s": by_program}


def _big_csv(path: Path, n: int) -> None:
    """n valid, distinct households (ID numbers by birth day and sequence), as a township sends them."""
    from datetime import timedelta

    from station.core.identity import check_char
    base = date(1940, 1, 1)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["序号", "户主姓名", "身份证号码", "村民小组", "面积(亩)", "补贴标准(元/亩)", "补贴金额(元)", "一卡通账号"])
        for i in range(n):
            first17 = f"520402{base + timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}"
            w.writerow([i + 1, f"户主{i}", first17 + check_char(first17), f"{i % 12 + 1}组", "3.25", "125.8", "408.85", f"62170000{i:011d}"])


# Runs ``station.cli`` as ``python -m`` would, and writes this process's own peak (VmHWM) when it
# exits. The rusage of wait4 is no good here: Linux carries ru_maxrss across exec, so a child of this
# large benchmark process reported the parent's peak (781 MB for every command).
_HWM_CHILD = """
import atexit, os, runpy, sys
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["BENCH_HWM_FILE"], "w").write(line.split()[1])
atexit.register(_hwm)
sys.argv = ["station", *sys.argv[1:]]
runpy.run_module("station.cli", run_name="__main__", alter_sys=True)
"""


def _peak_rss(args: list[str], station: Path) -> tuple[float, float, int, str]:
    """Peak RSS (MB: the child's own VmHWM), wall seconds, exit code and output of one real CLI run
    in its own process."""
    hwm = station.parent / "hwm.txt"
    hwm.unlink(missing_ok=True)
    env = {**os.environ, "STATION_PASSPHRASE": PASS, "STATION_USER": "zhanzhang", "BENCH_HWM_FILE": str(hwm)}
    env.pop("STATION_HOME", None)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _HWM_CHILD, *args, "--data-dir", str(station)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - t
    return int(hwm.read_text()) / 1024, elapsed, proc.returncode, proc.stdout.decode("utf-8", "replace")


def bench_big_csv(work: Path, n: int = 1_000_000) -> dict:
    from ledgers import sheets
    station = work / "csv-station"
    s, _ = StationHome(station).init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    s.close()
    big, limit = work / "big.csv", work / "limit.csv"
    _big_csv(big, n)
    _big_csv(limit, sheets.MAX_ROWS)
    args = ["--program", "耕地地力保护补贴", "--period", "2026", "--dry-run"]
    floor = _peak_rss(["ledger", "list", "--limit", "1"], station)
    refused = _peak_rss(["ledger", "import", str(big), *args], station)
    accepted = _peak_rss(["ledger", "import", str(limit), *args], station)
    assert floor[2] == 0, floor[3]
    assert refused[2] == 2 and f"{sheets.MAX_ROWS:,}" in refused[3] and "Traceback" not in refused[3], refused[3][-2000:]
    assert accepted[2] == 0 and f"正确 {sheets.MAX_ROWS} 行" in accepted[3], accepted[3][-2000:]
    return {"rows": n, "mb": big.stat().st_size / 1e6, "limit": sheets.MAX_ROWS, "floor_mb": floor[0], "floor_s": floor[1],
            "refused_mb": refused[0], "refused_s": refused[1], "accepted_mb": accepted[0], "accepted_s": accepted[1]}


def run(only_csv: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="station-ledger-bench-") as tmp:
        if only_csv:
            return {"big_csv": bench_big_csv(Path(tmp))}
        return {"import": bench_import(Path(tmp)), "totals": bench_totals(Path(tmp)), "big_csv": bench_big_csv(Path(tmp))}
