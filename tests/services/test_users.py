"""Users and keys: deactivation, changing the database key, the sealed recovery code, stations
made by the earlier version, and the check of users' rows against the audit trail."""
from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from station.core.models import Role
from station.errors import AuthFailed, PermissionDenied, StationError, StoreError, ValidationFailed
from station.services import audit, cases, users
from station.services.rekey import rekey
from station.services.session import StationHome
from station.store import keys
from station.store.db import open_store
from tests.conftest import PASS, intake_doc

ROOT = Path(__file__).resolve().parents[2]
CLERK_PASS = "clerk-pass-1"


@pytest.fixture
def staffed(home, session):
    """The station with a clerk (daiban) besides the supervisor."""
    users.add(session, "daiban", "杨光明", Role.CLERK, CLERK_PASS)
    return session


# --- deactivation ---------------------------------------------------------------------------
def test_deactivated_user_refused_and_old_keys_copy_useless(home, staffed, tmp_path):
    cases.intake(staffed, intake_doc())
    kept = tmp_path / "keys-copy.json"
    shutil.copy(home.keys_path, kept)  # what a clerk who leaves might take home
    result = users.deactivate(staffed, "daiban")
    assert result["rekeyed"] and result["recovery_code"] is None  # a clerk never held the recovery code
    assert "daiban" not in json.loads(home.keys_path.read_text())["users"]
    with pytest.raises(AuthFailed) as exc:
        home.unlock("daiban", CLERK_PASS)
    assert "已停用" in exc.value.title
    # The old copy still opens a key — but not one the rekeyed store accepts.
    old_key = keys.KeyRing.load(kept).unlock("daiban", CLERK_PASS)
    with pytest.raises(StoreError):
        open_store(home.db_path, old_key).close()
    shutil.copy(kept, home.keys_path)  # even put back in place of the current file
    with pytest.raises(StoreError) as exc:
        StationHome(home.dir).unlock("daiban", CLERK_PASS)
    assert "密钥" in exc.value.title
    # the supervisor's session goes on with the new key; a fresh login works too (with the real file)
    assert staffed.store.scalar("SELECT count(*) FROM cases") == 1


def test_deactivate_rules(home, staffed):
    with pytest.raises(PermissionDenied):
        users.deactivate(staffed, "zhanzhang")  # not yourself
    with home.unlock("daiban", CLERK_PASS) as clerk:
        with pytest.raises(PermissionDenied):
            users.deactivate(clerk, "zhanzhang")
    users.add(staffed, "zhuren", "王主任", Role.SUPERVISOR, "deputy-pass-2026")
    with home.unlock("zhuren", "deputy-pass-2026") as deputy:
        users.deactivate(deputy, "zhanzhang", rekey=False)
        with pytest.raises(ValidationFailed) as exc:  # zhuren is now the last active supervisor
            users.set_role(deputy, "zhuren", Role.CLERK)
        assert exc.value.details[0].code == "last_supervisor"
    entries = [a for a in staffed.store.query("SELECT action, target, detail FROM audit") if a["action"] == "user.deactivate"]
    assert [(a["target"], json.loads(a["detail"])["active"]) for a in entries] == [("zhanzhang", 0)]


def test_reactivated_user_works_with_new_passphrase(home, staffed):
    users.deactivate(staffed, "daiban")
    users.activate(staffed, "daiban", "clerk-again-2026")
    staffed.close()
    with pytest.raises(AuthFailed):
        home.unlock("daiban", CLERK_PASS)
    with home.unlock("daiban", "clerk-again-2026") as clerk:
        assert clerk.user.role == Role.CLERK


def test_deactivating_a_supervisor_brings_a_new_recovery_code(home, staffed):
    old_code = users.recovery_code(staffed)
    users.add(staffed, "zhuren", "王主任", Role.SUPERVISOR, "deputy-pass-2026")
    result = users.deactivate(staffed, "zhuren")
    new_code = result["recovery_code"]
    assert result["rekeyed"] and new_code and new_code != old_code
    assert users.recovery_code(staffed) == new_code
    staffed.close()
    with pytest.raises(AuthFailed):
        home.recover(old_code, "zhanzhang", "after-the-fire-2026")
    home.recover(new_code, "zhanzhang", "after-the-fire-2026").close()


# --- rekey ------------------------------------------------------------------------------------
def test_rekey_without_other_passphrases(home, staffed):
    cases.intake(staffed, intake_doc())
    old = staffed.db_key
    code = users.recovery_code(staffed)
    assert rekey(staffed) is None  # the recovery code stays: it is sealed the new key too
    assert staffed.db_key != old
    data = json.loads(home.keys_path.read_text())
    assert data["current"] == keys.key_id(staffed.db_key)
    assert all(list(e["seals"]) == [data["current"]] for e in [*data["users"].values(), data["recovery"]])
    staffed.close()
    with pytest.raises(StoreError):
        open_store(home.db_path, old).close()
    with home.unlock("daiban", CLERK_PASS) as clerk:  # the clerk never typed anything
        assert clerk.store.scalar("SELECT count(*) FROM cases") == 1
    home.recover(code, "zhanzhang", "after-the-fire-2026").close()
    actions = [r["action"] for r in open_store(home.db_path, keys.KeyRing.load(home.keys_path).unlock("daiban", CLERK_PASS))
               .query("SELECT action FROM audit")]
    assert "store.rekey" in actions


