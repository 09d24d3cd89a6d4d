"""Sealing a small secret to an X25519 public key, for ``keys.json``.

The construction is the bundles' (``sync/bundle.py``, DESIGN.md): a fresh ephemeral X25519 key,
the shared secret through HKDF-SHA256 (salt = ephemeral public ‖ recipient public) to an AES-256
key, AES-GCM with associated data that names what the secret is for — so a sealed copy cannot be
moved to another user's entry or presented as another key. Only a different HKDF ``info``
separates it from the bundle keys. (``station/store`` may not import ``sync``, hence this copy of
the ten lines rather than a shared import.)
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"village-station keyring seal v1"
_RAW = serialization.Encoding.Raw


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def public_raw(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def _aead_key(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=HKDF_INFO).derive(shared)


def seal(recipient_pub: bytes, secret: bytes, aad: str) -> dict:
    """``secret`` readable only with the private key of ``recipient_pub``."""
    eph = X25519PrivateKey.generate()
    eph_pub = public_raw(eph)
    key = _aead_key(eph.exchange(X25519PublicKey.from_public_bytes(recipient_pub)), eph_pub, recipient_pub)
    nonce = os.urandom(12)
    return {"eph": b64(eph_pub), "nonce": b64(nonce), "sealed": b64(AESGCM(key).encrypt(nonce, secret, aad.encode()))}


def open_sealed(private: X25519PrivateKey, sealed: dict, aad: str) -> bytes | None:
    """The secret, or None when this key (or this purpose) is not the one it was sealed for."""
    try:
        eph_pub = unb64(sealed["eph"])
        key = _aead_key(private.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, public_raw(private))
        return AESGCM(key).decrypt(unb64(sealed["nonce"]), unb64(sealed["sealed"]), aad.encode())
    except (InvalidTag, KeyError, ValueError):
        return None
