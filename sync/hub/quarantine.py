"""Quarantined records and held bundles at the township: look at them, retry after a fix, discard.

- A **quarantined record** is one item of a station's bundle the hub set aside with a reason (a scan
  whose case had not arrived, an event the write policy refused, a wrong PC clock), or a chain alert.
  ``retry_quarantined`` puts a record through exactly the checks a fresh one gets (shape, the write
  policy, the clock), in one transaction: what is still wrong stays quarantined, and the result (and
  the audit entry) says today's reason. It is
  refused where a retry could do harm: a chain alert (nothing to apply), a record kept without its
  content, a station no longer enrolled, or an older version of a record the hub has since received
  again (residents, notices and objections are replaced by their newer version; applying the old one
  would undo it).
- A **held bundle** arrived ahead of a missing one (USB); ``retry_held`` applies it once the gap is
  filled, otherwise it stays held and says which records are still awaited.
- ``discard_*`` removes one, with a reason, by a 负责人 only (``may_discard(user)``: the caller's
  role check). A discarded record was already acknowledged to its station, so it is gone for good:
  the audit entry keeps what it was (kind, number, reason, a digest of the content). A discarded held
  bundle is not: its records are still unacknowledged at the station, which sends them again.

Every retry and discard is audited under the staff member's name.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from station.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from sync.bundle import BundleRejected
from sync.hub import staff_policy
from sync.hub.service import Hub, ItemInvalid
from sync.protocol import ITEM_KINDS_FROM_STATION

# Kinds a later version replaces at the hub (upserts): an older quarantined version is not retried.
REPLACED_BY_NEWER = ("resident", "notice", "objection")


@dataclass
class RetryResult:
    applied: bool
    reason: str | None = None  # why it is still set aside

    def as_dict(self) -> dict:
        return {"applied": self.applied, "reason": self.reason}


def _retry_refusal(hub: Hub, row: dict) -> str | None:
    """Why retrying this quarantined row would be unsafe or pointless; None if it may be retried."""
    if row["kind"] not in ITEM_KINDS_FROM_STATION:
        return "这是数据链核对的警示,没有可重新接收的记录:核实后可由负责人标记处理"
    if not isinstance(row.get("data"), dict):
        return "没有保存该记录的内容,无法重新接收"
    st = hub.store.station(row["station"])
    if st is None or st["status"] != "active":
        return f"服务站 {row['station']} 未登记或已停用"
    record_id = row["data"].get("id")
    if row["kind"] in REPLACED_BY_NEWER and isinstance(record_id, str) and hub.store.owner(row["kind"], record_id) is not None:
        return "乡镇已收到该记录后来的版本,重新接收旧版本会覆盖它"
    return None


def _mine(hub: Hub, row: dict | None) -> dict | None:
    """The item, if it is from a station the account sees (``staff_policy``); else as if not there."""
    if row is None or staff_policy.sees(hub.township, hub._township_of(row["station"])):
        return row
    return None


def list_quarantined(hub: Hub, station: str | None = None) -> list[dict]:
    """Every quarantined record (oldest first) with its reason and whether it may be retried
    (``retryable``; ``not_retryable`` says why not); a township account's stations' only."""
    hub.require_station(station)
    out = []
    for r in hub.store.quarantined(station.upper() if station else None, hub.listing_township()):
        why_not = _retry_refusal(hub, hub.store.quarantine_item(r["id"]) or r)
        out.append({**r, "retryable": why_not is None, "not_retryable": why_not})
    return out


def list_held(hub: Hub, station: str | None = None) -> list[dict]:
    """Every held bundle with its reason and the record number the hub is waiting for."""
    hub.require_station(station)
    hwm = {s["code"]: s["hwm"] for s in hub.store.stations()}
    return [{**r, "waiting_for": hwm.get(r["station"], 0) + 1}
            for r in hub.store.held_rows(station.upper() if station else None, hub.listing_township())]


def retry_quarantined(hub: Hub, item_id: int, user: str | None = None) -> RetryResult:
    """Apply a quarantined record again with the checks a fresh one gets; removed from quarantine
    if it goes in, kept if not (``RetryResult.reason``: why, today)."""
    user = user or hub.user
    with hub.lock, hub.store.transaction():
        row = _mine(hub, hub.store.quarantine_item(item_id))
        if row is None:
            raise NotFound(f"没有编号为 {item_id} 的搁置记录")
        refusal = _retry_refusal(hub, row)
        if refusal:
            raise ValidationFailed("不能重新接收", [FieldError("id", "not_retryable", refusal)])
        station = row["station"]
        paper_until = hub.store.station(station)["paper_until"]
        try:
            with hub.store.item():
                touched = hub._apply_item(station, {"seq": row["seq"], "kind": row["kind"], "data": row["data"]}, paper_until)
        except ItemInvalid as exc:
            hub.store.audit(user, "quarantine.retry", f"{station}#{row['seq']}", {"kind": row["kind"], "applied": False, "reason": str(exc)})
            return RetryResult(False, str(exc))
        for case_id in touched:
            hub._refold(station, case_id)
        hub.store.drop_quarantine(item_id)
        hub.store.audit(user, "quarantine.retry", f"{station}#{row['seq']}", {"kind": row["kind"], "applied": True, "was": row["reason"]})
    return RetryResult(True)


def retry_held(hub: Hub, held_id: int, user: str | None = None) -> RetryResult:
    """Apply a held bundle if its gap has been filled; it stays held (with the reason) if not."""
    user = user or hub.user
    row = next((r for r in hub.store.held_rows(None, hub.listing_township()) if r["id"] == held_id), None)
    data = hub.store.held_data(held_id)
    if row is None or data is None:
        raise NotFound(f"没有编号为 {held_id} 的暂存数据包")
    target = f"{row['station']}:{row['seq_from']}-{row['seq_to']}"
    try:
        hub.receive(data)  # the whole bundle path: signature, decryption, gap, policy, one transaction
    except BundleRejected as exc:
        with hub.store.transaction():
            hub.store.audit(user, "held.retry", target, {"applied": False, "reason": exc.reason})
        return RetryResult(False, exc.reason)
    finally:
        del data
    with hub.store.transaction():
        hub.store.release(held_id)
        hub.store.audit(user, "held.retry", target, {"applied": True})
    return RetryResult(True)


def _check_discard(user: str, reason: str, may_discard: Callable[[str], bool]) -> str:
    if not may_discard(user):
        raise PermissionDenied("只有负责人可以丢弃搁置的记录或数据包")
    if not (reason or "").strip():
        raise ValidationFailed("请填写丢弃原因", [FieldError("reason", "required", "丢弃原因不能为空")])
    return reason.strip()


def discard_quarantined(hub: Hub, item_id: int, reason: str, user: str, may_discard: Callable[[str], bool]) -> dict:
    """Remove a quarantined record for good (a 负责人, with a reason); returns what was removed."""
    reason = _check_discard(user, reason, may_discard)
    with hub.lock, hub.store.transaction():
        row = _mine(hub, hub.store.quarantine_item(item_id))
        if row is None:
            raise NotFound(f"没有编号为 {item_id} 的搁置记录")
        content = json.dumps(row["data"], ensure_ascii=False, sort_keys=True).encode()
        hub.store.drop_quarantine(item_id)
        hub.store.audit(user, "quarantine.discard", f"{row['station']}#{row['seq']}",
                        {"kind": row["kind"], "was": row["reason"], "reason": reason, "sha256": hashlib.sha256(content).hexdigest()})
    return {k: row[k] for k in ("id", "station", "seq", "kind", "reason")}


def discard_held(hub: Hub, held_id: int, reason: str, user: str, may_discard: Callable[[str], bool]) -> dict:
    """Remove a held bundle (a 负责人, with a reason); its records stay unacknowledged at the
    station, which sends them again."""
    reason = _check_discard(user, reason, may_discard)
    with hub.lock, hub.store.transaction():
        row = next((r for r in hub.store.held_rows(None, hub.listing_township()) if r["id"] == held_id), None)
        if row is None:
            raise NotFound(f"没有编号为 {held_id} 的暂存数据包")
        hub.store.release(held_id)
        hub.store.audit(user, "held.discard", f"{row['station']}:{row['seq_from']}-{row['seq_to']}",
                        {"was": row["reason"], "reason": reason})
    return dict(row)
