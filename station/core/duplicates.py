"""Possible duplicate residents (疑似重复登记) at intake: the same person typed twice.

A resident registered once as 520402195603120031 and again as 520402195603120013 (two digits
swapped) becomes two people with split case histories; so before a *new* resident is created,
the clerk is shown those already registered who may be the same person:

- the same name and birth date under a different identity number (同名同生日);
- an identity number one character off (一位之差), two neighbouring characters swapped (相邻两位颠倒),
  or equal in the first 17 digits and different only in the check character (仅校验位不同).

Pure: ``possible_duplicates`` takes the new resident's fields and the candidates the store found
(``candidate_ranges`` says where to look), and returns what matched and why, in Chinese.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ID_LENGTH = 18
BODY = 17  # the check character (GB 11643) follows from these; a slip in them changes it too
CHECK_CHARS = "0123456789X"
# Every identity number that passes the checksum differs from a slip of it in the check
# character as well, so slips are judged on the first 17. Any one slip there leaves either the
# first 8 characters or characters 10–17 untouched: the store looks both up by index (the
# second through the reversed number, behind each possible check character).
PREFIX = 8


@dataclass(frozen=True)
class DuplicateMatch:
    """One registered resident who may be the person being registered."""

    resident: dict
    code: str  # same_name_birth | check_digit | one_char | transposed
    message: str


def id_slip(new: str, old: str) -> tuple[str, str] | None:
    """How two identity numbers differ by one typing slip in their first 17 characters (or only in
    the check character): (code, words), or None when they are further apart, or the same."""
    new, old = new.strip().upper(), old.strip().upper()
    if len(new) != ID_LENGTH or len(old) != ID_LENGTH or new == old:
        return None
    diff = [i for i in range(BODY) if new[i] != old[i]]
    if not diff:
        return "check_digit", "身份证号码只有最后一位(校验位)不同"
    if len(diff) == 1:
        return "one_char", f"身份证号码第 {diff[0] + 1} 位不同"
    if len(diff) == 2 and diff[1] == diff[0] + 1 and new[diff[0]] == old[diff[1]] and new[diff[1]] == old[diff[0]]:
        return "transposed", f"身份证号码第 {diff[0] + 1}、{diff[1] + 1} 位前后颠倒"
    return None


def candidate_ranges(id_number: str) -> tuple[str, list[str]]:
    """Where near-identical numbers are: a prefix of the number, and prefixes of the reversed
    number (one per possible check character)."""
    number = id_number.strip().upper()
    tail = number[PREFIX + 1:BODY][::-1]
    return number[:PREFIX], [c + tail for c in CHECK_CHARS]


def possible_duplicates(id_number: str, name: str, birth_date: str | None, candidates: Iterable[dict]) -> list[DuplicateMatch]:
    """Registered residents (dicts with id, id_number, name, birth_date) who may be this new one.

    The same identity number is not a duplicate: it *is* that resident, and intake uses it."""
    number, name = id_number.strip().upper(), name.strip()
    found: list[DuplicateMatch] = []
    seen: set[str] = set()
    for r in candidates:
        if r["id"] in seen or r["id_number"].upper() == number:
            continue
        slip = id_slip(number, r["id_number"])
        if slip is not None:
            found.append(DuplicateMatch(r, slip[0], slip[1] + (",姓名也相同" if r["name"] == name else f",姓名为“{r['name']}”")))
        elif name and birth_date and r["name"] == name and r["birth_date"] == birth_date:
            found.append(DuplicateMatch(r, "same_name_birth", "姓名和出生日期相同,身份证号码不同"))
        else:
            continue
        seen.add(r["id"])
    return found
