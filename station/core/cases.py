"""Cases (代办件), event-sourced: a case is the fold of its events in (stamp, id) order.

The state machine:

    received ──submit──▶ submitted ──accept──▶ accepted ──decide──▶ decided
       │                   │   ▲                  │                   │ deliver
       │                   ▼   │ resubmit         │ return            ▼
       │                 returned ◀───────────────┘               delivered ──rate──▶ rated
       └── withdraw (from received / submitted / returned / accepted) ──▶ withdrawn

A bad rating (不满意 / 非常不满意) opens a follow-up (核实、整改、回访) that must be closed: its
reason, and the 回访 and 整改 due dates computed from the rules in force, are in the rating's
payload (so later rules never move them). After 整改 the resident may rate again (追评), kept
beside the first rating; the station may appeal a rating (申诉) and only the township decides
the appeal (维持 / 撤销): an overturned rating is marked, never deleted.
``check`` says whether a new event is allowed now (used before writing); ``fold`` replays
events from any source and sets aside, as a recorded conflict, any event the state does not
allow at its place in the order — so station and township converge on the same state.
"""
from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from station.errors import FieldError


class Status(str, Enum):
    RECEIVED = "received"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    DECIDED = "decided"
    DELIVERED = "delivered"
    RATED = "rated"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.RECEIVED: "已收件", Status.SUBMITTED: "已上报乡镇", Status.ACCEPTED: "乡镇已受理",
    Status.RETURNED: "退回补正", Status.DECIDED: "已办结待送达", Status.DELIVERED: "结果已送达",
    Status.RATED: "已评价", Status.WITHDRAWN: "已撤回",
}
# Cases still running against their deadline (限时办结).
OPEN_STATUSES = (Status.RECEIVED, Status.SUBMITTED, Status.ACCEPTED, Status.RETURNED)


class EventType(str, Enum):
    RECEIVED = "received"
    NOTICE_ISSUED = "notice_issued"
    MATERIALS_ADDED = "materials_added"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted_by_township"
    RETURNED = "returned_for_correction"
    DECIDED = "decided"
    DELIVERED = "result_delivered"
    RATED = "rated"
    FOLLOW_UP_CLOSED = "follow_up_closed"
    WITHDRAWN = "withdrawn"
    NOTE = "note_added"
    DUE_CORRECTED = "due_corrected"
    ATTACHMENT_ADDED = "attachment_added"
    REVISITED = "revisited"
    FOLLOW_UP_RATED = "follow_up_rated"
    APPEALED = "rating_appealed"
    APPEAL_DECIDED = "appeal_decided"
    RATING_CLOSED = "rating_window_closed"
    FORWARDED = "forwarded_to_county"

    @property
    def label(self) -> str:
        return EVENT_LABELS[self]


EVENT_LABELS = {
    EventType.RECEIVED: "收件登记", EventType.NOTICE_ISSUED: "出具一次性告知书",
    EventType.MATERIALS_ADDED: "补交材料", EventType.SUBMITTED: "上报乡镇",
    EventType.ACCEPTED: "乡镇受理", EventType.RETURNED: "退回补正", EventType.DECIDED: "办理结果",
    EventType.DELIVERED: "结果送达", EventType.RATED: "群众评价",
    EventType.FOLLOW_UP_CLOSED: "差评整改完成", EventType.WITHDRAWN: "撤回", EventType.NOTE: "备注",
    EventType.DUE_CORRECTED: "办结期限更正", EventType.ATTACHMENT_ADDED: "附加扫描件",
    EventType.REVISITED: "差评回访", EventType.FOLLOW_UP_RATED: "追评", EventType.APPEALED: "申诉",
    EventType.APPEAL_DECIDED: "申诉复核决定", EventType.RATING_CLOSED: "评价期满未评价",
    EventType.FORWARDED: "转报县级",
}

RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_RATING_MAX = 2  # the default; the rules in force at rating time decide, see ``bad_of``
# 评价渠道, as the provincial 好差评 systems name them.
RATING_CHANNELS = ("现场评价", "二维码评价", "电话回访评价", "短信评价")
APPEAL_OUTCOMES = {"upheld": "维持原评价", "overturned": "撤销该评价"}
# The township decides these. A station writes one only to transcribe a paper decision (payload
# ``transcribed: true``, when it is not enrolled); the township's own record of the same step
# later supersedes the transcription instead of being refused as an illegal transition.
# Forwarding: an item the county decides goes on from the township once accepted; the county's
# result comes back as the township's ``decided`` event marked ``county: true``.
TOWNSHIP_EVENTS = frozenset({EventType.ACCEPTED, EventType.RETURNED, EventType.DECIDED, EventType.FORWARDED})

