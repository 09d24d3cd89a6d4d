"""Key wrapping: passphrases, recovery code, re-wrap without re-encryption, failure delays."""
import json
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
    assert entry["kdf"] == "scrypt" and set(entry) >= {"salt", "nonce", "wrapped", "n", "r", "p"}
    assert session.db_key.hex() not in home.keys_path.read_text()


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
    old_wrap = json.loads(home.keys_path.read_text())["users"]["daiban"]["wrapped"]
    with home.unlock("daiban", "clerk-pass-1") as clerk:
        with pytest.raises(AuthFailed):
            users.change_passphrase(clerk, "daiban", "new-clerk-pass", old_passphrase="not-it-at-all")
        users.change_passphrase(clerk, "daiban", "new-clerk-pass", old_passphrase="clerk-pass-1")
        with pytest.raises(PermissionDenied):
            users.change_passphrase(clerk, "zhanzhang", "stolen-pass-1")
        # audit entries were written; the key itself did not change
        key = clerk.db_key
    assert json.loads(home.keys_path.read_text())["users"]["daiban"]["wrapped"] != old_wrap
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
