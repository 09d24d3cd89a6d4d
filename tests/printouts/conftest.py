"""A demo station, and a stand-in ``lp`` that records what the station sends to the printer."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from station.services import demo
from station.services.session import StationHome

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    from station.store import keys
    saved = keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P
    keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = 2**10, 8, 1  # module-scoped: the autouse fixture is per test
    try:
        d = tmp_path_factory.mktemp("print") / "station"
        demo.build(d, cases_count=60, today=TODAY).close()
    finally:
        keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P = saved
    return d


@pytest.fixture
def session(demo_dir):
    s = StationHome(demo_dir).unlock("daiban", demo.DEMO_PASSPHRASE, today=lambda: TODAY)
    yield s
    s.close()
