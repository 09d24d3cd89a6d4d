"""The hub sets aside an item with a NUL anywhere in its strings (PostgreSQL text cannot hold one).
It reads that off the item's canonical JSON text; this checks the reading against a walk of the item,
including the texts that look like an escaped NUL and are not (a literal backslash before ``u0000``)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.hub.service import _canonical, _has_nul_json


def _walk(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_walk(k) or _walk(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_walk(v) for v in value)
    return False


TRICKY = st.text(alphabet=st.sampled_from(["\\", "u", "0", "\x00", "a", "中", '"']), max_size=12)
VALUES = st.recursive(st.none() | st.booleans() | st.integers() | TRICKY,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4), max_leaves=12)


@settings(max_examples=500, derandomize=True)
@given(st.dictionaries(TRICKY, VALUES, max_size=5))
def test_nul_read_off_the_json_text_is_the_walk(data):
    assert _has_nul_json(_canonical(data)) is _walk(data)


def test_known_cases():
    assert _has_nul_json(_canonical({"a": "x\x00y"}))
    assert _has_nul_json(_canonical({"a\x00": 1}))
    assert _has_nul_json(_canonical({"a": "\\\x00"}))  # a backslash, then a NUL
    assert not _has_nul_json(_canonical({"a": "\\u0000"}))  # the six characters, no NUL
    assert not _has_nul_json(_canonical({"a": "\\\\u0000"}))
