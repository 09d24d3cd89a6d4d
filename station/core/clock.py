"""Hybrid logical clock (HLC) stamps for events.

A stamp is wall-clock milliseconds plus a counter plus the node that made it, written as a
fixed-width string so that plain string order is causal-then-wall order. Events from the
station and the township fold in (stamp, id) order, on both sides alike.

This module is the one place that says what a stamp is: ``parse_stamp`` accepts only the exact
fixed-width form, and ``check_received`` refuses a stamp from elsewhere that is further ahead of
our wall clock than ``MAX_CLOCK_SKEW_MS`` — a PC whose clock is wrong must not drag every clock it
syncs with into the future (one stamp in 2286 would otherwise spread to the township and every
station, and the counter would overflow its five digits).
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from station.errors import ValidationFailed

MS_DIGITS, COUNTER_DIGITS = 13, 5
MAX_COUNTER = 10**COUNTER_DIGITS - 1
MAX_NODE = 64
MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000  # a village PC may be a day off (time zone, no battery); more is a wrong clock
_STAMP = re.compile(rf"(\d{{{MS_DIGITS}}})\.(\d{{{COUNTER_DIGITS}}})\.([A-Za-z0-9_\-]{{1,{MAX_NODE}}})")


class StampRejected(ValidationFailed):
    """A stamp that is not a stamp (``bad_stamp``) or comes from a clock too far ahead (``clock_ahead``)."""

    code = "bad_stamp"

    def __init__(self, title: str, code: str = "bad_stamp"):
        super().__init__(title)
        self.code = code


def format_stamp(ms: int, counter: int, node: str) -> str:
    return f"{ms:0{MS_DIGITS}d}.{counter:0{COUNTER_DIGITS}d}.{node}"


def parse_stamp(stamp) -> tuple[int, int, str]:
    """``(ms, counter, node)`` of a well-formed stamp; anything else raises ``StampRejected``."""
    m = _STAMP.fullmatch(stamp) if isinstance(stamp, str) else None
    if m is None:
        raise StampRejected("事件时间戳格式不对(应为 13位毫秒.5位计数.节点)")
    return int(m.group(1)), int(m.group(2)), m.group(3)


def check_received(stamp, whose: str, wall_ms: int | None = None, skew_ms: int = MAX_CLOCK_SKEW_MS) -> tuple[int, int, str]:
    """A stamp received from another node, checked before it is stored or observed. ``whose`` names
    the sender's computer in the message (e.g. "服务站", "乡镇服务器"): that is the clock to fix."""
    ms, counter, node = parse_stamp(stamp)
    wall = int(time.time() * 1000) if wall_ms is None else wall_ms
    if ms > wall + skew_ms:
        hours = (ms - wall) // 3_600_000
        raise StampRejected(f"{whose}电脑的时钟不对:事件时间比本机时间超前约 {hours} 小时(最多允许 {skew_ms // 3_600_000} 小时)。"
                            f"请把{whose}电脑的日期和时间校准后再同步", code="clock_ahead")
    return ms, counter, node


@dataclass
class HybridClock:
    """Issues monotonically increasing stamps, even if the wall clock steps back."""

    node: str
    last_ms: int = 0
    counter: int = 0
    # Background sync observes stamps while the clerk's actions take new ones.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def now(self, wall_ms: int | None = None) -> str:
        wall = int(time.time() * 1000) if wall_ms is None else wall_ms
        with self._lock:
            if wall > self.last_ms:
                self.last_ms, self.counter = wall, 0
            elif self.counter >= MAX_COUNTER:
                # Five digits are full: step the millisecond instead, so the stamp keeps its width and order.
                self.last_ms, self.counter = self.last_ms + 1, 0
            else:
                self.counter += 1
            return format_stamp(self.last_ms, self.counter, self.node)

    def observe(self, stamp: str) -> None:
        """Move past a stamp received from elsewhere so our next stamp sorts after it. Callers check
        stamps from other nodes with ``check_received`` first."""
        ms, counter, _ = parse_stamp(stamp)
        self.observe_parsed(ms, counter)

    def observe_parsed(self, ms: int, counter: int) -> None:
        """``observe`` of a stamp already parsed (and checked) by the caller."""
        with self._lock:
            if ms > self.last_ms or (ms == self.last_ms and counter > self.counter):
                self.last_ms, self.counter = ms, counter
