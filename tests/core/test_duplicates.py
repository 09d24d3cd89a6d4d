"""Possible duplicate residents: which registered residents are shown before a new one is created."""
from __future__ import annotations

import pytest

from station.core.duplicates import candidate_ranges, id_slip, possible_duplicates
from station.core.identity import check_char


def valid(first17: str) -> str:
    return first17 + check_char(first17)


BASE = valid("52040219560312003")  # with its real check character
OTHER = valid("52040219710805004")


def resident(rid: str, number: str, name: str = "吴开芬", birth: str = "1956-03-12") -> dict:
    return {"id": rid, "id_number": number, "name": name, "birth_date": birth}


def swapped(number: str, i: int) -> str:
    """Characters i and i+1 swapped, with the check character that makes it pass the checksum."""
    body = number[:17]
    return valid(body[:i] + body[i + 1] + body[i] + body[i + 2:])


def changed(number: str, i: int) -> str:
    """Character i changed, with a valid check character."""
    body = number[:17]
    return valid(body[:i] + ("9" if body[i] != "9" else "8") + body[i + 1:])


@pytest.mark.parametrize(("new", "old", "code"), [
    (BASE, BASE, None),                                        # the same number is the same resident
    (BASE, BASE[:17] + ("X" if BASE[17] != "X" else "0"), "check_digit"),  # registered with a wrong check character
    (BASE, changed(BASE, 3), "one_char"),                       # the check character differs too: still one slip
    (BASE, changed(BASE, 16), "one_char"),
    (BASE, changed(BASE, 0)[:17] + BASE[17], "one_char"),       # an old record that never passed the checksum
    (BASE, swapped(BASE, 10), "transposed"),                    # month digits 03 → 30
    (BASE, swapped(BASE, 8), "transposed"),                     # across the middle
    (BASE, swapped(BASE, 0), "transposed"),
    (BASE, changed(changed(BASE, 2), 12), None),                # two slips apart: another person
    (BASE, OTHER, None),
    (BASE, BASE[:17], None),                                    # not 18 characters
    (BASE.lower(), BASE, None),                                 # case does not matter
])
def test_id_slip(new, old, code):
    got = id_slip(new, old)
    assert (got[0] if got else None) == code


@pytest.mark.parametrize(("name", "birth", "registered", "codes"), [
    # same name and birth date, different number: shown
    ("吴开芬", "1956-03-12", [resident("a", OTHER)], ["same_name_birth"]),
    # same name, another birth date, unrelated number: a namesake, not shown
    ("吴开芬", "1956-03-12", [resident("a", OTHER, birth="1971-08-05")], []),
    # another name and date, but the number is one swap away: shown, and the name is told
    ("吴开芬", "1956-03-12", [resident("a", swapped(BASE, 10), name="吴凯芬", birth="1956-03-21")], ["transposed"]),
    # the very same number: the existing resident, never a "duplicate"
    ("吴开芬", "1956-03-12", [resident("a", BASE)], []),
    # one resident found by two look-ups is listed once
    ("吴开芬", "1956-03-12", [resident("a", changed(BASE, 5)), resident("a", changed(BASE, 5))], ["one_char"]),
    # several at once, in the order found
    ("吴开芬", "1956-03-12", [resident("a", OTHER), resident("b", swapped(BASE, 12))], ["same_name_birth", "transposed"]),
    # no birth date (the new number is unreadable): only number slips count
    ("吴开芬", None, [resident("a", OTHER)], []),
])
def test_possible_duplicates(name, birth, registered, codes):
    found = possible_duplicates(BASE, name, birth, registered)
    assert [m.code for m in found] == codes
    assert all(m.message for m in found)


def test_a_transposed_number_names_the_positions_and_the_other_name():
    [m] = possible_duplicates(BASE, "吴开芬", "1956-03-12", [resident("a", swapped(BASE, 10), name="吴凯芬")])
    assert "第 11、12 位" in m.message and "吴凯芬" in m.message


@pytest.mark.parametrize("i", range(17))
def test_every_single_slip_is_in_one_of_the_looked_up_ranges(i):
    """The store looks only in these index ranges: no slip may fall outside all of them."""
    head, tails = candidate_ranges(BASE)
    slips = [changed(BASE, i), BASE[:17] + ("X" if BASE[17] != "X" else "0")] + ([swapped(BASE, i)] if i < 16 else [])
    for other in slips:
        assert id_slip(BASE, other) is not None or other == BASE
        assert other.startswith(head) or any(other[::-1].startswith(t) for t in tails), other
