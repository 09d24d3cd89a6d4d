"""The bundle format: round trip, every rejection of the spec, bit flips, fuzzing."""
from __future__ import annotations

import hashlib
import os
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import bundle
from sync.bundle import BundleRejected, canonical, open_bundle, public_bytes, seal

STATION_SIGN, STATION_ENC = bundle.new_keys()
HUB_SIGN, HUB_ENC = bundle.new_keys()
OTHER_SIGN, OTHER_ENC = bundle.new_keys()
PAYLOAD = {"items": [{"seq": i, "kind": "event", "data": {"id": f"e{i}", "text": "收件登记"}} for i in range(1, 6)], "ack": 0}


def make(payload=PAYLOAD, sender="XX0101", recipient="HUB1", sign=STATION_SIGN, enc=HUB_ENC, seq=(1, 5)) -> bytes:
    return seal(kind="outbox", sender=sender, recipient=recipient, seq_from=seq[0], seq_to=seq[1],
                counts={"event": len(payload["items"])}, created_at="2026-11-20T08:00:00Z", payload=payload,
                sign_key=sign, recipient_enc=public_bytes(enc))


def keys_of(sender):
    return {"XX0101": public_bytes(STATION_SIGN)}.get(sender)


def hub_open(data: bytes):
    return open_bundle(data, me="HUB1", my_enc=HUB_ENC, sender_key=keys_of)


def code_of(data: bytes) -> str:
    with pytest.raises(BundleRejected) as exc:
        hub_open(data)
    return exc.value.code


def test_round_trip_and_plain_header():
    data = make()
    opened = hub_open(data)
    assert opened.payload == PAYLOAD and opened.header["sender"] == "XX0101" and opened.header["seq_to"] == 5
    assert bundle.peek(data)["counts"] == {"event": 5}
    assert "收件登记".encode() not in data  # the payload is encrypted


def test_each_rejection_has_its_code():
    data = make()
    assert code_of(b"PK\x03\x04 a zip file, not a bundle" * 4) == "not_a_bundle"
    assert code_of(b"VSB2" + data[4:]) == "unknown_version"
    assert code_of(data[:-10]) == "truncated"
    assert code_of(data[: len(data) // 2]) == "truncated"
    assert code_of(data + b"\0") == "truncated"
    assert code_of(make(sender="ZZ9999")) == "unknown_sender"
    assert code_of(make(recipient="HUB2")) == "wrong_recipient"
    assert code_of(make(enc=OTHER_ENC)) == "decrypt_failed"  # signed right, encrypted to someone else
    assert code_of(make(sign=OTHER_SIGN)) == "bad_signature"  # claims to be XX0101, signed by another key


def _lying(payload_bytes: bytes, declared_size: int, fmt: int = 1) -> bytes:
    """A bundle correctly signed and encrypted, whose header lies about the payload."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    eph = X25519PrivateKey.generate()
    eph_pub = public_bytes(eph)
    key = bundle._key(eph.exchange(HUB_ENC.public_key()), eph_pub, public_bytes(HUB_ENC))
    nonce = os.urandom(12)
    header = canonical({"format": fmt, "kind": "outbox", "sender": "XX0101", "recipient": "HUB1", "seq_from": 1, "seq_to": 1,
                        "counts": {}, "created_at": "x", "payload_sha256": hashlib.sha256(payload_bytes).hexdigest(),
                        "payload_size": declared_size, "eph": bundle.b64(eph_pub), "nonce": bundle.b64(nonce)})
    head = bundle.MAGIC + struct.pack(">I", len(header)) + header
    ct = AESGCM(key).encrypt(nonce, zlib.compress(payload_bytes, 9), head)
    body = head + struct.pack(">I", len(ct)) + ct
    return body + STATION_SIGN.sign(body)


def test_decompression_bomb_and_oversize_refused():
    bomb = b'{"items":[],"pad":"' + b"0" * (50 * 1024 * 1024) + b'"}'
    assert code_of(_lying(bomb, 1000)) == "too_large"  # declares 1 KB, inflates to 50 MB: stops at 1 KB + 1
    assert code_of(_lying(b"{}", bundle.MAX_PAYLOAD + 1)) == "too_large"
    assert code_of(_lying(b'{"items": 5}', len(b'{"items": 5}'))) == "malformed"
    assert code_of(_lying(b"{}", 2, fmt=9)) == "unknown_version"
    with pytest.raises(BundleRejected) as exc:
        open_bundle(b"VSB1" + b"\0" * (bundle.MAX_CIPHERTEXT + bundle.MAX_HEADER + 100), me="HUB1", my_enc=HUB_ENC, sender_key=keys_of)
    assert exc.value.code == "too_large"


def test_every_single_bit_flip_is_rejected():
    data = make(payload={"items": [{"seq": 1, "kind": "event", "data": {"id": "e1"}}], "ack": 0}, seq=(1, 1))
    assert len(data) < 1000
    for i in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            with pytest.raises(BundleRejected):
                hub_open(bytes(flipped))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_only_clean_rejections(blob):
    with pytest.raises(BundleRejected):
        hub_open(blob)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_bundles_only_clean_rejections(data):
    good = make()
    mutation = data.draw(st.sampled_from(["splice", "truncate", "overwrite"]))
    pos = data.draw(st.integers(0, len(good) - 1))
    if mutation == "truncate":
        blob = good[:pos]
    elif mutation == "splice":
        blob = good[:pos] + data.draw(st.binary(min_size=1, max_size=40)) + good[pos:]
    else:
        chunk = data.draw(st.binary(min_size=1, max_size=16))
        blob = good[:pos] + chunk + good[pos + len(chunk):]
        if blob == good:
            return
    with pytest.raises(BundleRejected):
        hub_open(blob)
