"""Ledger benchmarks.

- import: a 50,000-row .xlsx through ``import_file`` (read, check every row, write, chain) —
  target under 20 s — with openpyxl's own reading of the same file measured in the same run.
- totals: grouped sums over 1,000,000 entries (target ≤ 0.5 s), against the same query on plain
  SQLite holding the same rows.
"""
from __future__ import annotations

import random
import sqlite3
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


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="station-ledger-bench-") as tmp:
        return {"import": bench_import(Path(tmp)), "totals": bench_totals(Path(tmp))}
