"""The infrastructure ledger (农村基础设施建设): project, funding source, budget, contractor,
progress, payments and acceptance — as append-only events per project, folded into its state.

Rules: payments never exceed the budget; acceptance (验收) only once the work is at 100 %;
nothing recorded is edited — a wrong payment is reversed by a new, visible entry with a reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import InvalidOperation

from ledgers.rules import decimal_of
from station.core.ids import new_id
from station.core.money import format_fen, to_fen, yuan
from station.errors import FieldError, NotFound, ValidationFailed
from station.services import audit, outbox
from station.services.session import Session

STATUS = {"planned": "规划", "building": "在建", "finished": "已完工", "accepted": "已验收"}


@dataclass
class Project:
    id: str
    name: str = ""
    funding_source: str = ""
    budget_fen: int = 0
    contractor: str = ""
    progress: int = 0
    paid_fen: int = 0
    status: str = "planned"
    accepted_on: str | None = None
    payments: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**vars(self), "budget": format_fen(self.budget_fen), "paid": format_fen(self.paid_fen),
                "remaining": format_fen(self.budget_fen - self.paid_fen), "status_label": STATUS[self.status]}


def fold(project_id: str, events: list[dict]) -> Project:
    p = Project(project_id)
    for e in events:
        d = e["payload"]
        p.history.append({"type": e["type"], "on": d.get("on"), "author": e["author"], **d})
        if e["type"] == "created":
            p.name, p.funding_source, p.budget_fen, p.contractor = d["name"], d["funding_source"], d["budget_fen"], d.get("contractor", "")
        elif e["type"] == "progress":
            p.progress = d["percent"]
            p.status = "finished" if d["percent"] == 100 else "building"
        elif e["type"] == "payment":
            p.paid_fen += d["amount_fen"]
            p.payments.append({"id": e["id"], **d})
        elif e["type"] == "acceptance":
            p.status, p.accepted_on = "accepted", d["on"]
    return p


def _events(session: Session, project_id: str) -> list[dict]:
    rows = session.store.query("SELECT id, type, payload, author FROM infra_events WHERE project_id = ? ORDER BY seq", (project_id,))
    return [{**r, "payload": json.loads(r["payload"])} for r in rows]


def get(session: Session, project_id: str) -> Project:
    full = session.store.resolve_id("infra_events", "project_id", project_id)
    events = _events(session, full) if full else []
    if not events:
        raise NotFound("没有找到该项目")
    return fold(full, events)


def _write(session: Session, project_id: str, etype: str, payload: dict) -> str:
    eid = new_id()
    with session.store.transaction() as db:
        db.execute("INSERT INTO infra_events (id, project_id, type, payload, author, created_at) VALUES (?,?,?,?,?,?)",
                   (eid, project_id, etype, json.dumps(payload, ensure_ascii=False), session.user.username, audit.now_iso()))
        outbox.add(db, "infra_event", eid)
        audit.record(db, session.user.username, f"infra.{etype}", project_id, {k: v for k, v in payload.items() if k != "note"})
    return eid


def _money(text: str, field_name: str, label: str) -> int:
    try:
        fen = to_fen(yuan(decimal_of(text)))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{label}有误", [FieldError(field_name, "not_a_number", f"{label}“{text}”不是数字")]) from None
    if fen <= 0:
        raise ValidationFailed(f"{label}有误", [FieldError(field_name, "not_positive", f"{label}应大于0")])
    return fen


def _day(text: str | None, today: date) -> str:
    try:
        day = date.fromisoformat(text) if text else today
    except ValueError:
        raise ValidationFailed("日期有误", [FieldError("on", "bad_date", "日期格式应为 年-月-日")]) from None
    if day > today:
        raise ValidationFailed("日期有误", [FieldError("on", "future", "日期不能晚于今天")])
    return day.isoformat()


def create(session: Session, name: str, funding_source: str, budget: str, contractor: str = "") -> str:
    problems = [FieldError(f, "required", f"{label}不能为空") for f, label, v in
                (("name", "项目名称", name), ("funding_source", "资金来源", funding_source)) if not (v or "").strip()]
    if problems:
        raise ValidationFailed("项目信息不完整", problems)
    project_id = new_id()
    _write(session, project_id, "created", {"name": name.strip(), "funding_source": funding_source.strip(),
                                            "budget_fen": _money(budget, "budget", "预算"), "contractor": (contractor or "").strip(),
                                            "on": session.today().isoformat()})
    return project_id


def progress(session: Session, project_id: str, percent: int, note: str = "", on: str | None = None) -> Project:
    p = get(session, project_id)
    if p.status == "accepted":
        raise ValidationFailed("项目已验收", [FieldError("percent", "accepted", "已验收的项目不再记录进度")])
    if not 0 <= percent <= 100:
        raise ValidationFailed("进度有误", [FieldError("percent", "out_of_range", "进度应在 0 至 100 之间")])
    _write(session, p.id, "progress", {"percent": percent, "note": note, "on": _day(on, session.today())})
    return get(session, p.id)


def pay(session: Session, project_id: str, amount: str, payee: str, on: str | None = None, reason: str = "") -> Project:
    """A payment; a negative amount is a reversal and needs a reason."""
    p = get(session, project_id)
    try:
        fen = to_fen(yuan(decimal_of(amount)))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("付款金额有误", [FieldError("amount", "not_a_number", f"金额“{amount}”不是数字")]) from None
    if fen == 0:
        raise ValidationFailed("付款金额有误", [FieldError("amount", "zero", "金额不能为0")])
    if fen < 0 and not reason.strip():
        raise ValidationFailed("冲减须写明原因", [FieldError("reason", "required", "冲减付款必须写明原因")])
    if p.paid_fen + fen > p.budget_fen:
        raise ValidationFailed("超出预算", [FieldError("amount", "over_budget",
                               f"累计付款将达 {format_fen(p.paid_fen + fen)} 元,超过预算 {format_fen(p.budget_fen)} 元")])
    if p.paid_fen + fen < 0:
        raise ValidationFailed("冲减过多", [FieldError("amount", "negative_total", "冲减后累计付款不能为负")])
    if not (payee or "").strip():
        raise ValidationFailed("请填写收款单位", [FieldError("payee", "required", "请填写收款单位或个人")])
    _write(session, p.id, "payment", {"amount_fen": fen, "payee": payee.strip(), "reason": reason.strip() or None,
                                      "on": _day(on, session.today())})
    return get(session, p.id)


def accept(session: Session, project_id: str, note: str, on: str | None = None) -> Project:
    session.require_supervisor("记录项目验收")
    p = get(session, project_id)
    if p.status == "accepted":
        raise ValidationFailed("项目已验收", [FieldError("project", "accepted", "该项目已验收")])
    if p.progress < 100:
        raise ValidationFailed("工程未完工", [FieldError("project", "not_finished", f"工程进度 {p.progress}%:完工后才能验收")])
    if not (note or "").strip():
        raise ValidationFailed("请填写验收意见", [FieldError("note", "required", "请填写验收意见")])
    _write(session, p.id, "acceptance", {"note": note.strip(), "on": _day(on, session.today())})
    return get(session, p.id)


def projects(session: Session) -> list[Project]:
    ids = [r["project_id"] for r in session.store.query(
        "SELECT project_id, min(seq) AS first FROM infra_events GROUP BY project_id ORDER BY first")]
    return [fold(pid, _events(session, pid)) for pid in ids]