def test_clerk_cannot_rekey(home, staffed):
    with home.unlock("daiban", CLERK_PASS) as clerk:
        with pytest.raises(PermissionDenied):
            rekey(clerk)


# --- stations made by the earlier version -----------------------------------------------------
def _legacy_wrap(db_key: bytes, secret: str, label: str) -> dict:
    """Exactly what the earlier version wrote for each user and the recovery code (format 1)."""
    n, r, p = keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    kek = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8"))
    wrapped = AESGCM(kek).encrypt(nonce, db_key, f"village-station/{label}".encode())
    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    return {"kdf": "scrypt", "n": n, "r": r, "p": p, "salt": b(salt), "nonce": b(nonce), "wrapped": b(wrapped)}


def make_legacy(home: StationHome, session, passphrases: dict[str, str]) -> str:
    """Turn ``home`` into what the earlier version left on disk: keys.json format 1 and the
    recovery code in ``settings``. Returns that recovery code."""
    key, code = session.db_key, keys.new_recovery_code()
    with session.store.transaction() as db:
        db.execute("INSERT INTO settings VALUES ('recovery_code', ?)", (code,))
    session.close()
    home.keys_path.write_text(json.dumps({"format": 1, "recovery": _legacy_wrap(key, code, "recovery"), "failures": {},
                                          "users": {u: _legacy_wrap(key, p, f"user:{u}") for u, p in passphrases.items()}}))
    return code


def test_old_keys_file_upgraded_at_next_unlock(home, staffed):
    code = make_legacy(home, staffed, {"zhanzhang": PASS, "daiban": CLERK_PASS})
    with home.unlock("zhanzhang", PASS) as s:
        data = json.loads(home.keys_path.read_text())
        assert data["format"] == 2 and data["users"]["zhanzhang"]["v"] == 2 and data["recovery"]["v"] == 2
        assert "wrapped" in data["users"]["daiban"]  # not logged in yet: untouched, still works
        assert s.store.scalar("SELECT count(*) FROM settings WHERE key = 'recovery_code'") == 0
        assert users.recovery_code(s) == code  # moved, sealed to the supervisor
        # Rekey refuses while daiban has an old entry, and names him.
        with pytest.raises(ValidationFailed) as exc:
            rekey(s)
        assert "daiban" in exc.value.details[0].message and "登录一次" in exc.value.details[0].message
    home.unlock("daiban", CLERK_PASS).close()
    assert json.loads(home.keys_path.read_text())["users"]["daiban"]["v"] == 2
    with home.unlock("zhanzhang", PASS) as s:
        assert rekey(s) is None  # the recovery entry was upgraded with the code: it is kept
    home.unlock("daiban", CLERK_PASS).close()
    home.recover(code, "zhanzhang", "after-the-fire-2026").close()


def test_old_recovery_entry_still_recovers(home, staffed):
    code = make_legacy(home, staffed, {"zhanzhang": PASS, "daiban": CLERK_PASS})
    home.recover(code, "zhanzhang", "after-the-fire-2026").close()
    with home.unlock("zhanzhang", "after-the-fire-2026") as s:
        assert users.recovery_code(s) == code


def test_supervisor_reset_upgrades_a_clerk_for_rekey(home, staffed):
    make_legacy(home, staffed, {"zhanzhang": PASS, "daiban": CLERK_PASS})
    with home.unlock("zhanzhang", PASS) as s:
        users.change_passphrase(s, "daiban", "clerk-reset-2026")
        assert rekey(s) is None
    home.unlock("daiban", "clerk-reset-2026").close()


# --- the recovery code is a supervisor's only -------------------------------------------------
def test_recovery_code_in_no_table_and_reveal_audited(home, staffed):
    code = users.recovery_code(staffed)
    reveals = staffed.store.scalar("SELECT count(*) FROM audit WHERE action = 'recovery.reveal'")
    assert reveals == 1
    with home.unlock("daiban", CLERK_PASS) as clerk:
        with pytest.raises(PermissionDenied):
            users.recovery_code(clerk)
        # The clerk has the whole database open: the code is in none of its tables …
        for table in [r["name"] for r in clerk.store.query("SELECT name FROM sqlite_master WHERE type = 'table'")]:
            for row in clerk.store.query(f'SELECT * FROM "{table}"'):
                text = json.dumps(row, default=lambda b: b.hex() if isinstance(b, bytes) else str(b))
                assert code not in text and code.replace("-", "") not in text, table
        # … and the key file holds it only sealed to the supervisor, which the clerk's key cannot open.
        assert code not in home.keys_path.read_text()
        assert clerk.keys.take_recovery_code("zhanzhang", clerk.user_key) is None
        assert clerk.keys.take_recovery_code("daiban", clerk.user_key) is None


