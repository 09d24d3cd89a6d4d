"""Money: integer fen (分) in the store, ``Decimal`` in the domain, formatted only here.

Never a float: amounts are parsed from text straight into ``Decimal`` and rounded half-up to
the fen, the way a township's spreadsheet shows them.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


def yuan(value: str | int | Decimal) -> Decimal:
    """An amount in yuan from text, an int, or a Decimal (floats are refused)."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        return Decimal(str(value).replace(",", "").strip()).quantize(FEN, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"不是有效的金额:{value!r}") from None


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def format_fen(fen: int) -> str:
    """1234567 → '12,345.67' (元)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
