"""Residents (群众): the same identity number is always the same resident.

Registering a known identity number returns the existing resident (updating phone and
address when new ones are given); a different name for a known number is refused, since it
means one of the two was typed wrong. Every change goes up through the outbox.
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from station.core.identity import IdentityInfo
from station.core.ids import new_id
from station.core.masking import mask_id, mask_phone
from station.core.models import ResidentInput, check_resident
from station.core.search import name_grams, reverse_digits
from station.errors import FieldError, NotFound, ValidationFailed
from station.services import audit, outbox
from station.services.audit import AuditEntry
from station.services.session import Session

if TYPE_CHECKING:
    import sqlite_utils

COLUMNS = "id, id_number, name, sex, birth_date, phone, address, village_group, created_at, updated_at"


def validate(raw: dict, today: date, prefix: str = "") -> tuple[ResidentInput, IdentityInfo]:
    clean, info, errors = check_resident(raw, today, prefix)
    if errors:
        raise ValidationFailed("群众信息有误", errors)
    return clean, info


def index_name(db: sqlite_utils.Database, resident_id: str, name: str) -> None:
    """The name's search grams (``station.core.search``), each carrying the whole name so a search
    reads them in name order. Call inside the transaction that writes the resident."""
    db.conn.executemany("INSERT OR IGNORE INTO resident_grams (gram, name, resident_id) VALUES (?, ?, ?)",
                        [(g, name, resident_id) for g in name_grams(name)])


def upsert(db: sqlite_utils.Database, user: str, person: ResidentInput, info: IdentityInfo) -> tuple[str, bool]:
    """The resident's id, and whether anything was written. Call inside a transaction."""
    rid, entry = write(db, person, info)
    if entry is not None:
        audit.record(db, user, *entry)
    return rid, entry is not None


def write(db: sqlite_utils.Database, person: ResidentInput, info: IdentityInfo) -> tuple[str, AuditEntry | None]:
    """``upsert`` without its audit entry: the resident's id, and the entry (action, target, detail)
    the caller records in the same transaction when anything was written (intake records it
    together with its own, reading the audit head once)."""
    row = db.execute("SELECT id, name, phone, address, village_group FROM residents WHERE id_number = ?",
                     (person.id_number,)).fetchone()
    now = audit.now_iso()
    if row is None:
        rid = new_id()
        db.execute(f"INSERT INTO residents ({COLUMNS}, id_rev, phone_rev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (rid, person.id_number, person.name, info.sex, info.birth_date.isoformat(), person.phone,
                    person.address, person.village_group, now, now, reverse_digits(person.id_number),
                    reverse_digits(person.phone)))
        index_name(db, rid, person.name)
        outbox.add(db, "resident", rid)
        return rid, ("resident.add", rid, {"id_number": mask_id(person.id_number)})
    rid, name, phone, address, group = row
    if name != person.name:
        raise ValidationFailed("身份证号码与姓名不一致", [FieldError(
            "name", "name_mismatch", f"身份证号码 {mask_id(person.id_number)} 已登记为“{name}”,与所填姓名“{person.name}”不一致,请核对")])
    changes = {k: v for k, v in (("phone", person.phone), ("address", person.address), ("village_group", person.village_group))
               if v and v != {"phone": phone, "address": address, "village_group": group}[k]}
    if not changes:
        return rid, None
    sets = ", ".join(f"{k} = ?" for k in changes)
    db.execute(f"UPDATE residents SET {sets}, updated_at = ?, phone_rev = ? WHERE id = ?",
               (*changes.values(), now, reverse_digits(changes.get("phone", phone)), rid))
    outbox.add(db, "resident", rid)
    return rid, ("resident.update", rid, {k: (mask_phone(v) if k == "phone" else v) for k, v in changes.items()})


def register(session: Session, raw: dict) -> dict:
    person, info = validate(raw, session.today())
    with session.store.transaction() as db:
        rid, _ = upsert(db, session.user.username, person, info)
    return get(session, rid)


def get(session: Session, ref: str) -> dict:
    row = session.store.one(f"SELECT {COLUMNS} FROM residents WHERE id = ? OR id_number = ?", (ref, ref.upper()))
    if row is None:
        raise NotFound("没有找到该群众")
    return row


def masked(row: dict) -> dict:
    """A resident row as screens and paper show it (信息脱敏)."""
    out = dict(row)
    out["id_number"] = mask_id(row.get("id_number"))
    out["phone"] = mask_phone(row.get("phone"))
    return out


def reveal(session: Session, resident_id: str, reason: str) -> dict:
    """The unmasked identity number and phone, for a supervisor, with the reason audited."""
    session.require_supervisor("查看完整身份证号码")
    if not (reason or "").strip():
        raise ValidationFailed("请说明查看原因", [FieldError("reason", "required", "查看完整号码须填写原因(记入审计)")])
    row = get(session, resident_id)
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "resident.reveal", row["id"], {"reason": reason.strip()})
    return {"id_number": row["id_number"], "phone": row["phone"]}


def cases_of(session: Session, resident_id: str, limit: int = 200) -> list[dict]:
    from station.services.cases import LIST_COLUMNS, LIST_FROM
    return session.store.query(f"SELECT {LIST_COLUMNS} FROM {LIST_FROM} WHERE c.resident_id = ? ORDER BY c.received_on DESC LIMIT ?",
                               (resident_id, limit))