# --- users' rows against the audit trail --------------------------------------------------------
def test_role_change_behind_the_apps_back_is_reported(home, staffed):
    assert users.verify_rows(staffed) == []
    users.set_role(staffed, "daiban", Role.SUPERVISOR)
    users.set_role(staffed, "daiban", Role.CLERK)
    users.deactivate(staffed, "daiban", rekey=False)
    users.activate(staffed, "daiban", "clerk-again-2026")
    assert users.verify_rows(staffed) == []
    staffed.store.conn.execute("UPDATE users SET role = 'supervisor' WHERE username = 'daiban'")
    problems = users.verify_rows(staffed)
    assert len(problems) == 1 and "daiban" in problems[0].message and "站长" in problems[0].message
    assert audit.verify(staffed.store.db)[1] == []  # the chain itself is intact: only this check sees it
    staffed.store.conn.execute("UPDATE users SET role = 'clerk' WHERE username = 'daiban'")
    staffed.store.conn.execute("INSERT INTO users VALUES ('x1', 'ghost', '某某', 'supervisor', 1, 'now')")
    staffed.store.conn.execute("DELETE FROM users WHERE username = 'daiban'")
    messages = [p.message for p in users.verify_rows(staffed)]
    assert any("ghost" in m and "没有任何审计记录" in m for m in messages)
    assert any("daiban" in m and "被删除" in m for m in messages)


# --- a power cut in the middle of a key change ------------------------------------------------
REKEY_CHILD = """
import os, sys
from station.services.session import StationHome
from station.services.rekey import rekey
from station.store import db, keys
keys.SCRYPT_N, keys.SCRYPT_R = 2**10, 8
where = sys.argv[2]
if where == "before_pragma":       # keys.json with both keys is on disk; the store not yet rekeyed
    db.Store.rekey = lambda self, key: os._exit(9)
else:                              # the store is rekeyed; keys.json still holds the old key too
    real = db.Store.rekey
    def rekey_then_die(self, key):
        real(self, key)
        os._exit(9)
    db.Store.rekey = rekey_then_die
s = StationHome(sys.argv[1]).unlock("zhanzhang", sys.argv[3])
rekey(s)
"""


@pytest.mark.parametrize("where", ["before_pragma", "after_pragma"])
def test_power_cut_during_rekey(home, staffed, tmp_path, where):
    cases.intake(staffed, intake_doc())
    kept = tmp_path / "keys-copy.json"
    shutil.copy(home.keys_path, kept)
    users.deactivate(staffed, "daiban", rekey=False)
    old_key = staffed.db_key
    staffed.close()
    child = subprocess.run([sys.executable, "-c", REKEY_CHILD, str(home.dir), where, PASS], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.returncode == 9, child.stderr
    both = json.loads(home.keys_path.read_text())
    assert len(both["users"]["zhanzhang"]["seals"]) == 2  # the cut came between the steps
    with home.unlock("zhanzhang", PASS) as s:  # the next unlock finishes the change
        assert s.db_key != old_key and s.store.scalar("SELECT count(*) FROM cases") == 1
        assert s.store.scalar("SELECT count(*) FROM audit WHERE action = 'store.rekey'") == 1
    data = json.loads(home.keys_path.read_text())
    assert all(len(e["seals"]) == 1 for e in [*data["users"].values(), data["recovery"]])
    with pytest.raises(StoreError):
        open_store(home.db_path, keys.KeyRing.load(kept).unlock("daiban", CLERK_PASS)).close()


def test_unlock_refuses_inactive_user_even_with_entry(home, staffed):
    """A row set inactive (say by an older program) while the key file still has the entry."""
    staffed.store.conn.execute("UPDATE users SET active = 0 WHERE username = 'daiban'")
    with pytest.raises(StationError) as exc:
        home.unlock("daiban", CLERK_PASS)
    assert "已停用" in exc.value.title


def test_a_supervisor_made_clerk_no_longer_holds_a_working_recovery_code(home, staffed):
    """A deputy who read the recovery code and is then made a clerk must not be able to take over the
    real supervisor's account with it."""
    users.set_role(staffed, "daiban", Role.SUPERVISOR)
    with home.unlock("daiban", CLERK_PASS) as deputy:
        known = users.recovery_code(deputy)  # read while a supervisor (audited)
    new_code = users.set_role(staffed, "daiban", Role.CLERK)
    assert new_code and new_code != known
    with pytest.raises(AuthFailed):
        home.recover(known, "zhanzhang", "taken-over-zhanghu-77")
    home.recover(new_code, "zhanzhang", "recovered-zhanghu-78").close()