# event type -> statuses it may follow, and the status it leads to (None: unchanged)
_MOVES: dict[EventType, tuple[tuple[Status, ...], Status | None]] = {
    EventType.SUBMITTED: ((Status.RECEIVED, Status.RETURNED), Status.SUBMITTED),
    EventType.ACCEPTED: ((Status.SUBMITTED,), Status.ACCEPTED),
    EventType.RETURNED: ((Status.SUBMITTED, Status.ACCEPTED), Status.RETURNED),
    EventType.DECIDED: ((Status.SUBMITTED, Status.ACCEPTED), Status.DECIDED),
    EventType.DELIVERED: ((Status.DECIDED,), Status.DELIVERED),
    EventType.RATED: ((Status.DELIVERED,), Status.RATED),
    EventType.WITHDRAWN: (OPEN_STATUSES, Status.WITHDRAWN),
    # after submission only 容缺 materials, brought as promised (see _check_payload)
    EventType.MATERIALS_ADDED: ((Status.RECEIVED, Status.RETURNED, Status.SUBMITTED, Status.ACCEPTED, Status.DECIDED), None),
    EventType.NOTICE_ISSUED: ((Status.RECEIVED, Status.RETURNED), None),
    EventType.FOLLOW_UP_CLOSED: ((Status.RATED,), None),
    EventType.NOTE: (tuple(Status), None),
    EventType.DUE_CORRECTED: (OPEN_STATUSES, None),
    EventType.ATTACHMENT_ADDED: (tuple(s for s in Status if s != Status.WITHDRAWN), None),
    EventType.REVISITED: ((Status.RATED,), None),
    EventType.FOLLOW_UP_RATED: ((Status.RATED,), None),
    EventType.APPEALED: ((Status.RATED,), None),
    EventType.APPEAL_DECIDED: ((Status.RATED,), None),
    # the rules may close the rating window of a delivered case nobody rated (一次一评, within a set time)
    EventType.RATING_CLOSED: ((Status.DELIVERED,), None),
    EventType.FORWARDED: ((Status.ACCEPTED,), None),
}


class CaseEvent(BaseModel):
    """One fact about a case. Never changed after it is written."""

    model_config = ConfigDict(frozen=True)

    id: str
    case_id: str
    type: EventType
    stamp: str  # hybrid logical clock, see station.core.clock
    node: str  # station code or hub id that wrote it
    user: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class CaseState(BaseModel):
    """What the fold of a case's events says now."""

    id: str
    number: str | None = None
    status: Status | None = None
    resident_id: str | None = None
    item_code: str | None = None
    item_name: str | None = None
    catalog_version: str | None = None
    owner: str | None = None
    received_on: date | None = None
    due_on: date | None = None
    due_estimated: bool = False
    due_from: date | None = None  # the day the deadline started running
    materials_required: list[str] = Field(default_factory=list)
    materials_received: list[str] = Field(default_factory=list)
    gap_allowed: list[str] = Field(default_factory=list)
    gap_promise: date | None = None
    proxy: dict | None = None
    home_visit: bool = False
    decision: str | None = None  # "approved" | "rejected"
    # township steps that stand only on a clerk's transcription of a paper decision (event type values)
    paper: list[str] = Field(default_factory=list)
    decision_summary: str | None = None
    forwarded_on: date | None = None  # sent on to the county (its result is then recorded as decided)
    rating: int | None = None
    follow_up: str | None = None  # None | "open" | "closed"
    rating_on: date | None = None
    rating_channel: str | None = None
    bad_reason: dict | None = None  # {"category": ..., "text": ...}
    revisit_due: date | None = None
    rectify_due: date | None = None
    revisited_on: date | None = None
    rectified_on: date | None = None
    rectification: str | None = None
    follow_up_rating: int | None = None  # 追评, beside the first rating
    follow_up_rating_on: date | None = None
    appeal: str | None = None  # None | "pending" | "upheld" | "overturned"
    appeal_grounds: str | None = None
    appeal_reason: str | None = None  # the township's reasons for its decision
    rating_closed_on: date | None = None  # the rating window closed unrated (rules: unrated_close_days)
    returned_reason: str | None = None
    withdrawn_reason: str | None = None
    updated_stamp: str | None = None
    event_count: int = 0
    conflicts: list[dict] = Field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [m for m in self.materials_required if m not in self.materials_received]

    @property
    def missing_essential(self) -> list[str]:
        return [m for m in self.missing if m not in self.gap_allowed or self.gap_promise is None]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def gap_outstanding(self) -> list[str]:
        """Materials accepted with gaps (容缺) and still not brought."""
        return self.missing if self.gap_promise is not None else []

    def gap_overdue(self, today: date) -> bool:
        """The promised date passed without the materials (the case is chased on 今日)."""
        return bool(self.gap_outstanding) and self.gap_promise < today and self.status in OPEN_STATUSES + (Status.DECIDED,)

    @property
    def rating_overturned(self) -> bool:
        return self.appeal == "overturned"

    def follow_up_overdue(self, today: date) -> list[str]:
        """Which steps of an open bad-rating follow-up are past their due date (回访, 整改)."""
        if self.follow_up != "open" or self.rating_overturned:
            return []
        late = []
        if self.revisited_on is None and self.revisit_due is not None and self.revisit_due < today:
            late.append("回访")
        if self.rectify_due is not None and self.rectify_due < today:
            late.append("整改")
        return late


