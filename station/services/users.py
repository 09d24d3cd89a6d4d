"""Users (代办员 and 站长): add, list, change or reset a passphrase, show the recovery code.

A user's row lives in the encrypted store (role is authoritative there); their copy of the
database key lives wrapped in ``keys.json``. Changing a passphrase re-wraps that copy only.
"""
from __future__ import annotations

import uuid

from station.core.models import Role
from station.errors import (
    AlreadyExists,
    AuthFailed,
    FieldError,
    NotFound,
    ValidationFailed,
)
from station.services import audit
from station.services.session import Session, check_username
from station.store import keys as keyring


def add(session: Session, username: str, display_name: str, role: Role, passphrase: str) -> dict:
    session.require_supervisor("添加用户")
    errors = check_username(username)
    if not (display_name or "").strip():
        errors.append(FieldError("display_name", "required", "姓名不能为空"))
    errors += keyring.check_passphrase(passphrase)
    if errors:
        raise ValidationFailed("无法添加用户", errors)
    if session.store.scalar("SELECT 1 FROM users WHERE username = ?", (username,)):
        raise AlreadyExists(f"登录名“{username}”已被使用")
    row = {"id": str(uuid.uuid4()), "username": username, "display_name": display_name.strip(),
           "role": role.value, "active": 1, "created_at": audit.now_iso()}
    with session.store.transaction() as db:
        db["users"].insert(row)
        audit.record(db, session.user.username, "user.add", username, {"role": role.value})
        # The wrap is saved inside the transaction's scope: if saving fails, the row rolls back.
        session.keys.set_user(username, session.db_key, passphrase)
        session.keys.save()
    return row


def list_users(session: Session) -> list[dict]:
    rows = session.store.query("SELECT username, display_name, role, active, created_at FROM users ORDER BY created_at")
    for r in rows:
        r["role_label"] = Role(r["role"]).label
    return rows


def display_names(session: Session) -> dict[str, str]:
    """Login name → the person's name, for screens and paper (people know 杨光明, not daiban)."""
    return {r["username"]: r["display_name"] for r in session.store.query("SELECT username, display_name FROM users")}


def change_passphrase(session: Session, username: str, new_passphrase: str, old_passphrase: str | None = None) -> None:
    """A user changes their own passphrase (giving the old one); a supervisor resets anyone's."""
    own = username == session.user.username
    if not own:
        session.require_supervisor("重设其他用户的密码")
    if not session.store.scalar("SELECT 1 FROM users WHERE username = ? AND active = 1", (username,)):
        raise NotFound(f"没有在用的用户“{username}”")
    if own:
        if old_passphrase is None or keyring.unwrap(session.keys.data["users"][username], old_passphrase, f"user:{username}") is None:
            raise AuthFailed("原密码不正确")
    problems = keyring.check_passphrase(new_passphrase)
    if problems:
        raise ValidationFailed("新密码不符合要求", problems)
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "user.passwd", username, {"reset_by_supervisor": not own})
        session.keys.set_user(username, session.db_key, new_passphrase)
        session.keys.save()


def recovery_code(session: Session) -> str:
    """The recovery code, for a supervisor to print again for the township's safe (audited)."""
    session.require_supervisor("查看恢复码")
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "recovery.show", None, {})
        return db.execute("SELECT value FROM settings WHERE key = 'recovery_code'").fetchone()[0]
