"""Search (查找): residents and cases by name fragment, identity / phone tail, or case number.

Every branch is an index look-up, so it stays fast on a station with 200,000 cases:
a case number is the unique index; a digit tail is a prefix of the reversed number; a name
fragment of two or more characters is one two-character gram, read in name order and checked whole.
"""
from __future__ import annotations

from station.core.search import classify, name_grams, reverse_digits
from station.services import cases as case_service
from station.services import residents
from station.services.session import Session

_TOP = "\x7f"  # sorts after every character of an identity or phone number
_TOP_UNICODE = "\U0010ffff"


def find_residents(session: Session, query: str, limit: int = 20) -> list[dict]:
    q = query.strip()
    kind = classify(q)
    cols = "r." + residents.COLUMNS.replace(", ", ", r.")
    if kind == "digits":
        rev = reverse_digits(q)
        return session.store.query(
            f"SELECT {cols} FROM residents r WHERE (r.id_rev >= ? AND r.id_rev < ?) "
            f"UNION SELECT {cols} FROM residents r WHERE (r.phone_rev >= ? AND r.phone_rev < ?) LIMIT ?",
            (rev, rev + _TOP, rev, rev + _TOP, limit))
    if kind != "name":
        return []
    if len(q) == 1:
        return session.store.query(f"SELECT {cols} FROM residents r WHERE r.name >= ? AND r.name < ? ORDER BY r.name LIMIT ?",
                                   (q, q + _TOP_UNICODE, limit))
    gram = sorted(name_grams(q))[0]
    # The grams carry the name in their key: read in name order, checked on the gram itself, and
    # only the page shown is looked up in ``residents``.
    return session.store.query(
        f"SELECT {cols} FROM resident_grams g JOIN residents r ON r.id = g.resident_id "
        "WHERE g.gram = ? AND instr(g.name, ?) > 0 ORDER BY g.name, g.resident_id LIMIT ?", (gram, q, limit))


def search(session: Session, query: str, limit: int = 20) -> dict:
    """Residents (masked) and cases matching ``query``."""
    q = query.strip()
    kind = classify(q)
    found_cases: list[dict] = []
    found_residents: list[dict] = []
    if kind == "case_number":
        found_cases = session.store.query(f"SELECT {case_service.LIST_COLUMNS} FROM {case_service.LIST_FROM} WHERE c.number = ?", (q.upper(),))
    else:
        if kind == "digits" and q.isdigit() and len(q) <= 6:
            # A short number may be the sequence part of one of this year's case numbers.
            number = f"{session.station_code}-{session.today().year}-{int(q):06d}"
            found_cases = session.store.query(f"SELECT {case_service.LIST_COLUMNS} FROM {case_service.LIST_FROM} WHERE c.number = ?",
                                              (number,))
        found_residents = find_residents(session, q, limit)
        ids = [r["id"] for r in found_residents]
        if ids:
            found_cases += session.store.query(
                f"SELECT {case_service.LIST_COLUMNS} FROM {case_service.LIST_FROM} WHERE c.resident_id IN ({','.join('?' * len(ids))}) "
                "ORDER BY c.received_on DESC LIMIT ?", (*ids, limit))
    return {"query": q, "kind": kind, "residents": [residents.masked(r) for r in found_residents], "cases": found_cases}
