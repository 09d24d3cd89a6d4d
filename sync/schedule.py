"""When to try again: a steady interval while the hub answers, exponential backoff with jitter
while it does not (so fifty stations coming back online don't all knock at the same second)."""
from __future__ import annotations

import random

INTERVAL_S = 60.0
BASE_S = 5.0
MAX_S = 15 * 60.0


def next_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds until the next attempt after ``failures`` failures in a row (0: all is well)."""
    if failures <= 0:
        return INTERVAL_S
    rng = rng or random.Random()
    ceiling = min(MAX_S, BASE_S * 2 ** (failures - 1))
    return rng.uniform(ceiling / 2, ceiling)  # "equal jitter": never 0, never above the ceiling
