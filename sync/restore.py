"""The station's side of a rebuild from the hub (从乡镇恢复): records it had delivered come back.

The hub sends ``restore`` items after a (re-)enrolment (see ``sync/hub/restore.py``). Each is one of
the station's own records as the hub received it; it is written as it was, never queued in the
outbox again (the township has it), and a record already here is left alone, so restoring onto the
same PC changes nothing. Case projections and the case-number counter follow the restored events,
so the next intake continues the numbering instead of reusing a printed number.
"""
from __future__ import annotations

import base64
import json

from ledgers import rules
from ledgers.service import GENESIS
from station.core.cases import CaseEvent
from station.core.search import reverse_digits
from station.services import anchor, audit, cases, residents
from station.services.session import Session

RESTORED_BY = "乡镇恢复"


def _insert(db, table: str, row: dict) -> bool:
    cols = ", ".join(row)
    return db.execute(f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())).rowcount == 1


def _pick(data: dict, *keys: str) -> dict:
    return {k: data.get(k) for k in keys}


def apply(db, session: Session, data: dict) -> str:
    """Write one restored record inside the reply's transaction; returns its kind."""
    kind, r = data["kind"], data["data"]
    if kind == "resident":
        row = _pick(r, "id", "id_number", "name", "sex", "birth_date", "phone", "address", "village_group", "created_at", "updated_at")
        if _insert(db, "residents", {**row, "id_rev": reverse_digits(r["id_number"]), "phone_rev": reverse_digits(r.get("phone"))}):
            residents.index_name(db, r["id"], r["name"])
    elif kind == "event":
        event = CaseEvent.model_validate(r)
        payload = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
        _insert(db, "events", {"id": event.id, "case_id": event.case_id, "type": event.type.value, "stamp": event.stamp,
                               "node": event.node, "user": event.user, "payload": payload, "outbox_seq": None, "recorded_at": audit.now_iso()})
        session.clock.observe(event.stamp)
        state = cases.fold(event.case_id, cases.events_of(session, event.case_id))
        cases.project(db, state)
        if state.number and event.type.value == "received":
            _, year, number = state.number.rsplit("-", 2)
            db.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
                       (f"case:{year}", int(number)))
    elif kind == "attachment":
        raw = base64.b64decode(r["data"], validate=True)
        _insert(db, "attachments", {**_pick(r, "id", "case_id", "name", "sha256"), "mime": r.get("mime") or "application/octet-stream",
                                    "size": len(raw), "data": raw, "added_at": r.get("added_at") or audit.now_iso(),
                                    "added_by": r.get("added_by") or RESTORED_BY})
    elif kind == "ledger_entry":
        prev = r.get("prev_hash") or (db.execute("SELECT hash FROM ledger_entries ORDER BY seq DESC LIMIT 1").fetchone() or [GENESIS])[0]
        if _insert(db, "ledger_entries", {**_pick(r, *rules.CHAINED, "source", "row_no", "hash"), "prev_hash": prev}):
            seq = db.execute("SELECT seq FROM ledger_entries WHERE id = ?", (r["id"],)).fetchone()[0]
            anchor.set_head(db, "ledger", seq, r["hash"])  # the chain's head follows the restored entries
    elif kind == "infra_event":
        _insert(db, "infra_events", _pick(r, "id", "project_id", "type", "payload", "author", "created_at"))
    elif kind == "notice":
        _insert(db, "notices", {**_pick(r, "id", "kind", "title", "body", "status", "posting_from", "posting_to", "source", "posting",
                                        "created_at", "published_at", "archived_at"), "created_by": r.get("created_by") or RESTORED_BY})
    else:
        _insert(db, "objections", {**_pick(r, "id", "notice_id", "who", "what", "on_day", "answer", "answered_by", "answered_on",
                                           "recorded_at", "answer_due"), "recorded_by": r.get("recorded_by") or RESTORED_BY})
    return kind
