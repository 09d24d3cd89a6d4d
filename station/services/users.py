"""Users (代办员 and 站长): add, list, change role, deactivate and reactivate, change or reset a
passphrase, show the recovery code; and the check that users' rows match their audited changes.

A user's row lives in the encrypted store (role and status are authoritative there); their key
pair and their sealed copy of the database key live in ``keys.json``. Every change to a user is
one audit entry carrying the digest of the row after it (``session.user_digest``), so
``verify_rows`` catches a row edited behind the app's back. Deactivating removes the user's
entry from ``keys.json`` and, by default, changes the database key (``rekey``) so that an old
copy of ``keys.json`` opens nothing.
"""
from __future__ import annotations

import json

from station.core.ids import new_id
from station.core.models import Role
from station.errors import (
    AlreadyExists,
    AuthFailed,
    FieldError,
    NotFound,
    PermissionDenied,
    StationError,
    ValidationFailed,
)
from station.services import audit
from station.services.session import Session, check_username, user_digest
from station.store import keys as keyring

USER_ACTIONS = ("user.add", "user.role", "user.deactivate", "user.activate", "user.passwd", "user.recover")


def _context(session: Session, username: str, display_name: str | None = None) -> dict[str, str]:
    """The words a passphrase must not be made of."""
    return {"登录名": username, "服务站编码": session.station_code, "姓名": display_name or ""}


def passphrase_problems(session: Session, username: str, display_name: str | None, passphrase: str) -> list[FieldError]:
    """What the services would say about this passphrase for this user (empty: strong enough).
    For screens that tell the strength as it is typed; the services check again on save."""
    return keyring.check_passphrase(passphrase, _context(session, username, display_name))


def _row(session: Session, username: str) -> dict:
    row = session.store.one("SELECT username, display_name, role, active FROM users WHERE username = ?", (username,))
    if row is None:
        raise NotFound(f"没有用户“{username}”")
    return row


def _record(db, session: Session, action: str, username: str, role: str, active: int, **detail) -> None:
    audit.record(db, session.user.username, action, username, {**detail, "role": role, "active": active,
                                                                "row": user_digest(username, role, active)})


def _my_recovery_code(session: Session) -> str | None:
    return session.keys.take_recovery_code(session.user.username, session.user_key)


def add(session: Session, username: str, display_name: str, role: Role, passphrase: str) -> dict:
    session.require_supervisor("添加用户")
    errors = check_username(username)
    if not (display_name or "").strip():
        errors.append(FieldError("display_name", "required", "姓名不能为空"))
    errors += keyring.check_passphrase(passphrase, _context(session, username, display_name))
    if errors:
        raise ValidationFailed("无法添加用户", errors)
    if session.store.scalar("SELECT 1 FROM users WHERE username = ?", (username,)):
        raise AlreadyExists(f"登录名“{username}”已被使用(已停用的用户可由站长重新启用)")
    row = {"id": new_id(), "username": username, "display_name": display_name.strip(),
           "role": role.value, "active": 1, "created_at": audit.now_iso()}
    with session.store.transaction() as db:
        db["users"].insert(row)
        _record(db, session, "user.add", username, role.value, 1)
        # The key file is saved inside the transaction's scope: if saving fails, the row rolls back.
        session.keys.set_user(username, session.db_key, passphrase)
        if role == Role.SUPERVISOR and (code := _my_recovery_code(session)):
            session.keys.give_recovery_code(username, code)
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
    row = session.store.one("SELECT display_name, role FROM users WHERE username = ? AND active = 1", (username,))
    if row is None:
        raise NotFound(f"没有在用的用户“{username}”")
    if own and (old_passphrase is None or not session.keys.verify(username, old_passphrase)):
        raise AuthFailed("原密码不正确")
    problems = keyring.check_passphrase(new_passphrase, _context(session, username, row["display_name"]))
    if problems:
        raise ValidationFailed("新密码不符合要求", problems)
    with session.store.transaction() as db:
        _record(db, session, "user.passwd", username, row["role"], 1, reset_by_supervisor=not own)
        # Our own change re-wraps our private key: what is sealed to it (the recovery code) stays
        # readable. A reset makes a new key pair, so the recovery code is sealed to it again.
        session.keys.set_user(username, session.db_key, new_passphrase, private=session.user_key if own else None)
        if not own and row["role"] == Role.SUPERVISOR.value and (code := _my_recovery_code(session)):
            session.keys.give_recovery_code(username, code)
        session.keys.save()


def set_role(session: Session, username: str, role: Role) -> str | None:
    """Make a clerk a supervisor or back (站长操作); the last active supervisor stays one.

    A supervisor made a clerk could read the recovery code, and with it take over any account: the
    code is changed with the database key (as when a supervisor leaves). Returns the new code, if any."""
    session.require_supervisor("更改用户角色")
    row = _row(session, username)
    if row["role"] == role.value:
        return
    if role != Role.SUPERVISOR and row["active"] and _active_supervisors(session) == [username]:
        raise ValidationFailed("无法更改角色", [FieldError("role", "last_supervisor", "这是最后一位在用的站长,不能改为代办员")])
    with session.store.transaction() as db:
        db.execute("UPDATE users SET role = ? WHERE username = ?", (role.value, username))
        _record(db, session, "user.role", username, role.value, row["active"])
        if role == Role.SUPERVISOR and (code := _my_recovery_code(session)):
            session.keys.give_recovery_code(username, code)
        else:
            session.keys.drop_recovery_code(username)
        session.keys.save()
    if row["role"] == Role.SUPERVISOR.value:
        from station.services.rekey import rekey as change_key
        return change_key(session, new_recovery_code=True)
    return None


