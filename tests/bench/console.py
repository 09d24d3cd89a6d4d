"""The township console's queue over 50 stations × 2,000 cases (100,000): how long the 待办 screen
takes to show its first page after F3, and how long each filter's query (the worker that keeps the
screen responsive) takes. Targets: open < 1 s, each filter < 100 ms.

The cases are written straight into the hub store with the store's own writes (``put_case``,
``put_resident``), as the fold of real bundles would leave them: building 100,000 cases through
stations and bundles would take most of an hour and measure the sync, not the console.
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from station.core.cases import Status
from station.core.ids import new_id
from sync.hub import views
from sync.hub.console import ConsoleConfig, make_app
from sync.hub.service import HubHome
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS

TODAY = date(2026, 11, 20)
ITEMS = ("临时救助申请", "城乡居民基本养老保险参保登记", "最低生活保障申请", "生育登记", "农村土地承包经营权流转合同备案")
STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.DECIDED, Status.DELIVERED, Status.RETURNED)


def build(hub_dir: Path, stations: int, per_station: int) -> None:
    hub, _ = HubHome(hub_dir).init("JZ01", "基准乡镇", "admin", HUB_PASS)
    with hub.store.transaction():
        for s in range(stations):
            code = f"XX{s + 1:04d}"
            hub.store.add_station({"code": code, "name": f"第{s + 1}村", "status": "active", "created_at": "2026-01-01T00:00:00",
                                   "last_seen": f"2026-11-{1 + s % 19:02d}T09:00:00"})
            for i in range(per_station):
                rid = new_id()
                hub.store.put_resident(code, {"id": rid, "name": f"村民{i}", "id_number": make_id(seq=i % 999 + 1)})
                received = TODAY - timedelta(days=i % 120)
                hub.store.put_case({"id": new_id(), "station": code, "number": f"{code}-2026-{i + 1:06d}",
                                    "status": STATUSES[i % len(STATUSES)].value, "item_name": ITEMS[i % len(ITEMS)],
                                    "resident_id": rid, "received_on": received.isoformat(),
                                    "due_on": (received + timedelta(days=3 + i % 20)).isoformat(), "updated_stamp": "0"})
    hub.store.close()


async def _open_queue(hub_dir: Path) -> float:
    app = make_app(ConsoleConfig(data_dir=hub_dir, today=lambda: TODAY, user="admin", passphrase=HUB_PASS, watch_sticks=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        t = time.perf_counter()
        await pilot.press("f3")
        while "共" not in str(pilot.app.screen.query("#page-info").first().content if pilot.app.screen.query("#page-info") else ""):
            await asyncio.sleep(0.005)
        return time.perf_counter() - t


def run(stations: int = 50, per_station: int = 2000) -> dict:
    with tempfile.TemporaryDirectory(prefix="township-console-bench-") as tmp:
        hub_dir = Path(tmp) / "hub"
        t = time.perf_counter()
        build(hub_dir, stations, per_station)
        built = time.perf_counter() - t
        opened = asyncio.run(_open_queue(hub_dir))
        filters = {"全部": views.QueueFilter(), "一个站": views.QueueFilter(station="XX0025"),
                   "一个事项": views.QueueFilter(item=ITEMS[2]), "只看超期": views.QueueFilter(overdue=True),
                   "退回补正": views.QueueFilter(status=Status.RETURNED.value)}
        timings = {}
        with HubHome(hub_dir).unlock("admin", HUB_PASS) as hub:
            cal = views.calendar(hub)
            for name, f in filters.items():
                t = time.perf_counter()
                views.queue(hub, TODAY, f, limit=100, cal=cal)
                views.queue_count(hub, TODAY, f)
                timings[name] = time.perf_counter() - t
        return {"cases": stations * per_station, "build_s": built, "open_s": opened, "filters_s": timings}


if __name__ == "__main__":
    r = run()
    print(f"console queue over {r['cases']:,} cases: opens in {r['open_s']:.2f} s (target < 1 s); filters "
          + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in r["filters_s"].items()) + " (target < 100 ms each)")
