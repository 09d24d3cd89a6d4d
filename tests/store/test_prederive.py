"""The command line's early key derivation (station/store/prederive.py): taken only for exactly the
same derivation, and a command that unlocks with it opens the store as before."""
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from station.services.session import StationHome
from station.store import keys, prederive

ROOT = Path(__file__).resolve().parents[2]


def _scrypt(secret, salt, n, r, p):
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode())


def test_taken_only_for_the_same_derivation():
    salt = b"s" * 16
    prederive.start("口令-2026", salt, 2**10, 8, 1)
    assert prederive.take("口令-2027", salt, 2**10, 8, 1) is None  # another passphrase: nothing prepared
    assert prederive.take("口令-2026", b"t" * 16, 2**10, 8, 1) is None  # another salt
    assert keys._derive("口令-2026", salt, 2**10, 8, 1) == _scrypt("口令-2026", salt, 2**10, 8, 1)
    assert prederive.take("口令-2026", salt, 2**10, 8, 1) is None  # taken once
    assert keys._derive("口令-2027", salt, 2**10, 8, 1) == _scrypt("口令-2027", salt, 2**10, 8, 1)


def test_started_once_per_derivation():
    """``python -m station.cli`` runs the module twice (as __main__, then imported by its parts): one
    derivation, not a second one started half-way through the imports and waited for."""
    salt = b"u" * 16
    prederive.start("口令-once", salt, 2**10, 8, 1)
    first = prederive._pending[("口令-once", salt, 2**10, 8, 1)]
    prederive.start("口令-once", salt, 2**10, 8, 1)
    assert prederive._pending[("口令-once", salt, 2**10, 8, 1)] is first
    assert prederive.take("口令-once", salt, 2**10, 8, 1) == _scrypt("口令-once", salt, 2**10, 8, 1)


def test_not_started_by_importing_the_command_line(monkeypatch, tmp_path):
    monkeypatch.setenv("STATION_PASSPHRASE", "x")
    monkeypatch.setenv("STATION_USER", "zhanzhang")
    monkeypatch.setenv("STATION_HOME", str(tmp_path))
    prederive.start_for_command_line([])  # pytest is the main module here
    assert not prederive._pending


def test_a_script_unlocks_with_it_and_a_wrong_passphrase_still_fails(tmp_path):
    env = {**os.environ, "STATION_USER": "zhanzhang", "STATION_PASSPHRASE": "Prederive-Test-2026!"}
    env.pop("STATION_HOME", None)

    def station(*args, passphrase=None):
        e = {**env, **({"STATION_PASSPHRASE": passphrase} if passphrase else {})}
        return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(tmp_path / "st")], cwd=ROOT, env=e,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
    StationHome(tmp_path / "st").init("PD0001", "预派生站", "zhanzhang", "站长", "Prederive-Test-2026!")[0].close()
    ok = station("case", "list", "--json")
    assert ok.returncode == 0, ok.stderr
    wrong = station("case", "list", "--json", passphrase="Wrong-Passphrase-2026!")
    assert wrong.returncode != 0 and "密码不正确" in (wrong.stdout + wrong.stderr)
