from datetime import date

import pytest

from station.core.identity import check_phone, parse_id
from station.core.masking import mask_bank, mask_id, mask_phone
from station.errors import FieldError
from tests.conftest import make_id


def test_known_valid_number_tells_birth_and_sex():
    # The standard's own example number.
    info = parse_id("11010519491231002X")
    assert not isinstance(info, FieldError)
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "女"
    assert info.area_code == "110105"


def test_sex_from_odd_sequence_and_lowercase_x_accepted():
    assert parse_id(make_id("19800101", 3)).sex == "男"
    number = next(make_id("19800101", s) for s in range(1000) if make_id("19800101", s).endswith("X"))
    assert parse_id(number.lower()).number == number


@pytest.mark.parametrize("raw,code", [
    ("11010519491231002Y", "id_shape"),
    ("1101051949123100", "id_shape"),
    ("110105194902300021", "id_birth_date"),  # 30 February
    ("110105219901010011", "id_birth_date"),  # year 2199: not born yet
])
def test_bad_shapes_and_dates(raw, code):
    err = parse_id(raw)
    assert isinstance(err, FieldError) and err.code == code
    assert any("\u4e00" <= c <= "\u9fff" for c in err.message)


def test_every_single_digit_change_breaks_the_checksum():
    good = make_id("19560312", 1)
    for i in range(17):
        for d in "0123456789":
            if d == good[i]:
                continue
            bad = good[:i] + d + good[i + 1:]
            result = parse_id(bad)
            assert isinstance(result, FieldError), bad


def test_phones():
    assert check_phone("138 1234 5678") == "13812345678"
    assert check_phone("0851-33221100") == "0851-33221100"
    for bad in ("12345678901", "1381234567", "abc"):
        assert isinstance(check_phone(bad), FieldError)


def test_masks_keep_only_what_is_needed():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_bank("6222 0212 3456 7890 123") == "*" * 15 + "0123"
    assert mask_id(None) == "" and mask_phone("") == ""
