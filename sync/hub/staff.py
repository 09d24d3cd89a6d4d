"""Township staff accounts: add, list, change role or reach, deactivate and reactivate (负责人 only).

On a county's hub an account reaches one township (乡镇) or the whole county (``township`` NULL);
what that allows is ``staff_policy``'s. Only a county-wide 负责人 manages accounts there, so the
last county-wide 负责人 is kept as the last 负责人 is.

The role and whether an account is in use live in the hub store (``staff``); the passphrase
opens the user's entry in the hub's ``keys.json`` (the same keyring as the station's). Each
change is one audit entry under the acting user's name. Deactivating removes the user's keyring
entry, so their passphrase opens nothing; reactivating gives them a new passphrase.
"""
from __future__ import annotations

from station.errors import AlreadyExists, AuthFailed, FieldError, NotFound, PermissionDenied, ValidationFailed
from station.services.audit import now_iso
from station.services.session import check_username
from station.store import keys as keyring
from sync.hub import staff_policy
from sync.hub.store import HubStore


def seed(store: HubStore, usernames: list[str], audited: bool = True) -> None:
    """A hub from before staff accounts: everyone already in its keyring could do everything, so
    they are entered as 负责人 (once, audited). At ``township init`` the first user's entry is not
    audited separately: the audited ``hub.init`` says who set the hub up."""
    if store.staff_members():
        return
    with store.transaction():
        for name in usernames:
            store.put_staff({"username": name, "display_name": name, "role": staff_policy.LEAD, "active": 1,
                             "created_at": now_iso()})
            if audited:
                store.audit(name, "user.seed", name, {"role": staff_policy.LEAD})


def role_for_login(store: HubStore, username: str) -> tuple[str, str | None]:
    """The role and the township (None: the whole county) of an account that may log in; an unknown
    or deactivated account may not."""
    row = store.staff_member(username)
    if row is None:
        raise AuthFailed(f"“{username}”不是乡镇工作人员账号,请找负责人添加")
    if not row["active"]:
        raise AuthFailed(f"账号“{username}”已停用,不能登录。如需恢复,请负责人运行 township user activate。")
    return row["role"], row.get("township")


def _role(role: str) -> str:
    code = staff_policy.role_of(role)
    if code is None:
        raise ValidationFailed("角色无效", [FieldError("role", "bad_role", "角色应为 经办人 或 负责人")])
    return code


def _row(hub, username: str) -> dict:
    row = hub.store.staff_member(username)
    if row is None:
        raise NotFound(f"没有工作人员“{username}”")
    return row


def _last_lead(hub, username: str) -> bool:
    """Whether ``username`` is the last active county-wide 负责人 (the one who can manage accounts)."""
    leads = [r["username"] for r in hub.store.staff_members()
             if r["active"] and r["role"] == staff_policy.LEAD and r.get("township") is None]
    return leads == [username]


def _township(hub, township: str | None) -> str | None:
    """A township code that exists on this hub, or None (the whole county)."""
    if township is None or not township.strip():
        return None
    code = township.strip().upper()
    if hub.store.s.scalar("SELECT code FROM townships WHERE code = ?", (code,)) is None:
        raise ValidationFailed("乡镇无效", [FieldError("township", "unknown",
                                                     f"没有乡镇 {code}:请先用 township county add-township 添加")])
    return code


def add(hub, username: str, display_name: str, role: str, passphrase: str, township: str | None = None) -> dict:
    """A new account; ``township``: scoped to that township of the county's hub (None: the whole county)."""
    hub.require("user.manage")
    role = _role(role)
    township = _township(hub, township)
    errors = check_username(username)
    if not (display_name or "").strip():
        errors.append(FieldError("display_name", "required", "姓名不能为空"))
    errors += keyring.check_passphrase(passphrase, {"登录名": username, "姓名": display_name or "", "乡镇编码": hub.hub_id})
    if errors:
        raise ValidationFailed("无法添加工作人员", errors)
    if hub.store.staff_member(username) is not None:
        raise AlreadyExists(f"登录名“{username}”已被使用(已停用的账号可用 township user activate 恢复)")
    ring = hub.keyring()
    row = {"username": username, "display_name": display_name.strip(), "role": role, "active": 1, "created_at": now_iso(),
           "township": township}
    with hub.store.transaction():
        hub.store.put_staff(row)
        hub.store.audit(hub.user, "user.add", username, {"role": role, **({"township": township} if township else {})})
        # Saved inside the transaction's scope: if the key file cannot be written, the row rolls back.
        ring.set_user(username, hub.db_key, passphrase)
        ring.save()
    return row


def members(hub) -> list[dict]:
    rows = hub.store.staff_members()
    for r in rows:
        r["role_label"] = staff_policy.ROLES.get(r["role"], r["role"])
        r["reach_label"] = staff_policy.reach(r.get("township"))
    return rows


def set_township(hub, username: str, township: str | None) -> None:
    """Scope an account to one township, or (None) give it the whole county."""
    hub.require("user.manage")
    township = _township(hub, township)
    row = _row(hub, username)
    if row.get("township") == township:
        return
    if township is not None and row["active"] and row["role"] == staff_policy.LEAD and _last_lead(hub, username):
        raise ValidationFailed("无法更改范围", [FieldError("township", "last_lead", "这是最后一位全县范围的负责人,不能限定到一个乡镇")])
    with hub.store.transaction():
        hub.store.update_staff(username, township=township)
        hub.store.audit(hub.user, "user.township", username, {"from": row.get("township"), "to": township})


def set_role(hub, username: str, role: str) -> None:
    hub.require("user.manage")
    role = _role(role)
    row = _row(hub, username)
    if row["role"] == role:
        return
    if role != staff_policy.LEAD and row["active"] and _last_lead(hub, username):
        raise ValidationFailed("无法更改角色", [FieldError("role", "last_lead", "这是最后一位在用的负责人,不能改为经办人")])
    with hub.store.transaction():
        hub.store.update_staff(username, role=role)
        hub.store.audit(hub.user, "user.role", username, {"role": role})


def deactivate(hub, username: str) -> None:
    hub.require("user.manage")
    if username == hub.user:
        raise PermissionDenied("不能停用自己的账号;请另一位负责人操作")
    row = _row(hub, username)
    if not row["active"]:
        raise ValidationFailed("无法停用", [FieldError("username", "inactive", f"“{username}”已经停用")])
    if row["role"] == staff_policy.LEAD and _last_lead(hub, username):
        raise ValidationFailed("无法停用", [FieldError("username", "last_lead", "不能停用最后一位在用的负责人")])
    ring = hub.keyring()
    with hub.store.transaction():
        hub.store.update_staff(username, active=0)
        hub.store.audit(hub.user, "user.deactivate", username, {"role": row["role"]})
        ring.remove_user(username, now_iso())
        ring.save()


def activate(hub, username: str, passphrase: str) -> None:
    hub.require("user.manage")
    row = _row(hub, username)
    if row["active"]:
        raise ValidationFailed("无法恢复", [FieldError("username", "active", f"“{username}”没有停用")])
    problems = keyring.check_passphrase(passphrase, {"登录名": username, "姓名": row["display_name"], "乡镇编码": hub.hub_id})
    if problems:
        raise ValidationFailed("新密码不符合要求", problems)
    ring = hub.keyring()
    with hub.store.transaction():
        hub.store.update_staff(username, active=1)
        hub.store.audit(hub.user, "user.activate", username, {"role": row["role"]})
        ring.set_user(username, hub.db_key, passphrase)
        ring.save()
