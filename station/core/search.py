"""What a search query is: pure helpers shared by the store's index and the search service.

A clerk types a name fragment (two Chinese characters are enough), the last digits of an
identity or phone number, or a case number. Names are indexed by every two-character piece;
digit tails by the reversed number, so a tail becomes an indexed prefix.
"""
from __future__ import annotations

import re

_CASE_NUMBER = re.compile(r"^[A-Z0-9]{2,12}-\d{4}-\d{1,6}$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{3,18}[Xx]?$")


def name_grams(name: str) -> set[str]:
    """Every 2-character piece of a name, and the name itself when it is one character."""
    name = name.strip()
    if len(name) < 2:
        return {name} if name else set()
    return {name[i:i + 2] for i in range(len(name) - 1)}


def reverse_digits(value: str | None) -> str | None:
    return value[::-1].upper() if value else None


def classify(query: str) -> str:
    """One of 'case_number', 'digits', 'name', or 'empty'."""
    q = query.strip()
    if not q:
        return "empty"
    if _CASE_NUMBER.match(q):
        return "case_number"
    if _DIGITS.match(q):
        return "digits"
    return "name"
