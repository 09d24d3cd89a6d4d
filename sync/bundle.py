"""Bundles: one format for the wire and the USB stick (spec: ``sync/SPEC.md``).

Pure: bytes in, bytes out, no store and no network. ``seal`` builds a bundle from a header and
a payload; ``open_bundle`` checks it in a fixed order and returns the payload or raises
``BundleRejected`` with a stable code and a reason in Chinese — it never half-opens.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Callable

import orjson
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from station.store import sealing

MAGIC = b"VSB1"
FORMAT = 1
MAX_HEADER = 64 * 1024
MAX_HEADER_DEPTH = 4  # the header is an object holding ``counts``: 2 levels; nesting bombs stop here
MAX_PAYLOAD_DEPTH = 32  # items hold case events whose payloads nest a little; never deeper
MAX_ITEMS_PER_BUNDLE = 2000  # a sender splits above this; a header declaring more is refused unread
MAX_SEQ = 2**62  # sequence numbers stay SQLite integers (signed 64-bit)
MAX_CIPHERTEXT = 64 * 1024 * 1024  # one bundle on the wire or on the stick
MAX_PAYLOAD = 256 * 1024 * 1024  # uncompressed: refuses decompression bombs
SIG_LEN = 64
_FIXED = 4 + 4 + 4 + SIG_LEN
HKDF_INFO = b"village-station bundle v1"
_RAW = serialization.Encoding.Raw
REQUIRED = {"format": int, "kind": str, "sender": str, "recipient": str, "seq_from": int, "seq_to": int,
            "counts": dict, "created_at": str, "payload_sha256": str, "payload_size": int, "eph": str, "nonce": str}
KINDS = {"outbox", "reply"}


class BundleRejected(Exception):
    """A bundle that cannot be applied; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Opened:
    header: dict
    payload: dict


# A JSON string literal, escapes included; one never closed runs to the end of the text (so a text of
# escaped quotes with no closing one is one match, not a rescan from every quote: quadratic before).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw``, without parsing it: C-speed translate, split or
    regex, and replace; brackets inside strings do not count."""
    return _depth(_brackets(raw))


_NOT_QUOTE_OR_BRACKET = bytes(c for c in range(256) if c not in b'"[]{}')


def _brackets(raw: bytes) -> bytes:
    """The text's brackets outside its string literals, in order. Without a backslash every quote
    opens or closes a string: everything but quotes and brackets goes first (in C), then the strings
    by splitting on quotes, several times faster than the regex (most bundles: text with a quote or a
    line break in it is escaped, and takes the regex)."""
    if b"\\" not in raw:
        return b"".join(raw.translate(None, _NOT_QUOTE_OR_BRACKET).split(b'"')[::2])
    return _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)


_QUICK_PASSES = 16


def _depth(brackets: bytes) -> int:
    """``json_depth`` of a text's brackets (``_brackets``). Balanced brackets are peeled a level per
    pass (every innermost pair at once, in C) when they nest at most ``_QUICK_PASSES`` deep, as a
    bundle's do; deeper or unbalanced ones are counted one by one."""
    brackets = brackets.translate(_OPEN_CLOSE)
    rest = brackets
    for passes in range(_QUICK_PASSES + 1):
        if not rest:
            return passes
        peeled = rest.replace(b"\x01\x02", b"")
        if len(peeled) == len(rest):
            break
        rest = peeled
    return max(itertools.accumulate(1 if b == 1 else -1 for b in brackets), default=0)


class ReadFloat(float):
    """A number read from a bundle with a fraction or an exponent (or NaN, Infinity): a float in every
    way, but orjson refuses to write it, so whatever must spell it as the standard library does falls
    back to the standard library (``exact_json``) exactly when an item holds one."""

    __slots__ = ()


def _read_constant(name: str) -> ReadFloat:
    return ReadFloat(name)


def stdlib_json(obj, sort_keys: bool = True) -> bytes:
    """Compact UTF-8 JSON as the standard library writes it (``ensure_ascii=False``): the spelling
    digests are compared in, and what the orjson writers fall back to."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":")).encode("utf-8")


def exact_json(obj, sort_keys: bool = True) -> bytes:
    """Compact UTF-8 JSON spelt exactly as the standard library spells it (``ensure_ascii=False``):
    by orjson, which writes the same bytes for strings, integers, lists and objects
    (tests/sync/test_canonical.py) and refuses what it would spell differently when that was read
    from a bundle (``ReadFloat``); by the standard library for that and whatever else orjson refuses."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:
        return stdlib_json(obj, sort_keys)


