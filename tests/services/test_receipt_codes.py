"""Receipt codes (回执二维码): only the exact printed form verifies.

Ed25519 signatures are 64 bytes = 512 bits; base32 spends 103 characters = 515 bits on them, so
the last character carries 3 filler bits. A code with those bits changed decodes to the same
signature; such a code was never printed by the station and must not verify.
"""
from __future__ import annotations

import base64

from station.services import signing

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _variants(code: str) -> list[str]:
    """Every code that differs from ``code`` only in the filler bits of its last character."""
    head, last = code[:-1], code[-1]
    index = ALPHABET.index(last)
    return [head + ALPHABET[(index & ~0b111) | low] for low in range(8) if (index & ~0b111) | low != index]


def test_only_the_canonical_code_verifies(session):
    from datetime import date
    token = signing.receipt_token(session, "XX0101-2026-000001", date(2026, 12, 4))
    public = signing.public_key(session)
    assert signing.verify_token(token, "XX0101", public).valid
    variants = _variants(token)
    assert len(variants) == 7
    for variant in variants:
        # the same signature bytes: the variant differs only in filler bits
        sig = variant.rsplit(":", 1)[1]
        assert base64.b32decode(sig + "=" * (-len(sig) % 8)) == base64.b32decode(
            token.rsplit(":", 1)[1] + "=" * (-len(sig) % 8))
        check = signing.verify_token(variant, "XX0101", public)
        assert not check.valid, variant
        assert check.reason  # a Chinese reason, not a crash
