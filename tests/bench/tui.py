"""TUI benchmarks on a large station, each app in its own fresh process.

- start: process start → Today screen showing its counts, vs. a bare Textual app (Header,
  DataTable with 20 rows, Footer) started the same way in the same run.
- memory: peak RSS of the station app after Today, the case list and a round of filtering: the
  child's own ``VmHWM`` (``ru_maxrss`` would report the benchmark parent's peak after exec).
- stall: the longest time the event loop could not run (a 5 ms heartbeat) while the filters
  of the case list change repeatedly.
Both apps run headless through the same ``run_test`` harness, so the harness costs cancel out.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from station.services.session import StationHome
from tests.bench.foundation import PASS, _fill_large

ROOT = Path(__file__).resolve().parents[2]

STATION_CHILD = textwrap.dedent("""
    import asyncio, json, resource, sys, time
    from pathlib import Path
    from station.tui import AppConfig, make_app

    def vm_hwm_mb():
        # This process's own peak (VmHWM). ru_maxrss is not: Linux carries it across exec, so a
        # child started from a large parent reports the parent's peak.
        try:
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def main():
        app = make_app(AppConfig(Path(sys.argv[1]), user="zhanzhang", passphrase=sys.argv[2], watch_scans=False))
        async with app.run_test(size=(120, 40)) as pilot:
            while True:
                await asyncio.sleep(0.005)
                try:
                    if not str(app.screen.query_one("#card-overdue").content).endswith("—"):
                        break
                except Exception:
                    pass
            print(json.dumps({"ready": True}), flush=True)
            # Filtering the case list while a heartbeat measures how long the loop is blocked.
            await pilot.press("f4")
            await app.workers.wait_for_complete()
            gaps = []
            stop = False
            async def heartbeat():
                last = time.perf_counter()
                while not stop:
                    await asyncio.sleep(0.005)
                    now = time.perf_counter()
                    gaps.append(now - last - 0.005)
                    last = now
            beat = asyncio.create_task(heartbeat())
            screen = app.screen
            for status in ["received", "submitted", "rated", "received", "submitted"]:
                screen.query_one("#f-status").value = status
                await asyncio.sleep(0.05)
                screen.query_one("#f-overdue").value = not screen.query_one("#f-overdue").value
                await asyncio.sleep(0.05)
                await pilot.press("n")
                await asyncio.sleep(0.05)
            await app.workers.wait_for_complete()
            await asyncio.sleep(0.1)
            stop = True
            await beat
            print(json.dumps({"max_stall_ms": 1000 * max(gaps), "rows": screen.query_one("#cases").row_count,
                              "peak_rss_mb": vm_hwm_mb()}), flush=True)
    asyncio.run(main())
""")

BARE_CHILD = textwrap.dedent("""
    import asyncio, json
    from textual.app import App
    from textual.widgets import DataTable, Footer, Header

    class Bare(App):
        def compose(self):
            yield Header()
            yield DataTable()
            yield Footer()
        def on_mount(self):
            t = self.query_one(DataTable)
            t.add_columns("a", "b", "c")
            for i in range(20):
                t.add_row(str(i), "x", "y")

    async def main():
        app = Bare()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            print(json.dumps({"ready": True}), flush=True)
    asyncio.run(main())
""")


def _time_to_ready(code: str, *args: str) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    ready = time.perf_counter() - start
    if not first:
        raise RuntimeError(proc.stderr.read())
    rest = [json.loads(line) for line in proc.stdout.read().splitlines() if line.strip()]
    proc.wait()
    return ready, rest


# For iterating on the TUI only: a folder to keep the filled station in and reuse on the next run
# (the 200,000-case fill takes most of a run). Unset, every run builds a fresh one in a temporary folder.
KEEP_ENV = "STATION_BENCH_TUI_KEEP"


def _station(folder: Path, n_cases: int) -> StationHome:
    """The large station in ``folder``: reused when a kept one with the same case count is there."""
    home = StationHome(folder / "large")
    marker = folder / "cases.txt"
    if home.exists() and marker.exists() and marker.read_text() == str(n_cases):
        return home
    if home.exists():
        shutil.rmtree(home.dir)
    session, _ = home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)
    _fill_large(session.store.conn, n_cases, 60_000)
    session.close()
    marker.write_text(str(n_cases))
    return home


def run(n_cases: int = 200_000, rounds: int = 3) -> dict:
    keep = os.environ.get(KEEP_ENV)
    with tempfile.TemporaryDirectory(prefix="station-tui-bench-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        home = _station(folder, n_cases)
        t = time.perf_counter()
        home.unlock("zhanzhang", PASS).close()
        unlock_s = time.perf_counter() - t
        ours, bare, details = [], [], []
        for _ in range(rounds):
            bare.append(_time_to_ready(BARE_CHILD)[0])
            ready, rest = _time_to_ready(STATION_CHILD, str(home.dir), PASS)
            ours.append(ready)
            details += rest
        ours_s, bare_s = min(ours), min(bare)
        return {"cases": n_cases, "start_s": ours_s, "bare_start_s": bare_s, "ratio": ours_s / bare_s,
                "unlock_s": unlock_s, "ratio_without_kdf": (ours_s - unlock_s) / bare_s,
                "peak_rss_mb": max(d["peak_rss_mb"] for d in details),
                "max_stall_ms": max(d["max_stall_ms"] for d in details)}
