"""Bulk decisions: 100 decisions through the real ``township case import-decisions`` process (its
own process start, the real unlock KDF, reading and checking the file, one transaction) against its
floor in the same run: ``township case list`` (process start and unlock, nothing decided). Target < 5 s.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from station.services import cases
from station.services.session import StationHome
from sync import usb
from sync.hub.decisions import ACTION, REASON, SHEET, export_queue
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.bench.sync import _enrol
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ROOT, ST_PASS


def _township(*args: str) -> float:
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(r.stdout + r.stderr)
    return took


def run(n: int = 100) -> dict:
    with tempfile.TemporaryDirectory(prefix="township-decisions-bench-") as tmp:
        work = Path(tmp)
        hub, _ = HubHome(work / "hub").init("JZ01", "基准乡镇", "admin", HUB_PASS)
        s, _ = StationHome(work / "station").init("XX0101", "基准村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
        _enrol(s, hub)
        for i in range(n):
            number = cases.intake(s, {"resident": {"id_number": make_id(seq=i % 999 + 1), "name": f"村民{i}"}, "item": "SB-001",
                                      "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]})["number"]
            cases.add_event(s, number, "submitted")
        usb.export_to(s, work / "stick")
        import_path(hub, work / "stick")
        path = work / "queue.xlsx"
        assert export_queue(hub, path) == n
        hub.store.close()
        s.close()
        book = openpyxl.load_workbook(path)
        sheet = book[SHEET]
        cols = {c.value: c.column for c in sheet[1]}
        for r in range(2, n + 2):
            sheet.cell(r, cols[ACTION], "准予" if r % 2 else "不予")
            sheet.cell(r, cols[REASON], "经审核符合条件" if r % 2 else "经审核不符合条件")
        book.save(path)
        floor = _township("case", "list", "--limit", "1", "--data-dir", str(work / "hub"))  # also warms the disk cache
        import_s = _township("case", "import-decisions", str(path), "--data-dir", str(work / "hub"))
        floor_s = min(floor, _township("case", "list", "--limit", "1", "--data-dir", str(work / "hub")))
        with HubHome(work / "hub").unlock("admin", HUB_PASS) as check:
            decided = check.store.s.scalar("SELECT count(*) FROM cases WHERE status = 'decided'")
        assert decided == n, decided
        return {"decisions": n, "import_s": import_s, "floor_s": floor_s}


if __name__ == "__main__":
    r = run()
    print(r)
