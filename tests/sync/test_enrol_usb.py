"""Enrolment carried on a USB stick: the file and the reply say nothing an observer can use."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ROOT
from tests.sync.test_enrol_mitm import encodings


def township(data_dir, *args, cwd=ROOT):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--data-dir", str(data_dir)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_township_station_add_writes_a_file_without_the_code(tmp_path):
    HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    target = tmp_path / "enrol-XX0101.json"
    r = township(tmp_path / "hub", "station", "add", "--code", "XX0101", "--name", "石板村", "--out", str(target), "--json")
    assert r.returncode == 0, r.stderr
    code = json.loads(r.stdout)["code"]
    data = target.read_bytes()
    assert json.loads(data)["station_code"] == "XX0101"
    assert [e for e in encodings(code) if e in data] == []
