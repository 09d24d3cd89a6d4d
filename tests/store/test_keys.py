"""Key wrapping: passphrases, recovery code, re-wrap without re-encryption, failure delays."""
import base64
import json
import os
import time

import pytest

from station.core.models import Role
from station.errors import AuthFailed, PermissionDenied, ValidationFailed
from station.services import cases, users
from station.services.session import StationHome
from station.store import keys
from tests.conftest import PASS, intake_doc


def test_keys_file_holds_only_wraps(home, session):
    data = json.loads(home.keys_path.read_text())
    assert set(data["users"]) == {"zhanzhang"}
    entry = data["users"]["zhanzhang"]
    assert entry["kdf"] == "scrypt" and set(entry) >= {"salt", "nonce", "private", "public", "seals", "n", "r", "p"}
    assert list(entry["seals"]) == [keys.key_id(session.db_key)] == [data["current"]]
    text = home.keys_path.read_text()
    for secret in (session.db_key, session.user_key.private_bytes_raw()):
        assert secret.hex() not in text and base64.b64encode(secret).decode() not in text


def test_wrong_passphrase_clear_message_and_growing_delay(home, session):
    session.close()
    ring = keys.KeyRing.load(home.keys_path)
    t0 = 1_000_000.0
    for _ in range(keys.FREE_FAILURES):
        with pytest.raises(AuthFailed) as exc:
            ring.unlock("zhanzhang", "wrong-pass-x", now=t0)
        assert "密码不正确" in exc.value.title
    assert "等待 2 秒" in exc.value.title
    # Too soon: refused without even trying the passphrase (the right one included).
    with pytest.raises(AuthFailed) as exc:
        ring.unlock("zhanzhang", PASS, now=t0 + 1)
    assert "秒后再试" in exc.value.title
    # After the wait, a wrong one doubles the delay; the right one clears the count.
    with pytest.raises(AuthFailed) as exc:
        ring.unlock("zhanzhang", "wrong-pass-x", now=t0 + 3)
    assert "等待 4 秒" in exc.value.title
    reloaded = keys.KeyRing.load(home.keys_path)  # the count survives a restart
    assert reloaded.data["failures"]["zhanzhang"]["count"] == 4
    assert reloaded.unlock("zhanzhang", PASS, now=t0 + 8) == session.db_key
    assert "zhanzhang" not in keys.KeyRing.load(home.keys_path).data["failures"]


def test_failure_delay_grows_and_is_capped():
    delays = [keys.failure_delay(n) for n in range(1, 15)]
    assert delays[:2] == [0, 0] and delays[2] == 2 and delays == sorted(delays) and max(delays) == keys.MAX_DELAY_S


