"""Possible duplicate residents for intake (疑似重复登记): the store's side of
``station.core.duplicates``. Reads only; the clerk decides (use the registered one, or register
anyway) and intake writes as always.

Candidates come from index look-ups — the first 8 characters of the identity number, characters
10–17 (through ``id_rev``, behind each check character) and name + birth date — so it stays quick on a big station.
"""
from __future__ import annotations

from station.core.duplicates import DuplicateMatch, candidate_ranges, possible_duplicates
from station.core.identity import IdentityInfo, normalize_id, parse_id
from station.services import residents
from station.services.session import Session

_TOP = "\x7f"  # sorts after every character of an identity number
LIMIT = 20


def find(session: Session, id_number: str, name: str) -> list[DuplicateMatch]:
    number, name = normalize_id(id_number or ""), (name or "").strip()
    if not number and not name:
        return []
    info = parse_id(number, today=session.today()) if number else None
    birth = info.birth_date.isoformat() if isinstance(info, IdentityInfo) else None
    head, tails = candidate_ranges(number)
    rows: list[dict] = []
    if len(number) == 18:
        rows += session.store.query(f"SELECT {residents.COLUMNS} FROM residents WHERE id_number >= ? AND id_number < ? LIMIT ?",
                                    (head, head + _TOP, LIMIT * 10))
        for tail in tails:
            rows += session.store.query(f"SELECT {residents.COLUMNS} FROM residents WHERE id_rev >= ? AND id_rev < ? LIMIT ?",
                                        (tail, tail + _TOP, LIMIT * 10))
    if name and birth:
        rows += session.store.query(f"SELECT {residents.COLUMNS} FROM residents WHERE name = ? AND birth_date = ? LIMIT ?",
                                    (name, birth, LIMIT))
    return possible_duplicates(number, name, birth, rows)[:LIMIT]
