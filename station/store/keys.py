"""Key handling (DESIGN.md, Keys and encryption).

The database key is 32 random bytes used as a raw SQLCipher key. It is never stored in the
clear. ``keys.json`` beside the database holds, for each user (format 2):

- an X25519 key pair: the public half in the clear, the private half wrapped (AES-256-GCM)
  under a key derived from the user's passphrase with Scrypt;
- the database key *sealed* to that public key (``sealing.seal``), one copy per live key id;
- for a supervisor, the recovery code sealed to the same public key (``recovery show``).

The recovery code has the same shape: a key pair whose private half is wrapped under the code.
Because the database key is sealed to public keys, a supervisor can give a new database key to
every active user and to the recovery code without knowing anyone's passphrase (``rekey``),
and leave out whoever was deactivated: their old copy of ``keys.json`` then opens nothing.
Changing one's own passphrase re-wraps the same private key; nothing else changes.

Format 1 (earlier versions) wrapped the database key itself under each passphrase. Such an
entry still opens; the first unlock with the passphrase turns it into format 2 (same Scrypt
salt and cost, so it costs no second derivation). ``wrap``/``unwrap`` remain for those entries.

``keys.json`` holds no personal data: login names, KDF parameters, public keys, ciphertexts,
the names of deactivated users, and the count of recent failed unlocks that drives the growing
delay. It is written atomically and owner-only (``fileio``).
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from station.core import passphrase as passphrase_policy
from station.errors import AuthFailed, FieldError, StoreError, ValidationFailed
from station.fileio import OWNER_ONLY, atomic_write, owner_only
from station.store import prederive, sealing

FORMAT = 2
READABLE = (1, 2)
# A station's folder: the encrypted database and the key ring beside it.
DB_FILE = "station.db"
KEYS_FILE = "keys.json"
# Scrypt cost: ~0.27 s on this 2-core machine, about a second on a ten-year-old PC. Memory is
# 128·r·N = 64 MiB: the app itself needs ~60 MB, and the unlock peak must stay under 150 MB on
# 2 GB PCs, so p=2 buys the time that a larger N would have bought in memory.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 16, 2
MIN_PASSPHRASE = passphrase_policy.MIN_LENGTH
# After this many failures in a row, each further attempt waits longer (2, 4, 8 … 300 s).
FREE_FAILURES = 3
MAX_DELAY_S = 300
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY = "recovery"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def check_passphrase(passphrase: str, user_inputs: Mapping[str, str] | Iterable[str] = ()) -> list[FieldError]:
    """The strength rules (``station.core.passphrase``); ``user_inputs`` are the words of this
    context a passphrase must not be built from, e.g. ``{"登录名": "daiban"}``."""
    return passphrase_policy.problems(passphrase, user_inputs)


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # A command-line script may have started this very derivation while it imported (prederive).
    return prederive.take(secret, salt, n, r, p) or Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8"))


def wrap(db_key: bytes, secret: str, label: str) -> dict:
    """A format-1 entry: the database key itself wrapped under the secret (read, never written now)."""
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


def key_id(db_key: bytes) -> str:
    """A short name for a database key, to tell its sealed copies apart (reveals nothing of it)."""
    return hashlib.sha256(b"village-station key id\0" + db_key).hexdigest()[:16]


def _seal_aad(label: str, kid: str) -> str:
    return f"village-station/{label}/db-key/{kid}"


def _private_aad(label: str) -> str:
    return f"village-station/{label}/private"


def _code_aad(label: str) -> str:
    return f"village-station/{label}/recovery-code"


@dataclass
class Unlocked:
    """What a passphrase (or the recovery code) opens: the database key(s) — the current one
    first; two only while a key change is under way — and the holder's private key."""

    keys: list[bytes]
    private: X25519PrivateKey = field(repr=False)


