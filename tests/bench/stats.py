"""Monthly statistics over a large hub: 50 stations × 2,000 cases received through 2026, each with
its events stamped on the days they record, ``stats.monthly`` for one month timed against the same
figures with every case folded (``everything=True``, the floor without the shortcut that leaves out
cases closed before the month), and checked equal to them.

The store is filled in bulk with events shaped exactly as the hub stores them (a real bundle path
for 100,000 cases would take many minutes and measure sync, not statistics)."""
from __future__ import annotations

import random
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from station.core.clock import HybridClock
from station.core.ids import new_id
from sync.hub import stats
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 2, tzinfo=timezone.utc).timestamp() * 1000)


def fill(hub, stations: int, per_station: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    with hub.store.transaction():
        for si in range(stations):
            code = f"XX{si:04d}"
            hub.store.add_station({"code": code, "name": f"{code}村", "status": "active", "created_at": "2026-01-01"})
            clock = HybridClock(code)
            planned = []
            for ci in range(per_station):
                case_id, number = new_id(), f"{code}-2026-{ci + 1:06d}"
                received = date(2026, 1, 5) + timedelta(days=rnd.randrange(320))
                due = received + timedelta(days=4)
                steps = [("received", received, {"number": number, "resident_id": new_id(), "item_code": "SB-001",
                                                 "item_name": "城乡居民基本养老保险参保登记", "owner": "zhanzhang",
                                                 "received_on": received.isoformat(), "due_on": due.isoformat()}),
                         ("submitted", received, {})]
                fate = rnd.random()
                if fate < 0.85:
                    decided = received + timedelta(days=rnd.randrange(1, 9))
                    steps.append(("decided", decided, {"outcome": "approved" if fate < 0.75 else "rejected", "summary": "经审核"}))
                    steps.append(("result_delivered", decided + timedelta(days=1), {"method": "当面领取"}))
                    level = rnd.choice((5, 5, 5, 4, 4, 3, 2, 1))
                    steps.append(("rated", decided + timedelta(days=1), {"level": level}))
                    if level <= 2 and rnd.random() < 0.7:
                        steps.append(("follow_up_closed", decided + timedelta(days=rnd.randrange(2, 12)),
                                      {"verification": "已核实", "rectification": "已整改", "revisit": "已回访"}))
                elif fate < 0.9:
                    steps.append(("withdrawn", received + timedelta(days=1), {"reason": "群众不办了"}))
                planned.append((case_id, number, received, due, steps))
            # Stamped in the order of the days they record, as a station's clock stamps them.
            events = sorted(((on, ci, si_, etype, payload) for ci, (_, _, _, _, steps) in enumerate(planned)
                             for si_, (etype, on, payload) in enumerate(steps)), key=lambda e: e[:3])
            last: dict[int, tuple[str, str]] = {}
            for on, ci, _, etype, payload in events:
                stamp = clock.now(_ms(on))
                hub.store.insert_event(code, {"id": new_id(), "case_id": planned[ci][0], "type": etype, "stamp": stamp,
                                              "node": code, "user": "u", "payload": {**payload, "on": on.isoformat()}})
                status = {"decided": "decided", "result_delivered": "delivered", "rated": "rated", "withdrawn": "withdrawn"}.get(etype)
                last[ci] = (status or last.get(ci, ("submitted", ""))[0], stamp)
            for ci, (case_id, number, received, due, _) in enumerate(planned):
                status, stamp = last[ci]
                hub.store.put_case({"id": case_id, "station": code, "number": number, "status": status, "item_name": "城乡居民基本养老保险参保登记",
                                    "resident_id": "r", "received_on": received.isoformat(), "due_on": due.isoformat(), "updated_stamp": stamp})

def run(stations: int = 50, per_station: int = 2_000, month: str = "2026-10") -> dict:
    with tempfile.TemporaryDirectory(prefix="township-stats-bench-") as tmp:
        hub, _ = HubHome(Path(tmp) / "hub").init("JZ01", "基准乡镇", "admin", HUB_PASS)
        fill(hub, stations, per_station)
        today = date(2026, 11, 23)
        t = time.perf_counter()
        rows = stats.monthly(hub, month, today=today)
        ours_s = time.perf_counter() - t
        t = time.perf_counter()
        reference = stats.monthly(hub, month, today=today, everything=True)
        all_s = time.perf_counter() - t
        assert rows == reference, "the shortcut changed the figures"
        hub.store.close()
        return {"cases": stations * per_station, "month": month, "ours_s": ours_s, "everything_s": all_s,
                "decided": sum(r["decided"] for r in rows)}


if __name__ == "__main__":
    print(run())
