"""Sealing a small secret to an X25519 public key, for ``keys.json``.

The construction is the bundles' (``sync/bundle.py``, DESIGN.md): a fresh ephemeral X25519 key,
the shared secret through HKDF-SHA256 (salt = ephemeral public ‖ recipient public) to an AES-256
key, AES-GCM with associated data that names what the secret is for — so a sealed copy cannot be
moved to another user's entry or presented as another key. Only a different HKDF ``info``
separates it from the bundle keys. The construction lives here, in the lower layer, and
``sync/bundle.py`` uses it with its own ``info`` (``station/store`` may not import ``sync``).
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


def derive_key(shared: bytes, eph_pub: bytes, recipient_pub: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=info).derive(shared)


def encrypt_to(recipient_pub: bytes, plain: bytes, aad: bytes, info: bytes) -> tuple[bytes, bytes, bytes]:
    """Ephemeral X25519 → HKDF-SHA256 → AES-256-GCM to one recipient: ``(eph_pub, nonce, ciphertext)``.
    ``info`` keeps keys for different purposes (keyring, bundles, enrolment replies) apart."""
    eph = X25519PrivateKey.generate()
    eph_pub = public_raw(eph)
    key = derive_key(eph.exchange(X25519PublicKey.from_public_bytes(recipient_pub)), eph_pub, recipient_pub, info)
    nonce = os.urandom(12)
    return eph_pub, nonce, AESGCM(key).encrypt(nonce, plain, aad)


def decrypt_with(private: X25519PrivateKey, eph_pub: bytes, nonce: bytes, ciphertext: bytes, aad: bytes, info: bytes) -> bytes:
    """The other half of ``encrypt_to``; raises ``InvalidTag`` or ``ValueError`` if it does not open."""
    key = derive_key(private.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, public_raw(private), info)
    return AESGCM(key).decrypt(nonce, ciphertext, aad)


def seal(recipient_pub: bytes, secret: bytes, aad: str) -> dict:
    """``secret`` readable only with the private key of ``recipient_pub``."""
    eph_pub, nonce, sealed = encrypt_to(recipient_pub, secret, aad.encode(), HKDF_INFO)
    return {"eph": b64(eph_pub), "nonce": b64(nonce), "sealed": b64(sealed)}


def open_sealed(private: X25519PrivateKey, sealed: dict, aad: str) -> bytes | None:
    """The secret, or None when this key (or this purpose) is not the one it was sealed for."""
    try:
        return decrypt_with(private, unb64(sealed["eph"]), unb64(sealed["nonce"]), unb64(sealed["sealed"]), aad.encode(), HKDF_INFO)
    except (InvalidTag, KeyError, ValueError):
        return None
