"""USB benchmarks: export and import of 100,000 events, each against its floor in the same run.

- export: ``usb.export_to`` (bundles built, sealed, written atomically with fsync, read back and
  verified) vs. copying the same bytes file by file with fsync (the floor of any export).
- import: ``township import`` of the stick (open, verify, decrypt, apply, write the ack back) vs.
  applying the same events to a hub store directly, without the bundle layer (``Hub.apply``).
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from station.services.session import StationHome
from sync import usb
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.bench.sync import _bulk_station, _enrol, apply_directly, payloads_of
from tests.sync.conftest import HUB_PASS


def run(n_cases: int = 20_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="station-usb-bench-") as tmp:
        work = Path(tmp)
        s = _bulk_station(StationHome(work / "station"), n_cases)
        events = s.store.scalar("SELECT count(*) FROM events")
        hub, _ = HubHome(work / "hub").init("JZ01", "基准乡镇", "admin", HUB_PASS)
        _enrol(s, hub)
        stick = work / "stick"
        t = time.perf_counter()
        result = usb.export_to(s, stick)
        export_s = time.perf_counter() - t
        files = sorted((stick / s.station_code).glob("*.vsb"))
        size = sum(f.stat().st_size for f in files)
        copy = work / "copy"
        copy.mkdir()
        t = time.perf_counter()
        for f in files:
            data = f.read_bytes()
            with open(copy / f.name, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        copy_s = time.perf_counter() - t
        t = time.perf_counter()
        report = import_path(hub, stick)
        import_s = time.perf_counter() - t
        assert report.stations[s.station_code].records == result.records and not report.rejected
        hub.store.close()
        # floor for import: the same events applied to a fresh hub store, no bundle layer
        direct, _ = HubHome(work / "direct").init("JZ02", "基准乡镇", "admin", HUB_PASS)
        s.store.conn.execute("DELETE FROM peers")
        _enrol(s, direct)
        apply_s = apply_directly(direct, s.station_code, payloads_of(s, result.records))
        direct.store.close()
        s.close()
        mb = size / 1e6
        return {"events": events, "records": result.records, "files": len(files), "mb": mb,
                "export_s": export_s, "copy_s": copy_s, "export_mb_s": mb / export_s, "copy_mb_s": mb / copy_s,
                "export_events_s": events / export_s, "export_ratio": copy_s / export_s,
                "import_s": import_s, "apply_s": apply_s, "import_events_s": events / import_s,
                "apply_events_s": events / apply_s, "import_ratio": apply_s / import_s, "import_mb_s": mb / import_s}
