"""Enrolment (登记) cryptography shared by station and hub: pure, no store and no network.

Two ways to enrol, both keyed by a one-time code the township hands the clerk on paper:

- **Online**: SPAKE2 (``spake2``, the construction Magic Wormhole uses) on the code. Each side
  learns a shared key only if both used the same code; a man in the middle who does not know it
  gets one guess per run and learns nothing else. Keys for each direction come from HKDF-SHA256
  with their own ``info``; the messages are AES-256-GCM boxes bound to the session.
- **USB stick**: the enrolment file carries the hub's public info under an HMAC keyed by
  ``scrypt(code, salt)``; the station's reply (its keys and a proof of the code) is encrypted to
  the hub's X25519 key the way bundles are (``sync.bundle.encrypt_to``).

The threat model is in ``sync/SPEC.md``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from spake2 import SPAKE2_A, SPAKE2_B
from spake2.spake2 import SPAKEError

from station.errors import StationError
from sync.bundle import canonical, decrypt_with, ed25519_key_ok, encrypt_to, x25519_key_ok

# 10 characters from 32 (no 0/O, 1/I): 50 bits, easy to read off paper and type.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
ENROL_DAYS = 14
MAX_ATTEMPTS = 10  # online sessions (or failed stick replies) per code before it locks
SESSION_SECONDS = 300
# One guess against a stolen enrolment file costs one scrypt: ~0.13 s and 32 MiB here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
BOX_PAD = 1024  # every hub-info box has the same length, whatever the station's numbers
_PROTOCOL = b"village-station enrol v1"
REPLY_INFO = b"village-station enrol-reply v1"
LOCKED_MESSAGE = "登记码尝试次数过多,已锁定:请到乡镇重新生成登记码"
_STATION_CODE = re.compile(r"^[A-Z0-9]{2,12}$")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """What the clerk typed, as the code: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-_]", "", str(code or "")).upper()


def well_formed_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


def printable_code(code: str) -> str:
    """Two groups of five, as printed for the clerk (``K7P3X-Q9M2D``)."""
    return f"{code[:5]}-{code[5:]}"


def valid_station_code(code) -> bool:
    return isinstance(code, str) and bool(_STATION_CODE.match(code))


def code_hash(code: str) -> str:
    """What the hub keeps of the code for online enrolment (and the SPAKE2 password both use)."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


# --- online: SPAKE2 ---------------------------------------------------------------------------
def _ids(station_code: str, hub_id: str) -> dict:
    # Distinct identities per side, naming both parties: a run for one station or one hub cannot
    # be reused for another.
    return {"idA": _PROTOCOL + b" station " + station_code.encode(), "idB": _PROTOCOL + b" hub " + hub_id.encode()}


def station_pake(station_code: str, hub_id: str, code: str) -> SPAKE2_A:
    return SPAKE2_A(code_hash(code).encode(), **_ids(station_code, hub_id))


def hub_pake(station_code: str, hub_id: str, password: bytes) -> SPAKE2_B:
    return SPAKE2_B(password, **_ids(station_code, hub_id))


def finish_pake(pake, message: bytes) -> bytes | None:
    """The shared key, or None if the other side's message is not a SPAKE2 message at all."""
    try:
        return pake.finish(message)
    except (SPAKEError, ValueError, AssertionError):
        return None


@dataclass(frozen=True)
class SessionKeys:
    hub_info: bytes  # hub → station: the hub's public info
    station_keys: bytes  # station → hub: the station's public keys
    hub_confirm: bytes  # hub → station: "activated with these keys"


def session_keys(shared: bytes) -> SessionKeys:
    def derive(label: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PROTOCOL + b" " + label).derive(shared)
    return SessionKeys(derive(b"hub-info"), derive(b"station-keys"), derive(b"hub-confirm"))


def box_aad(session: str, station_code: str, step: str) -> bytes:
    return canonical({"session": session, "station_code": station_code, "step": step})


def seal_box(key: bytes, obj: dict, aad: bytes, pad_to: int = 0) -> str:
    plain = canonical(obj)
    plain += b" " * max(0, pad_to - len(plain))  # JSON ignores trailing blanks
    nonce = os.urandom(12)
    return b64(nonce + AESGCM(key).encrypt(nonce, plain, aad))


def open_box(key: bytes, box, aad: bytes) -> dict | None:
    """The box's content, or None if it does not open (wrong code, wrong server, or tampered)."""
    try:
        raw = unb64(box)
        value = json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], aad))
    except (ValueError, InvalidTag):
        return None
    return value if isinstance(value, dict) else None


def public_keys_ok(sign_pub, enc_pub) -> bool:
    """Raw Ed25519 and X25519 public keys (base64) that can be used: an all-zero or other low-order
    X25519 key would make every later bundle to that peer fail, so it is refused at enrolment."""
    try:
        return ed25519_key_ok(unb64(sign_pub)) and x25519_key_ok(unb64(enc_pub))
    except ValueError:
        return False


# --- the USB stick: file MAC and encrypted reply ----------------------------------------------
def file_key(code: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(normalize_code(code).encode())


def file_mac(key: bytes, doc: dict) -> str:
    body = {k: v for k, v in doc.items() if k != "mac"}
    return hmac.new(key, _PROTOCOL + b" file " + canonical(body), hashlib.sha256).hexdigest()


def reply_proof(key: bytes, station_code: str, hub_id: str, sign_pub: str, enc_pub: str) -> str:
    body = canonical({"station_code": station_code, "hub_id": hub_id, "sign_pub": sign_pub, "enc_pub": enc_pub})
    return hmac.new(key, _PROTOCOL + b" reply " + body, hashlib.sha256).hexdigest()


def _reply_aad(station_code: str, hub_id: str) -> bytes:
    return canonical({"kind": "enrolment_reply", "station_code": station_code, "hub_id": hub_id})


def seal_reply(hub_enc_pub: bytes, station_code: str, hub_id: str, payload: dict) -> dict:
    """The reply file: who it is from and for in plain (routing), everything else encrypted."""
    eph, nonce, ciphertext = encrypt_to(hub_enc_pub, canonical(payload), _reply_aad(station_code, hub_id), REPLY_INFO)
    return {"format": 2, "kind": "enrolment_reply", "station_code": station_code, "hub_id": hub_id,
            "eph": b64(eph), "nonce": b64(nonce), "box": b64(ciphertext)}


def open_reply(hub_enc: X25519PrivateKey, doc: dict) -> dict | None:
    try:
        plain = decrypt_with(hub_enc, unb64(doc["eph"]), unb64(doc["nonce"]), unb64(doc["box"]),
                             _reply_aad(doc["station_code"], doc["hub_id"]), REPLY_INFO)
        value = json.loads(plain)
    except (KeyError, TypeError, ValueError, InvalidTag):
        return None
    return value if isinstance(value, dict) else None


class EnrolLocked(StationError):
    """Too many wrong attempts at one station code: only a fresh code from the township helps."""

    code = "enrol_locked"
    exit_code = 13


class EnrolFailed(StationError):
    """The code was wrong, expired or used, or the other side is not who it claims to be."""

    code = "enrol_failed"
    exit_code = 12
