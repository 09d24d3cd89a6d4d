import random

from sync.schedule import BASE_S, INTERVAL_S, MAX_S, next_delay


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(1)
    assert next_delay(0) == INTERVAL_S
    for failures in range(1, 20):
        ceiling = min(MAX_S, BASE_S * 2 ** (failures - 1))
        delays = {next_delay(failures, rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 40  # spread out
    assert max(next_delay(30, rng) for _ in range(100)) <= MAX_S
