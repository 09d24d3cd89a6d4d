from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.core.money import format_fen, from_fen, to_fen, yuan


def test_parse_round_and_format():
    assert yuan("1,234.565") == Decimal("1234.57") and to_fen(yuan("0.005")) == 1
    assert format_fen(123456789) == "1,234,567.89" and format_fen(-5) == "-0.05" and format_fen(0) == "0.00"
    with pytest.raises(TypeError):
        yuan(1.5)
    with pytest.raises(ValueError):
        yuan("十二元")


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_fen_round_trip(fen):
    assert to_fen(from_fen(fen)) == fen
    assert to_fen(yuan(format_fen(fen))) == fen
