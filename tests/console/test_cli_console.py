"""``township`` with no subcommand, and ``township console``, open the console — or say in Chinese
why they cannot (no hub in the folder), never with a traceback."""
import os
import subprocess
import sys

from tests.sync.conftest import ROOT


def test_console_without_a_hub_says_township_init(tmp_path):
    env = {**os.environ, "TOWNSHIP_HOME": str(tmp_path / "none")}
    for args in ([], ["console"], ["console", "--data-dir", str(tmp_path / "none")]):
        r = subprocess.run([sys.executable, "-m", "sync.hub.cli", *args], cwd=ROOT, capture_output=True, text=True, env=env,
                           stdin=subprocess.DEVNULL, timeout=60)
        assert r.returncode != 0 and "township init" in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_help_still_lists_the_commands():
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "console" in r.stdout and "user" in r.stdout and "不带子命令时打开工作台" in r.stdout
