"""Fuzzers over the station's parsers of outside JSON and codes: calendar import, the service
catalog, intake documents (``station case new``), receipt codes (``station verify-receipt``).

The property for every one: the input is accepted, or refused with the project's typed refusal
(``StationError``, or ``FieldError`` lists from ``parse_catalog``) whose message is Chinese —
never any other exception. Inputs mix blind JSON with near-valid documents, so the fuzzer gets
past the first check and into the parser's depths.

Budget: ``FUZZ_EXAMPLES`` examples per property in the normal run (200); the longer run is
``HYPOTHESIS_PROFILE=long python -m pytest tests/fuzz/test_misc.py -q`` (``FUZZ_LONG_EXAMPLES``,
default 5,000 each), see ``tests/bench/README.md``.
"""
from __future__ import annotations

import json
import os
import re
import string
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.catalog import shipped_catalog
from station.core.jsondoc import parse_document
from station.core.models import parse_catalog
from station.errors import FieldError, StationError
from station.services import calendar as calendar_service
from station.services import cases, signing
from station.services.session import StationHome
from station.store import keys
from tests.conftest import PASS, Today, make_id

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
EXAMPLES = int(os.environ.get("FUZZ_LONG_EXAMPLES", 5000)) if LONG else int(os.environ.get("FUZZ_EXAMPLES", 200))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
CJK = re.compile(r"[\u4e00-\u9fff]")

# --- strategies -------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                    st.sampled_from(["", "2027-01-01", "2027-02-30", "9999-99-99", "MZ-001", "13812345678",
                                     make_id(), "x" * 300, "\x00", "１２３", "２０２７-01-01"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=6),
                                                             st.dictionaries(st.text(max_size=12), inner, max_size=6)),
                           max_leaves=30)


def near(valid: dict, keys_: list[str]):
    """A valid document with some of its fields replaced by anything, or dropped."""
    return st.fixed_dictionaries({}, optional={k: st.one_of(st.just(valid[k]), json_values) if k in valid else json_values
                                               for k in keys_})


# Wrong shapes named outright: blind recursion rarely lands one at the spot where it matters.
odd = st.sampled_from([5, 0, -1, 1.5, True, False, None, "", "2027-01-01", "x" * 50, [], {}, [[]], [{}], {"date": None}])
days = st.one_of(st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31)).map(date.isoformat),
                 st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 12, 31)).map(date.isoformat), odd, scalars)
day_entries = st.one_of(days, st.fixed_dictionaries({"date": days}, optional={"name": st.one_of(odd, scalars)}), odd)
day_lists = st.one_of(st.lists(day_entries, min_size=1, max_size=8), odd, json_values)
calendar_docs = st.one_of(
    st.fixed_dictionaries({"year": st.one_of(st.just(2027), st.sampled_from([1999, 2000, 2100, 2101, "2027", 2027.0]), odd),
                           "holidays": day_lists},
                          optional={"workdays": day_lists, "extra": json_values}),
    json_values)

_SHIPPED = json.loads(shipped_catalog().model_dump_json())
_ITEM = _SHIPPED["items"][0]
catalog_items = st.one_of(json_values, near(_ITEM, list(_ITEM) + ["extra"]),
                          near(_ITEM, list(_ITEM)).map(lambda d: {**d, "materials": d.get("materials", _ITEM.get("materials"))}))
catalog_docs = st.one_of(json_values,
                         st.fixed_dictionaries({"version": st.one_of(st.just(_SHIPPED["version"]), scalars),
                                                "items": st.one_of(st.lists(catalog_items, max_size=4), json_values)}))

_RESIDENT = {"id_number": make_id(), "name": "张秀英", "phone": "13812345678", "address": "石板村三组", "village_group": "三组"}
_INTAKE = {"resident": _RESIDENT, "item": "MZ-001", "materials_received": ["申请人居民身份证", "户口簿"],
           "accept_with_gaps": {"promised_date": "2026-12-01"},
           "proxy": {"name": "王建国", "relation": "儿子", "id_number": make_id("19800101", 7), "phone": "13987654321"},
           "home_visit": False, "received_on": "2026-11-20", "note": "备注"}
valid_ids = st.builds(lambda d, n: make_id(d.strftime("%Y%m%d"), n),
                      st.dates(min_value=date(1920, 1, 1), max_value=date(2026, 11, 1)), st.integers(1, 999))
_MATERIALS = [m.name for m in shipped_catalog().item("MZ-001").materials] + ["不存在的材料"]
residents_ = st.fixed_dictionaries(
    {"id_number": st.one_of(valid_ids, valid_ids, odd, scalars), "name": st.one_of(st.just("张秀英"), st.text(max_size=30), odd)},
    optional={"phone": st.one_of(st.just("13812345678"), st.from_regex(r"1\d{10}", fullmatch=True), odd, scalars),
              "address": st.one_of(st.text(max_size=80), odd), "village_group": st.one_of(st.text(max_size=10), odd)})