def check(state: CaseState | None, etype: EventType, payload: dict) -> list[FieldError]:
    """Why this event may not be added now; empty if it may. Pure."""
    if etype == EventType.RECEIVED:
        return [FieldError("type", "already_received", "该件已登记")] if state and state.status else []
    if state is None or state.status is None:
        return [FieldError("case", "not_received", "该件尚未登记")]
    allowed_from, _ = _MOVES[etype]
    if supersedes_paper(state, etype, payload):
        return _check_payload(state, etype, payload)
    if state.status not in allowed_from:
        return [FieldError("type", "illegal_transition",
                           f"当前状态“{state.status.label}”下不能进行“{etype.label}”")]
    return _check_payload(state, etype, payload)


def is_transcribed(payload: dict) -> bool:
    return payload.get("transcribed") is True


def supersedes_paper(state: CaseState, etype: EventType, payload: dict) -> bool:
    """The township's own record of a step the clerk had transcribed from paper: it replaces the
    transcription's details and never counts as an illegal transition."""
    return etype in TOWNSHIP_EVENTS and not is_transcribed(payload) and etype.value in state.paper


def _require_text(payload: dict, key: str, message: str) -> list[FieldError]:
    value = payload.get(key)
    return [] if isinstance(value, str) and value.strip() else [FieldError(key, "required", message)]


