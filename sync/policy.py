"""Who may write what (pure: no store, no transport) — the trust boundary between stations and the hub.

The hub and the station both ask this module about every item they receive, after gathering the few
facts it needs from their stores (who already owns an id, which station a case belongs to). What it
refuses is quarantined by the caller with the reason given here; it never blocks the rest of a bundle.

The rules, per author:
- a **station** writes only its own records: its cases (numbers carry its code, case ids are UUIDs),
  its residents, scans, ledger entries, infrastructure events, notices and objections. An id first
  written by one station can never be changed by another.
- the **township hub** writes its decisions on cases (accept, return, decide, notes), the catalog, the
  calendar, subsidy lists and notices, and sends a station's own records back when it is rebuilt.
- a station that is not enrolled (a township that decides on paper) may transcribe the township's
  paper decision: such an event is marked ``transcribed`` (author ``station_paper``), and the case
  fold never lets it override the township's own record (see ``station.core.cases``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from station.core.cases import TOWNSHIP_EVENTS, EventType

STATION, STATION_PAPER, HUB = "station", "station_paper", "hub"
AUTHORS = (STATION, STATION_PAPER, HUB)

# Item kind → who may send it. Restore items are a station's own records coming back from the hub.
KIND_AUTHORS: dict[str, frozenset[str]] = {
    "resident": frozenset({STATION}),
    "event": frozenset({STATION, HUB}),
    "attachment": frozenset({STATION}),
    "ledger_entry": frozenset({STATION}),
    "infra_event": frozenset({STATION}),
    "notice": frozenset({STATION, HUB}),
    "objection": frozenset({STATION}),
    "catalog": frozenset({HUB}),
    "calendar": frozenset({HUB}),
    "rules": frozenset({HUB}),
    "ledger_list": frozenset({HUB}),
    "restore": frozenset({HUB}),
}
# What a restore item may carry: the kinds a station sends up.
RESTORE_KINDS = frozenset(k for k, who in KIND_AUTHORS.items() if STATION in who)

# Case event type → who may write it. The township decides; the station does everything else.
# An appeal of a rating (申诉) is decided by the township alone: no station, not even from paper.
EVENT_AUTHORS: dict[EventType, frozenset[str]] = {
    t: (frozenset({HUB, STATION_PAPER}) if t in TOWNSHIP_EVENTS
        else frozenset({HUB}) if t == EventType.APPEAL_DECIDED
        else frozenset({STATION, HUB}) if t == EventType.NOTE
        else frozenset({STATION}))
    for t in EventType
}

REASONS = {
    "kind": "{who}不能发送“{kind}”类记录",
    "owner": "该记录属于服务站 {owner},{sender} 不能修改",
    "node": "事件的来源({node})与发送方({sender})不符",
    "event_author": "“{label}”只能由{allowed}记录",
    "number": "代办件编号 {number} 不属于服务站 {sender}",
    "case_id": "代办件编号格式不对(应为系统生成的编号)",
    "case_owner": "事件所属的代办件属于服务站 {owner},{sender} 不能修改",
    "no_case": "事件所属的代办件在乡镇不存在",
    "paper_late": "本站已在乡镇登记联网:乡镇的受理、退回和办理结果由乡镇记录,不接受服务站登记后录入的纸质决定",
    "number_taken": "代办件编号 {number} 已被本站另一件使用(本站可能从较早的备份恢复过):请与乡镇核对后重新收件",
}
_WHO = {STATION: "服务站", STATION_PAPER: "服务站(据纸质文书录入)", HUB: "乡镇"}


@dataclass(frozen=True)
class Facts:
    """What the receiver's store knows about the item's ids (gathered by the caller)."""

    owner: str | None = None  # the station that first wrote this id (None: new here)
    case_owner: str | None = None  # for events and scans: the station whose case it is (None: no such case)
    number_case: str | None = None  # for a new case: the id of the case already holding its number, if any
    paper_allowed: bool = False  # the item was made before the station enrolled (a paper decision may be in it)


def _refuse(code: str, **kw) -> str:
    return REASONS[code].format(**kw)


def event_author(node: str, payload: dict, hub_id: str) -> str:
    """The author of a case event, from its node and whether it was transcribed from paper."""
    if node == hub_id:
        return HUB
    return STATION_PAPER if payload.get("transcribed") is True else STATION


def is_case_id(value: object) -> bool:
    """Case ids are UUIDs, so no id can pass for another station's printed case number."""
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def may_send(author: str, kind: str) -> str | None:
    """Whether this author may send this kind of item at all; the reason if not."""
    if author not in KIND_AUTHORS.get(kind, frozenset()):
        return _refuse("kind", who=_WHO.get(author, author), kind=kind)
    return None