_near_intake = (
    st.fixed_dictionaries(
        {"resident": st.one_of(residents_, residents_, residents_, residents_, odd),
         "item": st.one_of(*[st.sampled_from([i.code for i in shipped_catalog().items])] * 4, odd)},
        optional={"materials_received": st.one_of(st.lists(st.sampled_from(_MATERIALS), max_size=8), odd, json_values),
                  "accept_with_gaps": st.one_of(st.fixed_dictionaries({"promised_date": days}), odd),
                  "proxy": st.one_of(near(_INTAKE["proxy"], list(_INTAKE["proxy"])), odd),
                  "home_visit": st.one_of(st.booleans(), odd),
                  "received_on": st.one_of(st.dates(min_value=date(2025, 10, 1), max_value=date(2026, 12, 31)).map(date.isoformat), odd),
                  "note": st.one_of(st.text(max_size=200), odd), "extra": json_values}))
# Mostly near-valid documents (they reach the intake plan and the store), some blind JSON.
intake_docs = st.one_of(_near_intake, _near_intake, _near_intake, json_values)

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# --- one real station for the whole module ----------------------------------------------
@pytest.fixture(scope="module")
def station(tmp_path_factory):
    saved = keys.SCRYPT_N
    keys.SCRYPT_N = 2**10
    home = StationHome(tmp_path_factory.mktemp("fuzz") / "st")
    session, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=Today(date(2026, 11, 20)))
    try:
        yield session
    finally:
        session.close()
        keys.SCRYPT_N = saved


def refused_in_chinese(exc: StationError) -> None:
    assert CJK.search(exc.title), exc.title
    for d in exc.details:
        assert isinstance(d, FieldError) and CJK.search(d.message), d


# --- the properties ---------------------------------------------------------------------
@FUZZ
@given(doc=calendar_docs)
def test_calendar_import_accepts_or_refuses(station, doc):
    try:
        result = calendar_service.import_year(station, doc, "fuzz")
    except StationError as exc:
        refused_in_chinese(exc)
    else:
        assert 2000 <= result["year"] <= 2100


@FUZZ
@given(doc=catalog_docs)
def test_parse_catalog_accepts_or_lists_errors(doc):
    parsed = parse_catalog(doc)
    if isinstance(parsed, list):
        assert parsed and all(isinstance(e, FieldError) and CJK.search(e.message) for e in parsed)


@FUZZ
@given(doc=intake_docs)
def test_intake_accepts_or_refuses(station, doc):
    try:
        result = cases.intake(station, doc)
    except StationError as exc:
        refused_in_chinese(exc)
    else:
        assert result["number"].startswith("XX0101-")


@FUZZ
@given(text=st.one_of(st.text(max_size=3000), st.binary(max_size=3000).map(lambda b: b.decode("latin-1")),
                      st.lists(st.sampled_from(["[", "{", "\"a\":", "]", "}", ",", "1", "\"", "\\"]), max_size=4000).map("".join)))
def test_json_documents_parse_or_refuse(text):
    for data in (text, text.encode("utf-8", "surrogatepass")):
        try:
            parse_document(data, "fuzz.json")
        except StationError as exc:
            refused_in_chinese(exc)


def test_deep_and_huge_json_is_refused_with_a_limit():
    from station.core import limits
    with pytest.raises(StationError, match="层"):
        parse_document("[" * 30000 + "]" * 30000, "deep.json")
    with pytest.raises(StationError, match="过大"):
        parse_document(b" " * (limits.MAX_JSON_DOCUMENT_BYTES + 1), "big.json")


@FUZZ
@given(data=st.data())
def test_receipt_codes_verify_only_when_real(station, data):
    real = signing.receipt_token(station, "XX0101-2026-000001", date(2026, 12, 4))
    public = signing.public_key(station)
    number, due, sig = real.split(":")[1:]
    code = data.draw(st.one_of(
        st.text(max_size=200),
        st.text(alphabet=string.ascii_letters + string.digits + ":-= \n\t", max_size=200),
        st.builds(lambda n, d, s: f"VS1:{n}:{d}:{s}", st.one_of(st.just(number), st.from_regex(r"[A-Z0-9]{2,12}-\d{4}-\d{6}", fullmatch=True)),
                  st.one_of(st.just(due), st.from_regex(r"\d{8}", fullmatch=True)),
                  st.one_of(st.text(alphabet=B32, min_size=103, max_size=103),
                            st.integers(0, 102).flatmap(lambda i: st.sampled_from(B32).map(lambda c: sig[:i] + c + sig[i + 1:])))),
    ))
    check = signing.verify_token(code, "XX0101", public)
    assert CJK.search(check.reason)
    if check.valid:
        assert code.strip().upper() == real

