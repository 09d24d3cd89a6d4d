"""The bulletin (九个一): the station's public profile with its checklist, and the notice board.

Notices (公示 and 公告) are drafts until published with a posting period (a 公示 at least as long as
the county's rules say); a published notice does not change. During the posting period objections
(异议) are recorded — who, what, when — each with the date it must be answered by (working days per
the rules in force when it was recorded), and every one must be answered before the notice can be
archived. Notices and objections go up to the
township with the next bundle; the township's own notices come down onto the board.
"""
from __future__ import annotations

import json
from datetime import date

from station.core.bulletin import DEFAULT_RULES, Facts, checklist
from station.core.identity import check_phone
from station.core.ids import new_id
from station.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from station.services import audit, outbox, settings, users
from station.services.session import Session

KINDS = ("公示", "公告")
PROFILE_FIELDS = ("name", "address", "hours", "market_day_hours", "phone", "rules", "clerks_on_duty", "one_stop")


def profile(session: Session) -> dict:
    row = session.store.one("SELECT data FROM profile_versions ORDER BY seq DESC LIMIT 1")
    current = json.loads(row["data"]) if row else {}
    defaults = {"name": session.station_name, "address": "", "hours": "", "market_day_hours": "",
                "phone": settings.station_phone(session) or "", "rules": dict(DEFAULT_RULES),
                "clerks_on_duty": [u["display_name"] for u in users.list_users(session) if u["active"] and u["role"] == "clerk"],
                "one_stop": ""}
    return {**defaults, **current}


def set_profile(session: Session, **changes) -> dict:
    """A new version of the profile (the old ones stay); the phone also goes on receipts."""
    session.require_supervisor("修改服务站信息")
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed("未知的项目", [FieldError(k, "unknown", f"没有“{k}”这一项;可设置:{'、'.join(PROFILE_FIELDS)}") for k in unknown])
    new = {**profile(session), **changes}
    if changes.get("phone"):
        checked = check_phone(changes["phone"], "phone")
        if isinstance(checked, FieldError):
            raise ValidationFailed("电话号码无效", [checked])
        new["phone"] = checked
    if "rules" in changes and not isinstance(changes["rules"], dict):
        raise ValidationFailed("制度格式不对", [FieldError("rules", "not_object", "制度应为“名称: 内容”的集合")])
    with session.store.transaction() as db:
        db.execute("INSERT INTO profile_versions (data, author, at) VALUES (?, ?, ?)",
                   (json.dumps(new, ensure_ascii=False), session.user.username, audit.now_iso()))
        if new.get("phone"):
            db.execute("INSERT INTO settings (key, value) VALUES ('station_phone', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       (new["phone"],))
        audit.record(db, session.user.username, "bulletin.profile", None, {"changed": sorted(changes)})
    return new


def check(session: Session) -> list:
    s = session.store
    facts = Facts(clerks_active=s.scalar("SELECT count(*) FROM users WHERE active = 1"),
                  ledger_entries=s.scalar("SELECT count(*) FROM ledger_entries"),
                  infra_projects=s.scalar("SELECT count(DISTINCT project_id) FROM infra_events"),
                  notices_published=s.scalar("SELECT count(*) FROM notices WHERE status != 'draft'"),
                  catalog_items=len(session.catalog.items))
    return checklist(profile(session), facts)


# --- notices ------------------------------------------------------------------------------
def _notice(session: Session, notice_id: str) -> dict:
    full = session.store.resolve_id("notices", "id", notice_id)
    row = session.store.one("SELECT * FROM notices WHERE id = ?", (full,)) if full else None
    if row is None:
        raise NotFound("没有找到该公示或公告")
    return row


def _period(posting_from, posting_to) -> tuple[str, str]:
    try:
        start, end = date.fromisoformat(str(posting_from)), date.fromisoformat(str(posting_to))
    except ValueError:
        raise ValidationFailed("公示期有误", [FieldError("posting_period", "bad_date", "公示期的日期格式应为 年-月-日")]) from None
    if end < start:
        raise ValidationFailed("公示期有误", [FieldError("posting_period", "reversed", "公示截止日期不能早于开始日期")])
    return start.isoformat(), end.isoformat()


def new_notice(session: Session, kind: str, title: str, body: str, posting: dict | None = None) -> str:
    problems = []
    if kind not in KINDS:
        problems.append(FieldError("kind", "bad_kind", "类型应为 公示 或 公告"))
    if not (title or "").strip():
        problems.append(FieldError("title", "required", "标题不能为空"))
    if not (body or "").strip() and not posting:
        problems.append(FieldError("body", "required", "内容不能为空"))
    if problems:
        raise ValidationFailed("公示内容不完整", problems)
    nid = new_id()
    with session.store.transaction() as db:
        db.execute("INSERT INTO notices (id, kind, title, body, status, source, posting, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                   (nid, kind, title.strip(), (body or "").strip(), "draft", "station",
                    json.dumps(posting, ensure_ascii=False) if posting else None, session.user.username, audit.now_iso()))
        audit.record(db, session.user.username, "notice.new", nid, {"kind": kind, "title": title.strip()})
    return nid