def _new_entry(secret: str, label: str, db_keys: Iterable[bytes], private: X25519PrivateKey | None = None) -> tuple[dict, X25519PrivateKey]:
    """A format-2 entry: a key pair (new, or the given one re-wrapped) and the keys sealed to it."""
    # Parameters are read at call time and stored with the entry, so they can be raised later
    # without breaking existing entries (and tests may lower them for speed).
    n, r, p = SCRYPT_N, SCRYPT_R, SCRYPT_P
    salt = secrets.token_bytes(16)
    entry = {"v": 2, "kdf": "scrypt", "n": n, "r": r, "p": p, "salt": _b64(salt), "seals": {}}
    private = private or X25519PrivateKey.generate()
    _store_private(entry, _derive(secret, salt, n, r, p), label, private)
    for db_key in db_keys:
        _add_seal(entry, label, db_key)
    return entry, private


def _store_private(entry: dict, kek: bytes, label: str, private: X25519PrivateKey) -> None:
    nonce = secrets.token_bytes(12)
    entry["nonce"] = _b64(nonce)
    entry["private"] = _b64(AESGCM(kek).encrypt(nonce, private.private_bytes_raw(), _private_aad(label).encode()))
    entry["public"] = _b64(sealing.public_raw(private))


def _add_seal(entry: dict, label: str, db_key: bytes) -> None:
    kid = key_id(db_key)
    entry["seals"][kid] = sealing.seal(_unb64(entry["public"]), db_key, _seal_aad(label, kid))


def _open_entry(entry: dict, secret: str, label: str, current: str | None) -> tuple[Unlocked | None, bool]:
    """Open an entry with its secret: (what it opens or None, whether the entry was upgraded).

    A format-1 entry is turned into format 2 in place, under the same salt and cost: the key
    derived just now wraps the new private key, so the upgrade costs no second Scrypt run."""
    kek = _derive(secret, _unb64(entry["salt"]), entry["n"], entry["r"], entry["p"])
    if entry.get("v") != 2:
        try:
            db_key = AESGCM(kek).decrypt(_unb64(entry["nonce"]), _unb64(entry["wrapped"]), f"village-station/{label}".encode())
        except InvalidTag:
            return None, False
        private = X25519PrivateKey.generate()
        entry.pop("wrapped")
        entry.update({"v": 2, "seals": {}})
        _store_private(entry, kek, label, private)
        _add_seal(entry, label, db_key)
        return Unlocked([db_key], private), True
    try:
        raw = AESGCM(kek).decrypt(_unb64(entry["nonce"]), _unb64(entry["private"]), _private_aad(label).encode())
    except InvalidTag:
        return None, False
    private = X25519PrivateKey.from_private_bytes(raw)
    order = sorted(entry["seals"], key=lambda kid: kid != current)  # the current key first
    keys = []
    for kid in order:
        db_key = sealing.open_sealed(private, entry["seals"][kid], _seal_aad(label, kid))
        if db_key is not None and key_id(db_key) == kid:
            keys.append(db_key)
    return Unlocked(keys, private), False


