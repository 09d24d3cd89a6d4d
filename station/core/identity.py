"""Citizen identity numbers (居民身份证号码, GB 11643-1999) and mobile phone numbers.

An identity number is 18 characters: a 6-digit area code, an 8-digit birth date, a 3-digit
sequence whose parity gives the sex, and a check character computed by ISO 7064 MOD 11-2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from station.errors import FieldError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
# Mainland mobile numbers: 11 digits starting 13-19. Landlines (区号-号码) are also common
# at village stations, so both shapes are accepted.
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


@dataclass(frozen=True)
class IdentityInfo:
    number: str
    birth_date: date
    sex: str  # "男" or "女"
    area_code: str


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize_id(raw: str) -> str:
    return raw.strip().replace(" ", "").upper()


def parse_id(raw: str, field: str = "id_number", today: date | None = None) -> IdentityInfo | FieldError:
    """Check an identity number; return what it tells, or the reason it is wrong."""
    number = normalize_id(raw)
    if not _ID_SHAPE.match(number):
        return FieldError(field, "id_shape", "身份证号码应为18位:前17位为数字,最后一位为数字或X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return FieldError(field, "id_birth_date", f"身份证号码中的出生日期 {number[6:14]} 不存在")
    today = today or date.today()
    if born > today or born.year < 1900:
        return FieldError(field, "id_birth_date", f"身份证号码中的出生日期 {born.isoformat()} 不合理")
    if check_char(number[:17]) != number[17]:
        return FieldError(field, "id_checksum", "身份证号码校验位不正确,请核对后重新输入")
    sex = "男" if int(number[16]) % 2 == 1 else "女"
    return IdentityInfo(number=number, birth_date=born, sex=sex, area_code=number[:6])


def normalize_phone(raw: str) -> str:
    return re.sub(r"[\s()()]", "", raw.strip())


def check_phone(raw: str, field: str = "phone") -> str | FieldError:
    phone = normalize_phone(raw)
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    return FieldError(field, "phone_shape", "电话号码应为11位手机号或带区号的固定电话")
