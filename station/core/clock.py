"""Hybrid logical clock (HLC) stamps for events.

A stamp is wall-clock milliseconds plus a counter plus the node that made it, written as a
fixed-width string so that plain string order is causal-then-wall order. Events from the
station and the township fold in (stamp, id) order, on both sides alike.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


def format_stamp(ms: int, counter: int, node: str) -> str:
    return f"{ms:013d}.{counter:05d}.{node}"


def parse_stamp(stamp: str) -> tuple[int, int, str]:
    ms, counter, node = stamp.split(".", 2)
    return int(ms), int(counter), node


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
            else:
                self.counter += 1
            return format_stamp(self.last_ms, self.counter, self.node)

    def observe(self, stamp: str) -> None:
        """Move past a stamp received from elsewhere so our next stamp sorts after it."""
        ms, counter, _ = parse_stamp(stamp)
        with self._lock:
            if ms > self.last_ms or (ms == self.last_ms and counter > self.counter):
                self.last_ms, self.counter = ms, counter