def _check_payload(state: CaseState, etype: EventType, p: dict) -> list[FieldError]:
    if etype == EventType.SUBMITTED and state.missing_essential:
        return [FieldError("materials", "materials_missing",
                           "材料未齐,不能上报:" + "、".join(state.missing_essential))]
    if etype == EventType.MATERIALS_ADDED:
        names = p.get("materials") or []
        unknown = [n for n in names if n not in state.materials_required]
        if not names:
            return [FieldError("materials", "required", "请选择补交的材料")]
        if unknown:
            return [FieldError("materials", "unknown_material", "该事项不需要这些材料:" + "、".join(unknown))]
        if state.status not in (Status.RECEIVED, Status.RETURNED):
            late = [n for n in names if n not in state.gap_outstanding]
            if late:
                return [FieldError("type", "illegal_transition",
                                   f"当前状态“{state.status.label}”下只能补交容缺受理时承诺的材料(" + "、".join(late) + " 不在其中)")]
    if etype == EventType.FORWARDED and state.forwarded_on is not None:
        return [FieldError("type", "already_forwarded", f"该件已于 {state.forwarded_on} 转报县级")]
    if etype == EventType.DECIDED:
        errors = []
        if p.get("county") is True and state.forwarded_on is None:
            errors.append(FieldError("county", "not_forwarded", "该件未转报县级,不能登记县级办理结果"))
        if p.get("outcome") not in ("approved", "rejected"):
            errors.append(FieldError("outcome", "bad_outcome", "办理结果应为“准予”或“不予”"))
        return errors + _require_text(p, "summary", "请填写办理结果说明")
    if etype == EventType.RETURNED:
        return _require_text(p, "reason", "请填写退回原因")
    if etype == EventType.WITHDRAWN:
        return _require_text(p, "reason", "请填写撤回原因")
    if etype == EventType.DELIVERED:
        if p.get("method") not in DELIVERY_METHODS:
            return [FieldError("method", "bad_method", "送达方式应为:" + "、".join(DELIVERY_METHODS))]
    if etype == EventType.RATING_CLOSED and state.rating_closed_on is not None:
        return [FieldError("type", "already_closed", "该件评价期已结束")]
    if etype == EventType.RATED and state.rating_closed_on is not None:
        return [FieldError("type", "rating_closed", f"评价期已于 {state.rating_closed_on} 结束,未评价")]
    if etype in (EventType.RATED, EventType.FOLLOW_UP_RATED):
        if type(p.get("level")) is not int or p.get("level") not in RATING_LABELS:
            return [FieldError("level", "bad_rating", "评价应为1至5级(5=非常满意,1=非常不满意)")]
        if p.get("channel") is not None and p.get("channel") not in RATING_CHANNELS:
            return [FieldError("channel", "bad_channel", "评价渠道应为:" + "、".join(RATING_CHANNELS))]
        if etype == EventType.RATED and p.get("bad") is True:
            return _check_reason(p.get("reason"))
        if etype == EventType.FOLLOW_UP_RATED:
            if state.rectified_on is None:
                return [FieldError("type", "not_rectified", "差评整改完成后才能追评")]
            if state.follow_up_rating is not None:
                return [FieldError("type", "already_rated", "该件已有追评(一次一评)")]
    if etype == EventType.REVISITED:
        if state.follow_up != "open":
            return [FieldError("follow_up", "no_follow_up", "该件没有待处理的差评回访")]
        if state.revisited_on is not None:
            return [FieldError("type", "already_revisited", "该差评已回访")]
        return _require_text(p, "result", "请填写回访情况")
    if etype == EventType.APPEALED:
        if state.rating is None or state.follow_up is None:
            return [FieldError("type", "not_rated", "只有差评可以申诉")]
        if state.appeal is not None:
            return [FieldError("type", "already_appealed", "该评价已申诉过")]
        return _require_text(p, "grounds", "请填写申诉理由")
    if etype == EventType.APPEAL_DECIDED:
        if state.appeal != "pending":
            return [FieldError("type", "no_appeal", "该件没有待复核的申诉")]
        if p.get("outcome") not in APPEAL_OUTCOMES:
            return [FieldError("outcome", "bad_outcome", "复核结果应为“维持”或“撤销”")]
        return _require_text(p, "reason", "请填写复核理由")
    if etype == EventType.FOLLOW_UP_CLOSED:
        if state.follow_up != "open":
            return [FieldError("follow_up", "no_follow_up", "该件没有待处理的差评回访")]
        return (_require_text(p, "verification", "请填写核实情况") + _require_text(p, "rectification", "请填写整改情况")
                + _require_text(p, "revisit", "请填写回访结果"))
    if etype == EventType.NOTE:
        return _require_text(p, "text", "备注不能为空")
    if etype == EventType.ATTACHMENT_ADDED:
        return _require_text(p, "attachment_id", "缺少附件编号") + _require_text(p, "name", "缺少文件名")
    if etype == EventType.DUE_CORRECTED:
        try:
            date.fromisoformat(str(p.get("due_on")))
        except ValueError:
            return [FieldError("due_on", "bad_date", "更正后的期限格式不正确")]
        return _require_text(p, "reason", "请填写期限更正原因")
    return []


DELIVERY_METHODS = ("当面领取", "电话告知", "上门送达", "邮寄")


def _check_reason(reason: object) -> list[FieldError]:
    """A 差评 needs its reason: one of the categories, and words of its own for 其他."""
    from station.core.rules import BAD_REASON_CATEGORIES
    if not isinstance(reason, dict) or reason.get("category") not in BAD_REASON_CATEGORIES:
        return [FieldError("reason", "reason_required", "差评须选择原因:" + "、".join(BAD_REASON_CATEGORIES))]
    text = reason.get("text")
    if text is not None and not isinstance(text, str):
        return [FieldError("reason.text", "bad_text", "差评原因说明应为文字")]
    if reason["category"] == "其他" and not (text or "").strip():
        return [FieldError("reason.text", "required", "原因选“其他”时请写明具体原因")]
    return []


def bad_of(payload: dict) -> bool:
    """Whether a rating is a 差评: as the rules said when it was recorded (older ratings: the default)."""
    if isinstance(payload.get("bad"), bool):
        return payload["bad"]
    return payload["level"] <= BAD_RATING_MAX


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None


def apply(state: CaseState, event: CaseEvent) -> CaseState:
    """The state after one event; an event the state does not allow is set aside as a conflict."""
    # A shallow copy with fresh lists: states are never mutated after they are returned.
    s = state.model_copy(update={"materials_received": list(state.materials_received),
                                 "conflicts": list(state.conflicts), "paper": list(state.paper)})
    _advance(s, event)
    return s


