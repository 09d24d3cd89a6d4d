"""Natural order for village groups (村民小组) and similar labels: 一组 < 二组 < … < 十组 < 十一组,
and 1组 < 2组 < 10组 — not the code-point order (一组, 三组, 二组, 五组…) that SQL gives."""
from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100}
_TOKEN = re.compile(r"(\d+|[零〇一二两三四五六七八九十百]+)")


def chinese_number(text: str) -> int:
    """``十一`` → 11, ``二十`` → 20, ``一百零五`` → 105 (numerals up to the hundreds, as group names use)."""
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def group_key(label: str | None) -> tuple:
    """Sort key: the label cut into text and numbers, numbers compared by value (Arabic, full-width
    or Chinese numerals alike); numbers sort before text at the same place, so "" and None come first."""
    key = []
    for part in _TOKEN.split(label or ""):
        if not part:
            continue
        if part[0].isdigit():
            key.append((0, int(part), ""))
        elif part[0] in _DIGITS or part[0] in _UNITS:
            key.append((0, chinese_number(part), ""))
        else:
            key.append((1, 0, part))
    return tuple(key)