def may_write_event(author: str, etype: EventType) -> str | None:
    allowed = EVENT_AUTHORS[etype]
    if author not in allowed:
        return _refuse("event_author", label=etype.label, allowed="、".join(_WHO[a] for a in AUTHORS if a in allowed))
    return None


def judge_from_station(sender: str, kind: str, data: dict, facts: Facts, hub_id: str) -> str | None:
    """The hub's question about one item a station sent: ``None`` to apply it, else the reason to set it aside."""
    reason = may_send(STATION, kind)
    if reason:
        return reason
    if facts.owner not in (None, sender):
        return _refuse("owner", owner=facts.owner, sender=sender)
    if kind == "attachment":  # a scan belongs to a case of the sender, which reached the hub before it
        if facts.case_owner is None:
            return _refuse("no_case")
        return None if facts.case_owner == sender else _refuse("case_owner", owner=facts.case_owner, sender=sender)
    if kind != "event":
        return None
    node, etype, payload = data["node"], EventType(data["type"]), data.get("payload") or {}
    if node != sender:
        return _refuse("node", node=node, sender=sender)
    author = event_author(node, payload, hub_id)
    reason = may_write_event(author, etype)
    if reason:
        return reason
    if author == STATION_PAPER and not facts.paper_allowed:
        return _refuse("paper_late")
    if etype == EventType.RECEIVED:
        if not is_case_id(data.get("case_id")):
            return _refuse("case_id")
        number = str(payload.get("number", ""))
        if not number.startswith(sender + "-"):
            return _refuse("number", number=number, sender=sender)
        if facts.case_owner not in (None, sender):
            return _refuse("case_owner", owner=facts.case_owner, sender=sender)
        if facts.number_case not in (None, data["case_id"]):
            return _refuse("number_taken", number=number)
        return None
    if facts.case_owner is None:
        return _refuse("no_case")
    if facts.case_owner != sender:
        return _refuse("case_owner", owner=facts.case_owner, sender=sender)
    return None


def judge_from_hub(me: str, hub_id: str, kind: str, data: dict, facts: Facts) -> str | None:
    """The station's question about one item the hub sent: ``None`` to apply it, else the reason."""
    reason = may_send(HUB, kind)
    if reason:
        return reason
    if kind == "notice" and facts.owner not in (None, hub_id):
        return _refuse("owner", owner=facts.owner, sender="乡镇")
    if kind == "event":
        node, etype, payload = data["node"], EventType(data["type"]), data.get("payload") or {}
        if node != hub_id:
            return _refuse("node", node=node, sender=hub_id)
        if payload.get("transcribed") is not None:
            return _refuse("event_author", label=etype.label, allowed=_WHO[HUB])
        return may_write_event(HUB, etype)
    if kind == "restore":
        inner, record = data.get("kind"), data.get("data")
        if inner not in RESTORE_KINDS or not isinstance(record, dict):
            return _refuse("kind", who=_WHO[HUB], kind=f"恢复/{inner}")
        if inner == "event":
            if record.get("node") not in (me, hub_id):
                return _refuse("node", node=record.get("node"), sender=me)
            if record.get("type") == EventType.RECEIVED.value and \
                    not str((record.get("payload") or {}).get("number", "")).startswith(me + "-"):
                return _refuse("number", number=(record.get("payload") or {}).get("number"), sender=me)
    return None
