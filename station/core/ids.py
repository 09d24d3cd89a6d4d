"""Record ids: UUIDs ordered by time (version 7, RFC 9562).

Every record a station or the township makes (residents, cases, their events, scans, ledger and
infrastructure entries, notices, objections, accounts) gets an id that is unique without asking
anyone, and a UUID, so that no id can pass for a printed case number (``sync.policy``).

Why version 7 and not random (version 4): a random id lands on a random page of every index keyed
by it. A sync bundle of 2,000 new events then dirtied about one page per event in each such index
(the events' ids, their cases' ids), and encrypting and writing those pages at every commit was
about a third of what the hub spent applying a bundle; on a hub of a million events, nearly every
leaf of those indexes, again at every bundle. A version 7 id starts with the time in milliseconds,
so new ids land together at the end of each index, on the station and on the hub alike
(``tests/bench``, sync). The 74 bits after the time are random and keep ids apart.

What the time in an id tells is no more than the record says already (its stamp, its created_at);
no id is a secret (receipts carry a signed token, not an id).
"""
from __future__ import annotations

import re
import uuid

try:
    _uuid7 = uuid.uuid7  # type: ignore[attr-defined]  # Python 3.14 and later
except AttributeError:  # earlier: the uuid6 package (RFC 9562's versions 6-8 for older Pythons)
    from uuid6 import uuid7 as _uuid7


def new_id() -> str:
    """A new record id: a version 7 UUID in its usual lower-case text form."""
    return str(_uuid7())


SHORT = 8  # characters of an id that listings show and a clerk may type back
_SHORTENED = re.compile(r"[0-9a-f-]{%d,36}" % SHORT)


def short(record_id: str) -> str:
    """The part of an id a listing shows, to be typed back: its last eight characters, random in every
    version. (A version 7 id's first eight are its time: the same for everything made in one minute.)"""
    return record_id[-SHORT:]


def shortened(ref: str) -> str | None:
    """A typed id, or its first or last characters (at least ``SHORT``), normalised for matching; None
    for anything else (then only an exact match can name a record, and no LIKE pattern is built)."""
    ref = ref.strip().lower()
    return ref if _SHORTENED.fullmatch(ref) else None
