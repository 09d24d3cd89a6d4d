"""Masking rules (信息脱敏), in one place: every screen and paper calls these.

Identity numbers keep the first 6 and last 4 characters; bank cards the last 4; phones the
first 3 and last 4; names are shown whole (postings show names, paper 002). The mask
character count hides the exact length of nothing that matters, so it is fixed.
"""
from __future__ import annotations


def mask_id(number: str | None) -> str:
    if not number:
        return ""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_bank(card: str | None) -> str:
    if not card:
        return ""
    digits = card.replace(" ", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


# Keys under which a person's numbers travel in case payloads (the proxy's, a resident's), and
# how each is masked. Case events are JSON the clerk and scripts may add to, so the walk is by key
# at any depth rather than by known paths.
MASKED_KEYS = {"id_number": mask_id, "phone": mask_phone, "bank_account": mask_bank, "bank_card": mask_bank}


def mask_document(value):
    """A copy of a JSON-like value with every identity number, phone and bank account masked,
    at any depth, for anything that leaves the store for a screen or a file."""
    if isinstance(value, dict):
        return {k: (MASKED_KEYS[k](v) if k in MASKED_KEYS and isinstance(v, str) else mask_document(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_document(v) for v in value]
    return value
