"""The station's signing key (Ed25519) and receipt tokens (回执二维码).

A receipt's QR code carries ``VS1:<case number>:<due date>:<signature>``, all in QR's
alphanumeric alphabet (upper case, digits, ``:`` and ``-``) so the code stays small. The
signature covers everything before it, so a changed digit anywhere, or a receipt made by
another station, fails verification — offline, with only the station's public key.
The same key will sign sync bundles; the township learns it at enrolment.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.services import audit
from station.services.session import Session

TOKEN_VERSION = "VS1"
_TOKEN = re.compile(r"^VS1:([A-Z0-9]{2,12}-\d{4}-\d{6}):(\d{8}|00000000):([A-Z2-7]{103})$")
_RAW = serialization.Encoding.Raw


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def signing_key(session: Session) -> Ed25519PrivateKey:
    """The station's Ed25519 key, made on first use (stations created before it existed)."""
    row = session.store.one("SELECT private FROM station_keys WHERE purpose = 'signing'")
    if row is not None:
        return Ed25519PrivateKey.from_private_bytes(bytes(row["private"]))
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    with session.store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO station_keys (purpose, private, public, created_at) VALUES ('signing', ?, ?, ?)",
                   (private, public, audit.now_iso()))
        audit.record(db, session.user.username, "keys.create", "signing", {"public": public.hex()})
    return signing_key(session)  # re-read: another writer may have won the INSERT


def public_key(session: Session) -> bytes:
    return signing_key(session).public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def _message(number: str, due: str) -> bytes:
    return f"{TOKEN_VERSION}:{number}:{due}".encode("ascii")


def receipt_token(session: Session, number: str, due_on: date | None) -> str:
    due = due_on.strftime("%Y%m%d") if due_on else "00000000"  # 00000000: deadline starts when materials are complete
    signature = signing_key(session).sign(_message(number, due))
    return f"{TOKEN_VERSION}:{number}:{due}:{_b32(signature)}"


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    number: str | None
    due: str | None
    reason: str


def verify_token(token: str, station_code: str, public: bytes) -> ReceiptCheck:
    """Pure check of a scanned or typed receipt code against one station's public key."""
    m = _TOKEN.match(token.strip().upper())
    if not m:
        return ReceiptCheck(False, None, None, "这不是本系统的回执二维码(格式不符)")
    number, due, sig = m.groups()
    # 64 signature bytes fill 103 base32 characters with 3 bits to spare: the last character's
    # filler bits are not covered by the signature, so 8 spellings would decode alike. Only the
    # spelling the station printed (filler bits zero) is a receipt.
    if _b32(_unb32(sig)) != sig:
        return ReceiptCheck(False, number, due, "签名不符:回执码与本站打印的不一致,请逐字核对或重新扫描")
    if not number.startswith(station_code + "-"):
        return ReceiptCheck(False, number, due, f"此回执由其他服务站({number.split('-')[0]})出具,不是本站回执")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(_unb32(sig), _message(number, due))
    except (InvalidSignature, ValueError):
        return ReceiptCheck(False, number, due, "签名不符:回执内容被改动,或不是本站出具的真实回执")
    due_text = "材料补齐后计算" if due == "00000000" else f"{due[:4]}-{due[4:6]}-{due[6:]}"
    return ReceiptCheck(True, number, due_text, "真实回执")