@dataclass
class KeyRing:
    """The sealed copies of the database key, kept in ``keys.json``."""

    path: Path
    data: dict

    @classmethod
    def create(cls, path: Path) -> "KeyRing":
        return cls(path, {"format": FORMAT, "current": None, "users": {}, "recovery": None, "failures": {}, "removed": {}})

    @classmethod
    def new_store_key(cls, path: Path, username: str, passphrase: str) -> tuple["KeyRing", bytes, str, X25519PrivateKey]:
        """A fresh random database key, sealed for the first user (whose private key is returned)
        and for a new recovery code. The ring is not saved: the caller saves it once the database exists."""
        db_key = secrets.token_bytes(32)
        recovery = new_recovery_code()
        ring = cls.create(path)
        private = ring.set_user(username, db_key, passphrase)
        ring.set_recovery(recovery, [db_key])
        return ring, db_key, recovery, private

    @classmethod
    def load(cls, path: Path) -> "KeyRing":
        try:
            owner_only(path)
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise StoreError(f"找不到密钥文件 {path}:该目录下还没有建立服务站(请先运行 station init)") from None
        except (OSError, ValueError) as exc:
            # A read-only stick or a failing disk is not a damaged key file: say which it is.
            from station.store.failures import translate
            found = translate(exc, path) if isinstance(exc, OSError) else None
            raise found or StoreError(f"密钥文件 {path} 已损坏或无法读取:{exc}。请用恢复码恢复。") from None
        if data.get("format") not in READABLE:
            raise StoreError(f"密钥文件版本 {data.get('format')} 无法识别,请升级本软件")
        data["format"] = FORMAT
        data.setdefault("current", None)
        data.setdefault("removed", {})
        return cls(path, data)

    def reload(self) -> None:
        """Read the file again (another program may have changed it since this one opened it)."""
        self.data = KeyRing.load(self.path).data

    def save(self) -> None:
        """Write atomically and owner-only: a power cut leaves either the old file or the new one."""
        atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode("utf-8"), mode=OWNER_ONLY)

    @property
    def current(self) -> str | None:
        return self.data["current"]

    # --- users -----------------------------------------------------------------
    def users(self) -> list[str]:
        return sorted(self.data["users"])

    def is_upgraded(self, username: str) -> bool:
        entry = self.data["users"].get(username)
        return bool(entry) and entry.get("v") == 2

    def public_key(self, username: str) -> bytes | None:
        entry = self.data["users"].get(username)
        return _unb64(entry["public"]) if entry and entry.get("v") == 2 else None

    def set_user(self, username: str, db_key: bytes, passphrase: str, private: X25519PrivateKey | None = None) -> X25519PrivateKey:
        """A new entry for ``username`` holding ``db_key``. Given the user's own ``private`` key
        (a passphrase change), that key is re-wrapped and what was sealed to it stays readable."""
        problems = check_passphrase(passphrase, {"登录名": username})
        if problems:
            raise ValidationFailed("密码不符合要求", problems)
        old = self.data["users"].get(username)
        entry, private = _new_entry(passphrase, f"user:{username}", [db_key], private)
        if old and old.get("v") == 2 and old["public"] == entry["public"]:
            entry["seals"] = {**entry["seals"], **old["seals"]}
            if "recovery_code" in old:
                entry["recovery_code"] = old["recovery_code"]
        self.data["users"][username] = entry
        self.data["failures"].pop(username, None)
        self.data["removed"].pop(username, None)
        self.data["current"] = self.data["current"] or key_id(db_key)
        return private

    def remove_user(self, username: str, when: str) -> None:
        """Deactivated: their entry goes, and their name is kept to say so at the login."""
        self.data["users"].pop(username, None)
        self.data["failures"].pop(username, None)
        self.data["removed"][username] = when

    def verify(self, username: str, passphrase: str) -> bool:
        """Whether the passphrase is this user's (for a passphrase change; counts no failure)."""
        entry = self.data["users"].get(username)
        return bool(entry) and _open_entry(copy.deepcopy(entry), passphrase, f"user:{username}", self.current)[0] is not None

    def open(self, username: str, passphrase: str, now: float | None = None) -> Unlocked:
        """The database key(s) and the user's private key, or ``AuthFailed`` that says what to do."""
        now = time.time() if now is None else now
        if username in self.data["removed"] and username not in self.data["users"]:
            raise AuthFailed(f"用户“{username}”已停用,不能登录。如需恢复,请站长重新启用该用户。")
        entry = self.data["users"].get(username)
        fails = self.data["failures"].get(username, {"count": 0, "last": 0.0})
        wait = fails["last"] + failure_delay(fails["count"]) - now
        if wait > 0:
            raise AuthFailed(f"密码错误次数过多,请 {int(wait) + 1} 秒后再试")
        opened, upgraded = _open_entry(entry, passphrase, f"user:{username}", self.current) if entry else (None, False)
        if opened is None or not opened.keys:
            count = fails["count"] + 1
            self.data["failures"][username] = {"count": count, "last": now}
            self.save()
            delay = failure_delay(count)
            hint = f";已连续错误 {count} 次,需等待 {int(delay)} 秒后才能再试" if delay else ""
            raise AuthFailed(f"用户名或密码不正确{hint}。忘记密码请找站长重设,或用恢复码恢复。")
        if upgraded:
            self.data["current"] = self.data["current"] or key_id(opened.keys[0])
        if fails["count"] or upgraded:
            self.data["failures"].pop(username, None)
            self.save()
        return opened

    def unlock(self, username: str, passphrase: str, now: float | None = None) -> bytes:
        """The current database key (see ``open``)."""
        return self.open(username, passphrase, now).keys[0]

    # --- the recovery code -------------------------------------------------------
    def set_recovery(self, code: str, db_keys: Iterable[bytes]) -> None:
        """A new recovery key pair under ``code`` (normalised), holding ``db_keys``."""
        db_keys = list(db_keys)
        self.data["recovery"] = _new_entry(normalize_recovery_code(code), RECOVERY, db_keys)[0]
        self.data["current"] = self.data["current"] or key_id(db_keys[0])

    def recovery_upgraded(self) -> bool:
        entry = self.data.get("recovery")
        return bool(entry) and entry.get("v") == 2

    def open_recovery(self, code: str) -> Unlocked:
        """What the recovery code opens (a format-1 entry is upgraded in place; save to keep it)."""
        entry = self.data.get("recovery")
        opened = _open_entry(entry, normalize_recovery_code(code), RECOVERY, self.current)[0] if entry else None
        if opened is None or not opened.keys:
            raise AuthFailed("恢复码不正确,请核对后重新输入(字母不区分大小写,横线可省略)")
        self.data["current"] = self.data["current"] or key_id(opened.keys[0])
        return opened

    def unlock_recovery(self, code: str) -> bytes:
        return self.open_recovery(code).keys[0]

    # The recovery code itself, sealed to a supervisor's public key: only their passphrase
    # opens it, so a clerk with the database open still cannot read it.
    def give_recovery_code(self, username: str, code: str) -> bool:
        entry = self.data["users"].get(username)
        if not entry or entry.get("v") != 2:
            return False
        label = f"user:{username}"
        entry["recovery_code"] = sealing.seal(_unb64(entry["public"]), normalize_recovery_code(code).encode(), _code_aad(label))
        return True

    def has_recovery_code(self, username: str) -> bool:
        return "recovery_code" in self.data["users"].get(username, {})

    def take_recovery_code(self, username: str, private: X25519PrivateKey | None) -> str | None:
        sealed = self.data["users"].get(username, {}).get("recovery_code")
        if sealed is None or private is None:
            return None
        code = sealing.open_sealed(private, sealed, _code_aad(f"user:{username}"))
        return code.decode() if code else None

    def drop_recovery_code(self, username: str) -> None:
        self.data["users"].get(username, {}).pop("recovery_code", None)

    # --- a new database key (rekey) ---------------------------------------------
    def seal_everywhere(self, db_key: bytes) -> None:
        """Seal ``db_key`` to every user and to the recovery key (all must be format 2)."""
        for username, entry in self.data["users"].items():
            _add_seal(entry, f"user:{username}", db_key)
        _add_seal(self.data["recovery"], RECOVERY, db_key)

    def keep_only(self, db_key: bytes) -> bool:
        """Drop every sealed copy of other keys; ``db_key`` becomes current. True if anything changed."""
        kid = key_id(db_key)
        changed = self.data["current"] != kid
        self.data["current"] = kid
        entries = [(f"user:{u}", e) for u, e in self.data["users"].items()] + [(RECOVERY, self.data.get("recovery"))]
        for _, entry in entries:
            if entry and entry.get("v") == 2:
                stale = [k for k in entry["seals"] if k != kid]
                for k in stale:
                    del entry["seals"][k]
                changed = changed or bool(stale)
        return changed


def station_ring(data_dir: Path) -> "KeyRing":
    """The key ring of the station in ``data_dir``. Loading it and unlocking with it needs only
    this module, so the app can run the 64 MiB Scrypt before it loads the store's libraries
    (``services.session`` finishes the unlock)."""
    data_dir = Path(data_dir)
    if not (data_dir / DB_FILE).exists():
        raise StoreError(f"目录 {data_dir} 中没有服务站。请先运行 station init,或用 --data-dir 指定服务站目录。")
    return KeyRing.load(data_dir / KEYS_FILE)
