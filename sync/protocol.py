"""Sync rules, pure (no store, no transport): what a bundle's sequence range means for the
recipient's high-water mark (hwm), and the shape every item must have."""
from __future__ import annotations

from dataclasses import dataclass

from sync.bundle import MAX_ITEMS_PER_BUNDLE, MAX_SEQ, BundleRejected

ITEM_KINDS_FROM_STATION = {"resident", "event", "attachment", "ledger_entry", "infra_event", "notice", "objection"}
ITEM_KINDS_FROM_HUB = {"event", "catalog", "calendar", "rules", "ledger_list", "notice", "restore"}
__all__ = ["MAX_ITEMS_PER_BUNDLE", "Plan", "plan", "check_items", "ack_of"]  # the limit lives with the format (sync.bundle)


@dataclass(frozen=True)
class Plan:
    """Which items of a bundle to apply: those with ``seq > skip_through``."""

    status: str  # "apply" | "replay"
    skip_through: int
    new_hwm: int


def plan(hwm: int, seq_from: int, seq_to: int) -> Plan:
    """Replays and overlaps are harmless; a gap is refused with the missing range."""
    if seq_to <= hwm:
        return Plan("replay", hwm, hwm)
    if seq_from > hwm + 1:
        raise BundleRejected("gap", f"缺少第 {hwm + 1} 至 {seq_from - 1} 号记录:请先导入更早的数据包")
    return Plan("apply", hwm, seq_to)


def check_items(items: list, seq_from: int, seq_to: int, kinds: set[str]) -> list[dict]:
    """Items must be exactly ``seq_from … seq_to`` in order, each with a known kind and data.
    Nothing is built in proportion to the declared range: a header may lie about it."""
    if seq_to - seq_from + 1 > MAX_ITEMS_PER_BUNDLE or not isinstance(items, list) or len(items) > MAX_ITEMS_PER_BUNDLE:
        raise BundleRejected("too_large", f"数据包的记录超过每包上限 {MAX_ITEMS_PER_BUNDLE} 条")
    if len(items) != max(0, seq_to - seq_from + 1) or any(
            not isinstance(i, dict) or type(i.get("seq")) is not int or i["seq"] != seq_from + n for n, i in enumerate(items)):
        raise BundleRejected("malformed", "数据包中的记录序号与包头不符")
    for item in items:
        if item.get("kind") not in kinds or not isinstance(item.get("data"), dict):
            raise BundleRejected("malformed", f"第 {item.get('seq')} 号记录类型未知或内容缺失")
    return items


def ack_of(payload: dict) -> int:
    """The payload's ``ack`` (the recipient's outbox acknowledged through), or 0 when it is not a
    sequence number at all (a bool, a string, beyond what SQLite can hold)."""
    ack = payload.get("ack")
    return ack if type(ack) is int and 0 <= ack <= MAX_SEQ else 0