def _active_supervisors(session: Session) -> list[str]:
    return [r["username"] for r in session.store.query("SELECT username FROM users WHERE role = 'supervisor' AND active = 1")]


def deactivate(session: Session, username: str, rekey: bool = True) -> dict:
    """Stop a user (a clerk who left): their row stays for the record but is inactive, their entry
    leaves ``keys.json``, and — unless ``rekey`` is False — the database key is changed so a copy
    of ``keys.json`` they kept opens nothing. A supervisor's leaving also brings a new recovery
    code (they could read the old one). Returns what happened, with the new recovery code if any.

    Deactivation itself always goes through; if the key change cannot run yet (someone still has
    a format-1 entry), the result says who must log in first and ``station rekey`` finishes it."""
    session.require_supervisor("停用用户")
    if username == session.user.username:
        raise PermissionDenied("不能停用自己的账号;请另一位站长操作")
    row = _row(session, username)
    if not row["active"]:
        raise ValidationFailed("无法停用", [FieldError("username", "inactive", f"“{username}”已经停用")])
    if row["role"] == Role.SUPERVISOR.value and _active_supervisors(session) == [username]:
        raise ValidationFailed("无法停用", [FieldError("username", "last_supervisor", "不能停用最后一位在用的站长")])
    session.keys.reload()
    with session.store.transaction() as db:
        db.execute("UPDATE users SET active = 0 WHERE username = ?", (username,))
        _record(db, session, "user.deactivate", username, row["role"], 0, rekey=rekey)
        session.keys.remove_user(username, audit.now_iso())
        session.keys.save()
    result = {"username": username, "deactivated": True, "rekeyed": False, "recovery_code": None, "rekey_blocked": None}
    if rekey:
        from station.services.rekey import rekey as change_key
        try:
            result["recovery_code"] = change_key(session, new_recovery_code=row["role"] == Role.SUPERVISOR.value)
            result["rekeyed"] = True
        except StationError as exc:
            result["rekey_blocked"] = str(exc)
    return result


def activate(session: Session, username: str, passphrase: str) -> None:
    """Let a deactivated user work again, with a new passphrase (站长操作)."""
    session.require_supervisor("恢复用户")
    row = _row(session, username)
    if row["active"]:
        raise ValidationFailed("无法恢复", [FieldError("username", "active", f"“{username}”没有停用")])
    problems = keyring.check_passphrase(passphrase, _context(session, username, row["display_name"]))
    if problems:
        raise ValidationFailed("新密码不符合要求", problems)
    session.keys.reload()
    with session.store.transaction() as db:
        db.execute("UPDATE users SET active = 1 WHERE username = ?", (username,))
        _record(db, session, "user.activate", username, row["role"], 1)
        session.keys.set_user(username, session.db_key, passphrase)
        if row["role"] == Role.SUPERVISOR.value and (code := _my_recovery_code(session)):
            session.keys.give_recovery_code(username, code)
        session.keys.save()


def recovery_code(session: Session) -> str:
    """The recovery code, for a supervisor to print again for the township's safe (audited).

    It is sealed to each supervisor's own key, so only a supervisor's passphrase opens it: a
    clerk's session, even with the whole database open, has nothing to read it with."""
    session.require_supervisor("查看恢复码")
    code = _my_recovery_code(session)
    if code is None:
        raise StationError("本账号没有保存恢复码(升级前由代办员先登录时,恢复码无法转存)。原恢复码仍然有效;"
                           "如需新的恢复码,请在“设置”中更换数据库密钥,会同时生成新的恢复码。")
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "recovery.reveal", None, {})
    return code


def verify_rows(session: Session) -> list[audit.AuditProblem]:
    """Each user's row against the latest audited change to that user: a role, status or user
    changed in the database behind the app's back is reported (in Chinese). Entries written
    before digests existed are read by what they say (``user.add`` with its role)."""
    problems: list[audit.AuditProblem] = []
    expected: dict[str, tuple[int, str]] = {}
    rows = session.store.query(f"SELECT seq, action, target, detail FROM audit WHERE action IN ({','.join('?' * len(USER_ACTIONS))}) "
                               "ORDER BY seq", USER_ACTIONS)
    for r in rows:
        detail = json.loads(r["detail"])
        if "row" in detail:
            expected[r["target"]] = (r["seq"], detail["row"])
        elif r["action"] == "user.add" and "role" in detail:
            expected[r["target"]] = (r["seq"], user_digest(r["target"], detail["role"], 1))
    users = {u["username"]: u for u in session.store.query("SELECT username, role, active FROM users")}
    for username, u in sorted(users.items()):
        if username not in expected:
            problems.append(audit.AuditProblem(None, f"用户“{username}”没有任何审计记录(可能是绕过本软件直接写入数据库的)"))
        elif user_digest(username, u["role"], u["active"]) != expected[username][1]:
            state = f"{Role(u['role']).label}、{'在用' if u['active'] else '停用'}"
            problems.append(audit.AuditProblem(expected[username][0], f"用户“{username}”的角色或状态(现为{state})与最后一次审计记录"
                                                                      f"(第 {expected[username][0]} 条)不符:被绕过本软件改动过"))
    for username in sorted(set(expected) - set(users)):
        problems.append(audit.AuditProblem(expected[username][0], f"用户“{username}”有审计记录,但数据库中已没有这个用户(被删除)"))
    return problems