def loads_bounded(raw: bytes, max_depth: int):
    """``json.loads`` that refuses (``ValueError``) what would exhaust the parser: nesting deeper than
    ``max_depth`` (a RecursionError otherwise) and integers too long to convert (CPython's limit).
    (Not orjson: it parses a little faster but holds about eight times the text's size while it does,
    80 MB for a full bundle; tests/sync/test_usb_hostile.py checks a stick is imported in bounded memory.)"""
    if json_depth(raw) > max_depth:
        raise ValueError("JSON nested too deep")
    try:
        return json.loads(raw.decode("utf-8"), parse_float=ReadFloat, parse_constant=_read_constant)
    except RecursionError:  # the scan and the parser disagree only on broken text; refuse it anyway
        raise ValueError("JSON nested too deep") from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# The one ECIES construction of the project (station/store/sealing.py), with the bundles' own info.
def _key(shared: bytes, eph_pub: bytes, recipient_pub: bytes, info: bytes = HKDF_INFO) -> bytes:
    return sealing.derive_key(shared, eph_pub, recipient_pub, info)


def encrypt_to(recipient_pub: bytes, plain: bytes, aad: bytes, info: bytes = HKDF_INFO) -> tuple[bytes, bytes, bytes]:
    """Ephemeral X25519 → HKDF-SHA256 → AES-256-GCM to one recipient: ``(eph_pub, nonce, ciphertext)``."""
    return sealing.encrypt_to(recipient_pub, plain, aad, info)


def decrypt_with(my_enc: X25519PrivateKey, eph_pub: bytes, nonce: bytes, ciphertext: bytes, aad: bytes,
                 info: bytes = HKDF_INFO) -> bytes:
    """The other half of ``encrypt_to``; raises ``InvalidTag`` or ``ValueError`` if it does not open."""
    return sealing.decrypt_with(my_enc, eph_pub, nonce, ciphertext, aad, info)


