"""HTTP enrolment with a man in the middle (``tests/sync/mitm.py``) between station and hub."""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from urllib.parse import quote

from station.services.session import StationHome
from tests.sync.conftest import ROOT, ST_PASS
from tests.sync.mitm import Proxy


def encodings(code: str) -> list[bytes]:
    """Every way the one-time code could show up in the traffic."""
    forms = {code, code.lower(), f"{code[:5]}-{code[5:]}"}
    out = []
    for f in forms:
        raw = f.encode()
        out += [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode(), raw.hex().upper().encode(),
                quote(f).encode(), f.encode("utf-16-le"), hashlib.sha256(raw).hexdigest().encode(), hashlib.sha256(raw).digest()]
    return out


def station_cli(data_dir, *args, env_extra=None):
    env = {**os.environ, "STATION_PASSPHRASE": ST_PASS, "STATION_USER": "zhanzhang", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(data_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def new_home(tmp_path, code="XX0101"):
    s, _ = StationHome(tmp_path / code).init(code, f"{code}村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    s.close()
    return tmp_path / code


def test_the_code_never_travels_in_any_encoding(hub, tmp_path):
    home = new_home(tmp_path)
    with hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
    with Proxy(hub.url) as proxy:
        r = station_cli(home, "enroll", "--hub", proxy.url, "--code", code)
    assert r.returncode == 0, r.stderr
    assert len(proxy.captured) > 200 and any("enroll" in p for p in proxy.paths)
    leaks = [e for e in encodings(code) if e in proxy.captured]
    assert leaks == []
    with hub.open() as h:
        assert h.store.station("XX0101")["status"] == "active"
