"""Key handling (DESIGN.md, Keys and encryption).

The database key is 32 random bytes used as a raw SQLCipher key. It is never stored in the
clear: ``keys.json`` beside the database holds it wrapped (AES-256-GCM) once per user under a
key derived from that user's passphrase with Scrypt, and once under the recovery code shown
at set-up. Changing a passphrase re-wraps the same key; the database is never re-encrypted.

``keys.json`` holds no personal data: login names, KDF parameters, ciphertexts, and the count
of recent failed unlocks that drives the growing delay.
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from station.errors import AuthFailed, FieldError, StoreError, ValidationFailed
from station.fileio import atomic_write

FORMAT = 1
# Scrypt cost: ~0.27 s on this 2-core machine, about a second on a ten-year-old PC. Memory is
# 128·r·N = 64 MiB: the app itself needs ~60 MB, and the unlock peak must stay under 150 MB on
# 2 GB PCs, so p=2 buys the time that a larger N would have bought in memory.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 16, 2
MIN_PASSPHRASE = 8
# After this many failures in a row, each further attempt waits longer (2, 4, 8 … 300 s).
FREE_FAILURES = 3
MAX_DELAY_S = 300
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def check_passphrase(passphrase: str) -> list[FieldError]:
    if len(passphrase) < MIN_PASSPHRASE:
        return [FieldError("passphrase", "too_short", f"密码太短:至少需要{MIN_PASSPHRASE}个字符")]
    if len(set(passphrase)) < 3:
        return [FieldError("passphrase", "too_simple", "密码过于简单:请勿使用同一字符重复")]
    return []


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8"))


def wrap(db_key: bytes, secret: str, label: str) -> dict:
    # Parameters are read at call time and stored with the wrap, so they can be raised later
    # without breaking existing wraps (and tests may lower them for speed).
    n, r, p = SCRYPT_N, SCRYPT_R, SCRYPT_P
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    kek = _derive(secret, salt, n, r, p)
    wrapped = AESGCM(kek).encrypt(nonce, db_key, f"village-station/{label}".encode())
    return {"kdf": "scrypt", "n": n, "r": r, "p": p, "salt": _b64(salt), "nonce": _b64(nonce), "wrapped": _b64(wrapped)}


def unwrap(entry: dict, secret: str, label: str) -> bytes | None:
    kek = _derive(secret, _unb64(entry["salt"]), entry["n"], entry["r"], entry["p"])
    try:
        return AESGCM(kek).decrypt(_unb64(entry["nonce"]), _unb64(entry["wrapped"]), f"village-station/{label}".encode())
    except InvalidTag:
        return None


def new_recovery_code() -> str:
    """25 Crockford base-32 characters (125 bits) in five groups, easy to read aloud and type."""
    chars = "".join(secrets.choice(_CROCKFORD) for _ in range(25))
    return "-".join(chars[i:i + 5] for i in range(0, 25, 5))


def normalize_recovery_code(code: str) -> str:
    """Accept lower case, spaces, and the letters people confuse with digits (O→0, I/L→1)."""
    raw = code.upper().replace(" ", "").replace("-", "")
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"}))
    return "-".join(raw[i:i + 5] for i in range(0, len(raw), 5))


def failure_delay(failures: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` failures in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(2 ** (failures - FREE_FAILURES + 1), MAX_DELAY_S))


@dataclass
class KeyRing:
    """The wrapped copies of one database key, kept in ``keys.json``."""

    path: Path
    data: dict

    @classmethod
    def create(cls, path: Path) -> "KeyRing":
        return cls(path, {"format": FORMAT, "users": {}, "recovery": None, "failures": {}})

    @classmethod
    def new_store_key(cls, path: Path, username: str, passphrase: str) -> tuple["KeyRing", bytes, str]:
        """A fresh random database key, wrapped for the first user and under a new recovery code.
        The ring is not saved: the caller saves it once the database exists."""
        db_key = secrets.token_bytes(32)
        recovery = new_recovery_code()
        ring = cls.create(path)
        ring.set_user(username, db_key, passphrase)
        ring.set_recovery(db_key, recovery)
        return ring, db_key, recovery

    @classmethod
    def load(cls, path: Path) -> "KeyRing":
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise StoreError(f"找不到密钥文件 {path}:该目录下还没有建立服务站(请先运行 station init)") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"密钥文件 {path} 已损坏或无法读取:{exc}。请用恢复码恢复。") from None
        if data.get("format") != FORMAT:
            raise StoreError(f"密钥文件版本 {data.get('format')} 无法识别,请升级本软件")
        return cls(path, data)

    def save(self) -> None:
        """Write atomically: a power cut leaves either the old file or the new one."""
        atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode("utf-8"))

    # --- users -----------------------------------------------------------------
    def users(self) -> list[str]:
        return sorted(self.data["users"])

    def set_user(self, username: str, db_key: bytes, passphrase: str) -> None:
        problems = check_passphrase(passphrase)
        if problems:
            raise ValidationFailed("密码不符合要求", problems)
        self.data["users"][username] = wrap(db_key, passphrase, f"user:{username}")
        self.data["failures"].pop(username, None)

    def unlock(self, username: str, passphrase: str, now: float | None = None) -> bytes:
        """The database key, or ``AuthFailed`` with a message that says what to do."""
        now = time.time() if now is None else now
        entry = self.data["users"].get(username)
        fails = self.data["failures"].get(username, {"count": 0, "last": 0.0})
        wait = fails["last"] + failure_delay(fails["count"]) - now
        if wait > 0:
            raise AuthFailed(f"密码错误次数过多,请 {int(wait) + 1} 秒后再试")
        key = unwrap(entry, passphrase, f"user:{username}") if entry else None
        if key is None:
            count = fails["count"] + 1
            self.data["failures"][username] = {"count": count, "last": now}
            self.save()
            delay = failure_delay(count)
            hint = f";已连续错误 {count} 次,需等待 {int(delay)} 秒后才能再试" if delay else ""
            raise AuthFailed(f"用户名或密码不正确{hint}。忘记密码请找站长重设,或用恢复码恢复。")
        if fails["count"]:
            self.data["failures"].pop(username, None)
            self.save()
        return key

    # --- recovery ----------------------------------------------------------------
    def set_recovery(self, db_key: bytes, code: str) -> None:
        self.data["recovery"] = wrap(db_key, normalize_recovery_code(code), "recovery")

    def unlock_recovery(self, code: str) -> bytes:
        entry = self.data.get("recovery")
        key = unwrap(entry, normalize_recovery_code(code), "recovery") if entry else None
        if key is None:
            raise AuthFailed("恢复码不正确,请核对后重新输入(字母不区分大小写,横线可省略)")
        return key
