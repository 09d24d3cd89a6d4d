"""The station core's limits on outside input, in one place (each refusal names its limit).

Documents a clerk or the township hands the station as JSON — intake (``station case new``),
holiday calendars (``station calendar import``) — are small: a few KB. The limits sit far above
any real one and far below what would cost a village PC its memory or its stack.
"""
from __future__ import annotations

# One JSON document read from a file or standard input.
MAX_JSON_DOCUMENT_BYTES = 1024 * 1024
# Nesting of arrays and objects in it: the deepest real document (intake) has 3 levels; Python's
# parser recurses per level and overflows its stack near 1,000.
MAX_JSON_DEPTH = 32
# A holiday calendar: days listed per year (holidays or make-up days), and a day's name.
MAX_CALENDAR_DAYS = 366
MAX_CALENDAR_NAME = 40