def _advance(s: CaseState, event: CaseEvent) -> None:
    """``apply`` in place, on a state nobody else holds (``fold``'s own, or ``apply``'s fresh copy)."""
    p = event.payload
    problems = check(s if s.status else None, event.type, p)
    if event.type == EventType.APPEAL_DECIDED and s.number and event.node == s.number.split("-")[0]:
        # the case's own station wrote it (sync.policy refuses it too): both sides set it aside alike
        problems = [FieldError("node", "township_only", "申诉复核决定只能由乡镇作出")]
    s.event_count += 1
    s.updated_stamp = event.stamp
    if problems:
        s.conflicts.append({"event_id": event.id, "type": event.type.value,
                            "reason": "; ".join(e.message for e in problems)})
        return
    if event.type == EventType.RECEIVED:
        s.status = Status.RECEIVED
        s.number = p["number"]
        s.resident_id = p["resident_id"]
        s.item_code, s.item_name = p["item_code"], p.get("item_name")
        s.catalog_version = p.get("catalog_version")
        s.owner = p["owner"]
        s.received_on = date.fromisoformat(p["received_on"])
        s.due_on = date.fromisoformat(p["due_on"]) if p.get("due_on") else None
        s.due_estimated = bool(p.get("due_estimated"))
        s.due_from = s.received_on if s.due_on else None
        s.materials_required = list(p.get("materials_required", []))
        s.materials_received = list(p.get("materials_received", []))
        s.gap_allowed = list(p.get("gap_allowed", []))
        s.gap_promise = date.fromisoformat(p["gap_promise"]) if p.get("gap_promise") else None
        s.proxy = p.get("proxy")
        s.home_visit = bool(p.get("home_visit"))
        return
    _, to = _MOVES[event.type]
    if event.type in TOWNSHIP_EVENTS:
        if is_transcribed(p):
            s.paper.append(event.type.value)
        elif event.type.value in s.paper:
            s.paper.remove(event.type.value)
            to = None  # the township confirms or corrects a step already taken on paper
    if to is not None:
        s.status = to
    if event.type == EventType.MATERIALS_ADDED:
        s.materials_received += [m for m in p["materials"] if m not in s.materials_received]
        if p.get("due_on"):  # the case became complete: the deadline runs from that day
            s.due_on = date.fromisoformat(p["due_on"])
            s.due_estimated = bool(p.get("due_estimated"))
            s.due_from = date.fromisoformat(p["on"])
    elif event.type == EventType.DUE_CORRECTED:
        s.due_on = date.fromisoformat(p["due_on"])
        s.due_estimated = bool(p.get("due_estimated"))
    elif event.type == EventType.RETURNED:
        s.returned_reason = p["reason"]
    elif event.type == EventType.DECIDED:
        s.decision, s.decision_summary = p["outcome"], p["summary"]
    elif event.type == EventType.FORWARDED:
        s.forwarded_on = date.fromisoformat(p["on"]) if p.get("on") else None
    elif event.type == EventType.RATED:
        s.rating = p["level"]
        s.rating_on, s.rating_channel = _day(p.get("on")), p.get("channel")
        s.follow_up = "open" if bad_of(p) else None
        if s.follow_up:
            s.bad_reason = p.get("reason")
            s.revisit_due, s.rectify_due = _day(p.get("revisit_due")), _day(p.get("rectify_due"))
    elif event.type == EventType.FOLLOW_UP_CLOSED:
        s.follow_up = "closed"
        s.rectified_on = _day(p.get("on")) or s.rating_on
        s.revisited_on = s.revisited_on or s.rectified_on
        s.rectification = p.get("rectification")
    elif event.type == EventType.REVISITED:
        s.revisited_on = _day(p.get("on")) or s.rating_on
    elif event.type == EventType.FOLLOW_UP_RATED:
        s.follow_up_rating, s.follow_up_rating_on = p["level"], _day(p.get("on"))
    elif event.type == EventType.APPEALED:
        s.appeal, s.appeal_grounds = "pending", p["grounds"]
    elif event.type == EventType.RATING_CLOSED:
        s.rating_closed_on = _day(p.get("on"))
    elif event.type == EventType.APPEAL_DECIDED:
        s.appeal, s.appeal_reason = p["outcome"], p["reason"]
    elif event.type == EventType.WITHDRAWN:
        s.withdrawn_reason = p["reason"]


def sort_key(event: CaseEvent) -> tuple[str, str]:
    return (event.stamp, event.id)


def fold(case_id: str, events: list[CaseEvent]) -> CaseState:
    state = CaseState(id=case_id)
    for event in sorted(events, key=sort_key):
        _advance(state, event)
    return state


def is_overdue(state: CaseState, today: date) -> bool:
    return state.is_open and state.due_on is not None and state.due_on < today
