"""Scripts pay the unlock once: 1,000 intakes through ``station case new --lines`` in one real
process (start, imports, the real unlock KDF, JSON Lines in, one result line out per case) vs the
same 1,000 intakes through ``cases.intake`` in this process on an already unlocked station.
Ratio = in-process time / CLI time (target ≥ 0.8). Also: what 1,000 single calls would cost,
estimated from 10 real single-intake processes."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from station.services import cases
from station.services.session import StationHome
from tests.bench.foundation import PASS, _doc

ROOT = Path(__file__).resolve().parents[2]


def _cli(data_dir: Path, *args: str, stdin: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATION_PASSPHRASE": PASS, "STATION_USER": "zhanzhang"}
    env.pop("STATION_HOME", None)
    return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, env=env, check=True)


def run(n: int = 1000, singles: int = 10) -> dict:
    rng = random.Random(3)
    docs, seen, i = [], set(), 0
    while len(docs) < n + singles:  # one name per identity number, as a real station has
        d, i = _doc(rng, i), i + 1
        if d["resident"]["id_number"] not in seen:
            seen.add(d["resident"]["id_number"])
            docs.append(d)
    with tempfile.TemporaryDirectory(prefix="station-cli-bench-") as tmp:
        home = StationHome(Path(tmp) / "service")
        session, _ = home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)
        t = time.perf_counter()
        for d in docs[:n]:
            cases.intake(session, d)
        service_s = time.perf_counter() - t
        session.close()

        home = StationHome(Path(tmp) / "cli")
        home.init("BE0001", "基准站", "zhanzhang", "基准", PASS)[0].close()
        text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs[:n])
        t = time.perf_counter()
        out = _cli(home.dir, "case", "new", "--lines", "-", "--json", stdin=text)
        cli_s = time.perf_counter() - t
        assert sum(1 for line in out.stdout.splitlines() if json.loads(line)["ok"]) == n

        t = time.perf_counter()
        for d in docs[n:]:
            _cli(home.dir, "case", "new", "-", "--json", stdin=json.dumps(d, ensure_ascii=False))
        single_s = (time.perf_counter() - t) / singles
    return {"intakes": n, "service_s": service_s, "cli_s": cli_s, "ratio": service_s / cli_s,
            "single_call_s": single_s, "singles_estimate_s": single_s * n}
