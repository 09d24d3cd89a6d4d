"""Changing the database key (更换数据库密钥), without anyone's passphrase but the supervisor's.

The new key is sealed to the public key of every *active* user and of the recovery code, and
the store is re-encrypted with SQLCipher's own ``PRAGMA rekey``. Whoever is not active — a
deactivated clerk holding an old copy of ``keys.json`` — is left with a key that opens nothing.

The order makes a power cut at any point harmless (each step is durable before the next):

1. an audit entry records the intent (under the old key);
2. ``keys.json`` is rewritten atomically with *both* keys sealed to every active user and the
   recovery code, the new key named current, the inactive users' entries gone;
3. ``PRAGMA rekey`` re-encrypts the file in one transaction, and a second connection proves
   the new key opens it;
4. ``keys.json`` is rewritten without the old key.

Cut after 2: the store is still under the old key, which every active user still holds; the
next unlock sees the current key differ and runs step 3–4 itself (``session._settle``). Cut
after 3: the store is under the new key; the next unlock drops the old copies (step 4).

Users whose ``keys.json`` entry is still format 1 (they have not logged in since the upgrade)
have no public key to seal to: the change is refused and names them; each logs in once, or a
supervisor resets their passphrase (``station user passwd USER``), and the change can run.
"""
from __future__ import annotations

import secrets

from station.core.models import Role
from station.errors import FieldError, ValidationFailed
from station.services import audit
from station.services.session import Session
from station.store import keys as keyring


def rekey(session: Session, new_recovery_code: bool = False) -> str | None:
    """Change the database key; return the new recovery code when one was made (show it once).

    A new recovery code is made when asked, or when the current one is a format-1 entry (it
    cannot take a sealed key without the code itself)."""
    session.require_supervisor("更换数据库密钥")
    ring = session.keys
    ring.reload()
    active = {r["username"]: r["role"] for r in session.store.query("SELECT username, role FROM users WHERE active = 1")}
    not_ready = sorted(u for u in active if not ring.is_upgraded(u))
    if not_ready:
        raise ValidationFailed("暂时无法更换数据库密钥", [FieldError(
            "users", "not_upgraded", f"以下用户的密钥还是旧格式:{'、'.join(not_ready)}。请他们各登录一次,"
                                     "或由站长为其重设密码,然后再更换密钥。")])
    code = keyring.new_recovery_code() if new_recovery_code or not ring.recovery_upgraded() else None
    old, new = session.db_key, secrets.token_bytes(32)

    # 1. the intent, under the old key
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "store.rekey", keyring.key_id(new),
                     {"users": sorted(active), "new_recovery_code": code is not None})
    # 2. both keys sealed for exactly the active users and the recovery code
    for username in ring.users():
        if username not in active:
            ring.remove_user(username, audit.now_iso())
    if code is not None:
        ring.set_recovery(code, [old])
        for username, role in active.items():
            if role == Role.SUPERVISOR.value:
                ring.give_recovery_code(username, code)
            else:
                ring.drop_recovery_code(username)
    ring.seal_everywhere(new)
    ring.data["current"] = keyring.key_id(new)
    ring.save()
    # 3. re-encrypt, and prove the new key opens the file
    session.store.rekey(new)
    session.db_key = new
    # 4. the old key is no longer kept anywhere
    ring.keep_only(new)
    ring.save()
    return code