def edit_notice(session: Session, notice_id: str, title: str | None = None, body: str | None = None) -> None:
    n = _notice(session, notice_id)
    if n["status"] != "draft":
        raise IllegalTransition("已发布的公示不能修改", [FieldError("status", "published", "已发布的公示不能修改;如有错误请发布更正公告")])
    with session.store.transaction() as db:
        db.execute("UPDATE notices SET title = coalesce(?, title), body = coalesce(?, body) WHERE id = ?", (title, body, n["id"]))
        audit.record(db, session.user.username, "notice.edit", n["id"], {})


def publish(session: Session, notice_id: str, posting_from=None, posting_to=None) -> dict:
    """Publish a draft with its posting period (required); it then goes up to the township."""
    n = _notice(session, notice_id)
    if n["status"] != "draft":
        raise IllegalTransition("只能发布草稿", [FieldError("status", "not_draft", "该公示已发布或已归档")])
    if not posting_from or not posting_to:
        raise ValidationFailed("缺少公示期", [FieldError("posting_period", "required", "发布公示必须填写公示期(开始和截止日期)")])
    start, end = _period(posting_from, posting_to)
    if end < session.today().isoformat():
        raise ValidationFailed("公示期已过", [FieldError("posting_period", "past", "公示截止日期不能早于今天")])
    rules = session.rules()
    if n["kind"] == "公示" and not rules.posting_long_enough(date.fromisoformat(start), date.fromisoformat(end)):
        raise ValidationFailed("公示期太短", [FieldError("posting_period", "too_short",
                                                      f"公示期不得少于 {rules.posting_min_days} 天(考核规则 {rules.version})")])
    with session.store.transaction() as db:
        db.execute("UPDATE notices SET status = 'published', posting_from = ?, posting_to = ?, published_at = ? WHERE id = ?",
                   (start, end, audit.now_iso(), n["id"]))
        outbox.add(db, "notice", n["id"])
        audit.record(db, session.user.username, "notice.publish", n["id"], {"from": start, "to": end})
    return _notice(session, n["id"])


def add_objection(session: Session, notice_id: str, who: str, what: str, on: str | None = None) -> str:
    n = _notice(session, notice_id)
    day = on or session.today().isoformat()
    problems = [FieldError(f, "required", m) for f, v, m in (("who", who, "请填写提出异议的人"), ("what", what, "请填写异议内容"))
                if not (v or "").strip()]
    if problems:
        raise ValidationFailed("异议内容不完整", problems)
    if n["status"] != "published" or not (n["posting_from"] <= day <= n["posting_to"]):
        raise IllegalTransition("不在公示期内", [FieldError("on", "outside_period",
                                                         f"异议应在公示期 {n['posting_from']} 至 {n['posting_to']} 内提出")])
    oid = new_id()
    # fixed now, from the rules in force: a later change of the rules never moves it
    due = session.rules().objection_due(date.fromisoformat(day), session.calendar()).due.isoformat()
    with session.store.transaction() as db:
        db.execute("INSERT INTO objections (id, notice_id, who, what, on_day, recorded_by, recorded_at, answer_due) VALUES (?,?,?,?,?,?,?,?)",
                   (oid, n["id"], who.strip(), what.strip(), day, session.user.username, audit.now_iso(), due))
        outbox.add(db, "objection", oid)
        audit.record(db, session.user.username, "objection.add", n["id"], {"objection": oid})
    return oid