def test_passphrase_change_rewraps_and_never_reencrypts(home, session, today):
    cases.intake(session, intake_doc())
    users.add(session, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    session.close()
    salt = home.db_path.read_bytes()[:16]  # SQLCipher's per-file salt: re-encryption would change it
    old_entry = json.loads(home.keys_path.read_text())["users"]["daiban"]
    with home.unlock("daiban", "clerk-pass-1") as clerk:
        with pytest.raises(AuthFailed):
            users.change_passphrase(clerk, "daiban", "new-clerk-pass", old_passphrase="not-it-at-all")
        users.change_passphrase(clerk, "daiban", "new-clerk-pass", old_passphrase="clerk-pass-1")
        with pytest.raises(PermissionDenied):
            users.change_passphrase(clerk, "zhanzhang", "stolen-pass-1")
        # audit entries were written; the key itself did not change
        key = clerk.db_key
    new_entry = json.loads(home.keys_path.read_text())["users"]["daiban"]
    # the same private key, re-wrapped under the new passphrase; the sealed key untouched
    assert new_entry["private"] != old_entry["private"] and new_entry["salt"] != old_entry["salt"]
    assert new_entry["public"] == old_entry["public"] and new_entry["seals"] == old_entry["seals"]
    with pytest.raises(AuthFailed):
        home.unlock("daiban", "clerk-pass-1")
    with home.unlock("daiban", "new-clerk-pass") as again:
        assert again.db_key == key
        assert again.store.scalar("SELECT count(*) FROM cases") == 1
    assert home.db_path.read_bytes()[:16] == salt


def test_short_passphrase_refused(home):
    with pytest.raises(ValidationFailed) as exc:
        home.init("XX0101", "石板村", "zhanzhang", "罗世芬", "short")
    assert exc.value.details[0].code == "too_short"
    assert not home.exists()


def test_recovery_code_sets_new_supervisor_passphrase(tmp_path):
    home = StationHome(tmp_path / "s")
    s, code = home.init("XX0101", "石板村", "zhanzhang", "罗世芬", PASS)
    users.add(s, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    assert users.recovery_code(s) == code
    s.close()
    with pytest.raises(AuthFailed):
        home.recover("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "zhanzhang", "brand-new-pass")
    with pytest.raises(PermissionDenied):
        home.recover(code, "daiban", "brand-new-pass")
    sloppy = code.lower().replace("-", " ")  # read aloud over the phone, typed in lower case
    home.recover(sloppy, "zhanzhang", "brand-new-pass").close()
    home.unlock("zhanzhang", "brand-new-pass").close()
    with pytest.raises(AuthFailed):
        home.unlock("zhanzhang", PASS)


def test_clerk_cannot_see_recovery_code(home, session):
    users.add(session, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    with home.unlock("daiban", "clerk-pass-1") as clerk:
        with pytest.raises(PermissionDenied):
            users.recovery_code(clerk)


@pytest.mark.real_kdf
def test_real_kdf_cost_is_deliberate():
    start = time.perf_counter()
    entry = keys.wrap(b"k" * 32, "some-passphrase", "user:x")
    assert keys.unwrap(entry, "some-passphrase", "user:x") == b"k" * 32
    assert 128 * entry["r"] * entry["n"] == 64 * 2**20 and entry["p"] == 2  # 64 MiB of memory-hard work
    assert time.perf_counter() - start > 0.1


# --- files are the owner's only --------------------------------------------------------------
def _mode(path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_store_files_are_owner_only(home, session):
    cases.intake(session, intake_doc())  # a write: the WAL and its index exist now
    files = [home.db_path, home.keys_path] + [p for p in home.dir.iterdir() if p.name.startswith("station.db-")]
    assert {p.name for p in files} >= {"station.db", "station.db-wal", "station.db-shm", "keys.json"}
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    # keys.json is rewritten (a new user): the new file, and its temp file, are born 0600
    users.add(session, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    assert _mode(home.keys_path) == 0o600
    session.close()
    # A station made by an earlier version (world-readable files) is tightened when opened.
    for p in home.dir.iterdir():
        p.chmod(0o644)
    home.unlock("daiban", "clerk-pass-1").close()
    assert {p.name: _mode(p) for p in home.dir.iterdir()} == {p.name: 0o600 for p in home.dir.iterdir()}


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_hub_files_are_owner_only(tmp_path):
    from sync.hub.service import HubHome
    hub_home = HubHome(tmp_path / "hub")
    hub, _ = hub_home.init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    hub.add_station("XX0101", "石板村")
    hub.store.close()
    for p in hub_home.dir.iterdir():
        assert _mode(p) == 0o600, p.name
        p.chmod(0o644)
    hub_home.unlock("admin", "hub-pass-2026").store.close()
    assert {p.name: _mode(p) for p in hub_home.dir.iterdir()} == {p.name: 0o600 for p in hub_home.dir.iterdir()}


# --- passphrase strength --------------------------------------------------------------------
@pytest.mark.parametrize("weak,why", [
    ("12345678", "常见"), ("password", "常见"), ("zhanzhang123", "登录名"), ("XX0101XX0101", "服务站编码"),
    ("zhanzhang", "登录名"), ("qwertyuiop", "常见"), ("abcdefgh", "连续"), ("19801231", "日期"), ("11111111", "重复"),
])
def test_weak_passphrases_refused_with_reason_and_suggestion(home, weak, why):
    with pytest.raises(ValidationFailed) as exc:
        home.init("XX0101", "石板村", "zhanzhang", "罗世芬", weak)
    detail = exc.value.details[0]
    assert detail.field == "passphrase" and detail.code in ("weak", "too_short", "too_simple")
    assert why in detail.message, detail.message
    assert "例如" in detail.message  # a better one is suggested …
    suggestion = detail.message.split("例如")[1].strip(" :“”")
    assert keys.check_passphrase(suggestion, ["zhanzhang", "XX0101"]) == []  # … and it would pass
    assert not home.exists()


def test_passphrases_used_by_the_project_still_pass():
    from station.services import demo
    for good in (PASS, demo.DEMO_PASSPHRASE, "clerk-pass-1", "hub-pass-2026", "cli-pass-2026", "bench-pass-2026"):
        assert keys.check_passphrase(good, ["zhanzhang", "daiban", "XX0101"]) == [], good


def test_weak_passphrase_refused_for_new_user_and_change(home, session):
    with pytest.raises(ValidationFailed) as exc:
        users.add(session, "daiban", "杨光明", Role.CLERK, "daiban2026")
    assert "登录名" in exc.value.details[0].message
    with pytest.raises(ValidationFailed):
        users.change_passphrase(session, "zhanzhang", "password1", old_passphrase=PASS)


def test_hub_keys_file_of_earlier_version_still_opens_and_is_upgraded(tmp_path):
    from sync.hub.service import HubHome
    from tests.services.test_users import _legacy_wrap
    hub_home = HubHome(tmp_path / "hub")
    hub, code = hub_home.init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    key = keys.KeyRing.load(hub_home.keys_path).unlock("admin", "hub-pass-2026")
    hub.store.close()
    hub_home.keys_path.write_text(json.dumps({"format": 1, "failures": {}, "recovery": _legacy_wrap(key, code, "recovery"),
                                              "users": {"admin": _legacy_wrap(key, "hub-pass-2026", "user:admin")}}))
    hub_home.unlock("admin", "hub-pass-2026").store.close()
    data = json.loads(hub_home.keys_path.read_text())
    assert data["format"] == 2 and data["users"]["admin"]["v"] == 2 and data["current"] == keys.key_id(key)
    hub_home.unlock("admin", "hub-pass-2026").store.close()
    assert keys.KeyRing.load(hub_home.keys_path).unlock_recovery(code) == key  # the old recovery entry still opens
