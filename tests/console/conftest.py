"""The township console over a real hub store filled by real bundles (USB) from two stations."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from station.catalog import shipped_catalog
from station.services import attachments, cases
from station.services.session import StationHome
from sync import enrolment, usb
from sync.hub.console import ConsoleConfig, make_app
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ST_PASS

SCAN = b"\x89PNG\r\n\x1a\n" + b"scan-of-a-household-register" * 40
TODAY = date(2026, 11, 20)  # the stations' and the console's day (a Friday)
STARTED = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
CATALOG = {i.code: i for i in shipped_catalog().items}
# (station, item, how many): different promised days, so deadlines differ across stations.
PLAN = {"XX0101": [("MZ-003", 2), ("SB-001", 2), ("MZ-001", 1)], "XX0102": [("WJ-001", 2), ("NY-003", 1)]}


@dataclass
class World:
    tmp: Path
    hub_dir: Path
    stations: dict[str, StationHome]
    numbers: dict[str, list[str]]

    def session(self, code: str):
        return self.stations[code].unlock("zhanzhang", ST_PASS, today=lambda: TODAY)

    def stick(self, name: str = "stick") -> Path:
        path = self.tmp / name
        path.mkdir(exist_ok=True)
        return path


def usb_station(tmp: Path, hub, code: str):
    s, _ = StationHome(tmp / code).init(code, f"{code}村便民服务站", "zhanzhang", "罗世芬", ST_PASS, today=lambda: TODAY)
    one_time, doc = hub.add_station(code, {"XX0101": "石板村", "XX0102": "坪上村"}[code])
    stick = tmp / "enrol-stick"
    stick.mkdir(exist_ok=True)
    (stick / f"enrol-{code}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    enrolment.enroll_file(s, stick / f"enrol-{code}.json", one_time)
    assert import_path(hub, stick).enrolled == [code]
    return s


def take(session, item: str, i: int) -> str:
    """A complete case for ``item`` (all its materials), submitted to the township."""
    materials = [m.name for m in CATALOG[item].materials]
    r = cases.intake(session, {"resident": {"id_number": make_id(seq=i + 1, birth="19600101"), "name": f"村民{i}",
                                            "phone": "13800001234"},
                               "item": item, "materials_received": materials})
    cases.add_event(session, r["number"], "submitted")
    return r["number"]


def build_world(tmp: Path, db: str | None = None) -> World:
    hub, _ = HubHome(tmp / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=db)
    stations, numbers = {}, {}
    try:
        n = 0
        for code, plan in PLAN.items():
            s = usb_station(tmp, hub, code)
            numbers[code] = []
            for item, count in plan:
                for _ in range(count):
                    numbers[code].append(take(s, item, n))
                    n += 1
            if code == "XX0101":  # a scan on the first case
                scan = tmp / "户口簿.png"
                scan.write_bytes(SCAN)
                attachments.attach(s, numbers[code][0], scan)
            stick = tmp / f"up-{code}"
            usb.export_to(s, stick)
            import_path(hub, stick)
            usb.import_acks(s, stick)
            stations[code] = StationHome(tmp / code)
            s.close()
        with hub.store.transaction():  # contact times pinned: the screens show them (snapshots)
            hub.store.update_station("XX0101", last_seen="2026-11-19T09:30:00+08:00")
            hub.store.update_station("XX0102", last_seen="2026-11-02T16:05:00+08:00")
    finally:
        hub.store.close()
    (tmp / "numbers.json").write_text(json.dumps(numbers))
    return World(tmp, tmp / "hub", stations, numbers)


_TEMPLATE: dict[str, tuple[Path, str | None]] = {}


@pytest.fixture
def console_store() -> str:
    """Which hub store the world is on; test modules that run over both override it (test_console.py)."""
    return "sqlite"


@pytest.fixture
def world(tmp_path, console_store, request) -> World:
    """Built once per run and store kind, then copied (enrolment and bundles take a few seconds): the
    data dir file by file, and on PostgreSQL the database as a new one made from it as a template."""
    if console_store not in _TEMPLATE:
        base = tmp_path.parent / f"console-world-{console_store}"
        if base.exists():
            shutil.rmtree(base)
        base.mkdir()
        db = request.getfixturevalue("pg_cluster").new_database() if console_store == "postgresql" else None
        build_world(base, db)
        _TEMPLATE[console_store] = (base, db)
    base, db = _TEMPLATE[console_store]
    for child in base.iterdir():
        if child.is_dir() and child.name in ("hub", *PLAN):
            shutil.copytree(child, tmp_path / child.name)
    if db is not None:
        copy = request.getfixturevalue("pg_cluster").copy_database(db)
        (tmp_path / "hub" / "database.json").write_text(json.dumps({"dsn": copy}), "utf-8")
    numbers = json.loads((base / "numbers.json").read_text()) if (base / "numbers.json").exists() else None
    if numbers is None:
        raise RuntimeError("world template incomplete")
    return World(tmp_path, tmp_path / "hub", {c: StationHome(tmp_path / c) for c in PLAN}, numbers)


def console(world: World, user: str | None = "admin", passphrase: str | None = HUB_PASS, **kw):
    day = kw.pop("today", TODAY)
    config = ConsoleConfig(data_dir=world.hub_dir, today=lambda: day, user=user, passphrase=passphrase,
                           watch_sticks=kw.pop("watch_sticks", False), started=STARTED,
                           now=lambda: datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc), **kw)
    return make_app(config)


async def settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        await pilot.pause()