_ORJSON_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical(obj) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes a bundle's payload and header are signed and hashed as.
    Written by orjson, about ten times faster than the standard library and the same bytes for what
    records hold (strings, integers, lists, objects; tests/sync/test_canonical.py); the standard library
    takes what orjson refuses (an integer beyond 64 bits) and raises as before on what neither writes.
    Floats read back the same but are spelt differently in exponent form (1e-7, not 1e-07), and NaN or
    infinity, which no record holds and JSON has no word for, are written as null. Whatever compares a
    digest across versions (the hub's ``received.digest``) keeps the standard library's spelling."""
    try:
        return orjson.dumps(obj, option=_ORJSON_CANONICAL)
    except TypeError:
        return stdlib_json(obj)


def seal(*, kind: str, sender: str, recipient: str, seq_from: int, seq_to: int, counts: dict, created_at: str,
         payload: dict, sign_key: Ed25519PrivateKey, recipient_enc: bytes) -> bytes:
    """Compress, encrypt to the recipient's X25519 key, sign with the sender's Ed25519 key."""
    plain = canonical(payload)
    if len(plain) > MAX_PAYLOAD:
        raise ValueError("payload too large for one bundle")
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    key = _key(eph.exchange(X25519PublicKey.from_public_bytes(recipient_enc)), eph_pub, recipient_enc)
    nonce = os.urandom(12)
    header = canonical({"format": FORMAT, "kind": kind, "sender": sender, "recipient": recipient, "seq_from": seq_from,
                        "seq_to": seq_to, "counts": counts, "created_at": created_at,
                        "payload_sha256": hashlib.sha256(plain).hexdigest(), "payload_size": len(plain),
                        "eph": b64(eph_pub), "nonce": b64(nonce)})
    if len(header) > MAX_HEADER:
        raise ValueError("header too large")
    head = MAGIC + struct.pack(">I", len(header)) + header
    ciphertext = AESGCM(key).encrypt(nonce, zlib.compress(plain, 6), head)
    if len(ciphertext) > MAX_CIPHERTEXT:
        raise ValueError("bundle too large: split it")
    body = head + struct.pack(">I", len(ciphertext)) + ciphertext
    return body + sign_key.sign(body)


def peek(data: bytes) -> dict:
    """The plain header, checked for shape only (no signature): for listing and routing."""
    if len(data) < _FIXED or data[:4] != MAGIC:
        if data[:3] == b"VSB" and len(data) >= 4:
            raise BundleRejected("unknown_version", f"不支持的包格式版本 {data[3:4]!r}:请升级软件")
        raise BundleRejected("not_a_bundle", "这不是服务站数据包(文件头不符)")
    (h_len,) = struct.unpack(">I", data[4:8])
    if h_len > MAX_HEADER or 8 + h_len + 4 > len(data):
        raise BundleRejected("truncated", "数据包不完整(可能拷贝中断或U盘被拔出)")
    try:
        header = loads_bounded(data[8:8 + h_len], MAX_HEADER_DEPTH)
    except ValueError:  # bad UTF-8, bad JSON, nested too deep, an integer with thousands of digits
        raise BundleRejected("malformed", "数据包头损坏") from None
    if not isinstance(header, dict):
        raise BundleRejected("malformed", "数据包头损坏")
    if header.get("format") != FORMAT:
        raise BundleRejected("unknown_version", f"不支持的包格式版本 {header.get('format')!r}:请升级软件")
    for field, kind in REQUIRED.items():
        if not isinstance(header.get(field), kind) or isinstance(header.get(field), bool):
            raise BundleRejected("malformed", f"数据包头缺少或损坏字段 {field}")
    if header["kind"] not in KINDS or not 0 <= header["seq_from"] <= MAX_SEQ or header["seq_to"] < header["seq_from"] - 1:
        raise BundleRejected("malformed", "数据包头内容不合理")
    # Checked here, before anything is read or allocated for the range it declares.
    if header["seq_to"] - header["seq_from"] + 1 > MAX_ITEMS_PER_BUNDLE:
        raise BundleRejected("too_large", f"数据包声明的记录超过每包上限 {MAX_ITEMS_PER_BUNDLE} 条")
    if header["payload_size"] > MAX_PAYLOAD or header["payload_size"] < 0:
        raise BundleRejected("too_large", "数据包内容超过上限")
    return header


def open_bundle(data: bytes, *, me: str, my_enc: X25519PrivateKey,
                sender_key: Callable[[str], Ed25519PublicKey | bytes | None]) -> Opened:
    """Verify, decrypt and unpack; raise ``BundleRejected`` on the first thing that is wrong.

    ``sender_key(sender)`` returns the enrolled Ed25519 key, or None for an unknown or revoked
    sender (it may also raise ``BundleRejected`` with a better reason).
    """
    if len(data) > MAX_CIPHERTEXT + MAX_HEADER + _FIXED:
        raise BundleRejected("too_large", "数据包超过大小上限")
    header = peek(data)
    h_len = struct.unpack(">I", data[4:8])[0]
    (c_len,) = struct.unpack(">I", data[8 + h_len:12 + h_len])
    if c_len > MAX_CIPHERTEXT:
        raise BundleRejected("too_large", "数据包超过大小上限")
    end = 12 + h_len + c_len
    if len(data) != end + SIG_LEN:
        raise BundleRejected("truncated", "数据包长度不符:文件不完整或被改动")
    public = sender_key(header["sender"])
    if public is None:
        raise BundleRejected("unknown_sender", f"发送方“{header['sender']}”未登记或已停用")
    if isinstance(public, bytes):
        public = Ed25519PublicKey.from_public_bytes(public)
    try:
        public.verify(data[end:], data[:end])
    except InvalidSignature:
        raise BundleRejected("bad_signature", "签名不符:数据包被改动,或不是该服务站发出的") from None
    if header["recipient"] != me:
        raise BundleRejected("wrong_recipient", f"此数据包是发给“{header['recipient']}”的,不是本机")
    try:
        eph_pub = base64.b64decode(header["eph"], validate=True)
        nonce = base64.b64decode(header["nonce"], validate=True)
        compressed = decrypt_with(my_enc, eph_pub, nonce, data[12 + h_len:end], data[:8 + h_len])
    except (InvalidTag, ValueError):
        raise BundleRejected("decrypt_failed", "无法解密:数据包不是加密给本机的,或已损坏") from None
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(compressed, header["payload_size"] + 1)
    except zlib.error:
        raise BundleRejected("malformed", "数据包内容损坏(无法解压)") from None
    if len(plain) != header["payload_size"] or inflater.unconsumed_tail or not inflater.eof:
        raise BundleRejected("too_large", "数据包内容大小与声明不符(可能是压缩炸弹)")
    if hashlib.sha256(plain).hexdigest() != header["payload_sha256"]:
        raise BundleRejected("digest_mismatch", "数据包内容校验不符")
    try:
        payload = loads_bounded(plain, MAX_PAYLOAD_DEPTH)
    except ValueError:
        raise BundleRejected("malformed", "数据包内容损坏(格式不对或嵌套过深)") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("items", []), list):
        raise BundleRejected("malformed", "数据包内容格式不对")
    return Opened(header, payload)


def new_keys() -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
    return Ed25519PrivateKey.generate(), X25519PrivateKey.generate()


def x25519_key_ok(raw: bytes) -> bool:
    """A usable X25519 public key: 32 bytes and not a low-order point. cryptography refuses to
    exchange with a low-order point (the shared secret would be all zeros), so we ask it."""
    try:
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(raw))
    except (ValueError, TypeError):
        return False
    return True


def ed25519_key_ok(raw: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError):
        return False
    return len(raw) == 32


def public_bytes(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