def answer_objection(session: Session, objection_id: str, answer: str) -> None:
    full = session.store.resolve_id("objections", "id", objection_id)
    row = session.store.one("SELECT * FROM objections WHERE id = ?", (full,)) if full else None
    if row is None:
        raise NotFound("没有找到该异议")
    if row["answer"]:
        raise IllegalTransition("该异议已答复", [FieldError("answer", "answered", "该异议已答复")])
    if not (answer or "").strip():
        raise ValidationFailed("请填写答复", [FieldError("answer", "required", "答复内容不能为空")])
    with session.store.transaction() as db:
        db.execute("UPDATE objections SET answer = ?, answered_by = ?, answered_on = ? WHERE id = ?",
                   (answer.strip(), session.user.username, session.today().isoformat(), row["id"]))
        outbox.add(db, "objection", row["id"])
        audit.record(db, session.user.username, "objection.answer", row["notice_id"], {"objection": row["id"]})


def archive(session: Session, notice_id: str) -> None:
    """After the posting period, once every objection is answered."""
    n = _notice(session, notice_id)
    if n["status"] != "published":
        raise IllegalTransition("只能归档已发布的公示", [FieldError("status", "not_published", "草稿或已归档的不能归档")])
    if n["posting_to"] >= session.today().isoformat():
        raise IllegalTransition("公示期未结束", [FieldError("posting_period", "running", f"公示期到 {n['posting_to']} 才结束")])
    open_ = session.store.scalar("SELECT count(*) FROM objections WHERE notice_id = ? AND answer IS NULL", (n["id"],))
    if open_:
        raise IllegalTransition("有未答复的异议", [FieldError("objections", "open", f"还有 {open_} 条异议未答复:答复后才能归档")])
    with session.store.transaction() as db:
        db.execute("UPDATE notices SET status = 'archived', archived_at = ? WHERE id = ?", (audit.now_iso(), n["id"]))
        outbox.add(db, "notice", n["id"])
        audit.record(db, session.user.username, "notice.archive", n["id"], {})


def overdue_objections(session: Session) -> list[dict]:
    """Objections not answered by their answer date, oldest first (for the board and 今日)."""
    return session.store.query(
        "SELECT o.id, o.notice_id, o.who, o.what, o.on_day, o.answer_due, n.title FROM objections o JOIN notices n ON n.id = o.notice_id "
        "WHERE o.answer IS NULL AND o.answer_due < ? ORDER BY o.answer_due, o.recorded_at", (session.today().isoformat(),))


def board(session: Session) -> dict:
    today = session.today().isoformat()
    rows = session.store.query(
        "SELECT n.id, n.kind, n.title, n.status, n.posting_from, n.posting_to, n.source, count(o.id) AS objections, "
        "sum(CASE WHEN o.id IS NOT NULL AND o.answer IS NULL THEN 1 ELSE 0 END) AS open_objections "
        "FROM notices n LEFT JOIN objections o ON o.notice_id = n.id GROUP BY n.id ORDER BY coalesce(n.posting_from, n.created_at) DESC")
    out = {"current": [], "upcoming": [], "ended": [], "archived": [], "drafts": []}
    for r in rows:
        if r["status"] == "draft":
            out["drafts"].append(r)
        elif r["status"] == "archived":
            out["archived"].append(r)
        elif r["posting_from"] > today:
            out["upcoming"].append(r)
        elif r["posting_to"] < today:
            out["ended"].append(r)  # waiting to be archived (objections answered first)
        else:
            out["current"].append(r)
    return out


def notice(session: Session, notice_id: str) -> dict:
    n = _notice(session, notice_id)
    n["objection_list"] = session.store.query("SELECT * FROM objections WHERE notice_id = ? ORDER BY recorded_at", (n["id"],))
    n["posting"] = json.loads(n["posting"]) if n["posting"] else None
    return n


def receive_township_notice(db, session: Session, doc: dict, hub_id: str) -> None:
    """A notice published by the township, onto the board as it is (inside the sync transaction)."""
    start, end = _period(doc["posting_from"], doc["posting_to"])
    if doc.get("kind") not in KINDS or not str(doc.get("title", "")).strip():
        raise ValidationFailed("乡镇公告格式不对")
    db.execute("INSERT OR IGNORE INTO notices (id, kind, title, body, status, posting_from, posting_to, source, created_by, "
               "created_at, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
               (doc["id"], doc["kind"], doc["title"], doc.get("body", ""), "published", start, end, f"乡镇 {hub_id}", hub_id,
                audit.now_iso(), audit.now_iso()))
