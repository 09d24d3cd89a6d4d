"""A station rebuilt from the hub (新电脑恢复): what the hub sends a station when it enrols again.

When a station PC dies or is replaced, the township resets the station (``township station reset``)
and the new PC enrols. The hub then starts the station's outbox afresh: what the township has
published (catalog, calendar, notices), the subsidy lists the old PC never received, and then every
record the station itself had delivered — residents, cases with all their events (the township's
too), scans, ledger entries, infrastructure events, notices and objections — as ``restore`` items.
The outbox holds only references; the records are read when a reply is built, so a restore costs
no copy of the station's data. The station's own high-water mark is kept, so the new PC numbers its
outbox on from where the old one stopped: nothing is skipped and nothing is applied twice.
"""
from __future__ import annotations

import base64
import json

from sync.hub.store import HubStore

# A reply carries at most this much restored data, so a station with many scans comes back over
# several rounds instead of one bundle that a slow link or a small stick cannot carry.
MAX_RESTORE_BYTES = 8 * 1024 * 1024


def rebuild_outbox(store: HubStore, station: str) -> int:
    """Start the station's outbox over (inside the enrolment transaction); returns the items queued."""
    st = store.station(station)
    old = store.outbox_rows(station)
    rows: list[tuple[str, str, dict]] = []
    for kind in ("catalog", "calendar", "rules"):  # what the township has published so far
        for doc in json.loads(store.setting(f"published_{kind}") or "[]"):
            rows.append((kind, str(doc.get("version") or doc.get("year")), doc))
    for r in old:
        # Township notices are on the board only, never sent back up: send them again. A subsidy list the
        # old PC already received came back as ledger entries (restored below); one it never got is sent.
        if r["kind"] == "notice" or (r["kind"] == "ledger_list" and r["seq"] > st["acked"]):
            rows.append((r["kind"], r["ref"], r["data"]))
    rows += [("restore", f"{kind}:{rid}", {"kind": kind, "id": rid}) for kind, rid in store.station_records(station)]
    store.replace_outbox(station, rows)
    return len(rows)


def materialize(store: HubStore, items: list[dict]) -> list[dict]:
    """Replace restore references by the records themselves, within the reply's size budget."""
    out, size = [], 0
    for item in items:
        if item["kind"] == "restore":
            kind, rid = item["data"]["kind"], item["data"]["id"]
            record = store.record(kind, rid)
            if record is None:  # cannot happen through the hub's services; say so rather than send nothing
                raise LookupError(f"restore {kind} {rid} missing")
            if kind == "attachment":
                record = {**record, "data": base64.b64encode(bytes(record["data"])).decode("ascii")}
            item = {**item, "data": {"kind": kind, "data": record}}
            size += len(json.dumps(record, ensure_ascii=False))
        out.append(item)
        if size >= MAX_RESTORE_BYTES:
            break
    return out
