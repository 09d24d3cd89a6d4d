"""``station doctor`` on machines as they are: a ready one, one whose only CJK font lacks digits,
a broken install (no stylesheet), a data folder that is a file or open to others, a full disk."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from station import doctor

ROOT = Path(__file__).resolve().parent.parent
DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def run_doctor(data_dir: Path, fonts: Path, path: str, *extra: str, pythonpath: Path = ROOT, cwd: Path = ROOT):
    env = {**os.environ, "STATION_FONT_DIRS": str(fonts), "PATH": path, "PYTHONPATH": str(pythonpath)}
    env.pop("STATION_FONT", None)
    env.pop("STATION_HOME", None)
    return subprocess.run([sys.executable, "-m", "station.cli", "doctor", "--data-dir", str(data_dir), *extra],
                          capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


@pytest.fixture
def machine(tmp_path):
    """A font folder, a private data folder and a PATH with an ``lp`` and an ``lpstat`` knowing one printer."""
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("lp", "cat > /dev/null"), ("lpstat", "echo HP-LaserJet-1020")):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return fonts, data, f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.skipif(not WQY.is_file(), reason="needs fonts-wqy-microhei")
def test_a_ready_machine_passes(machine):
    fonts, data, path = machine
    shutil.copy(WQY, fonts)
    done = run_doctor(data, fonts, path, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and not [f for f in report["findings"] if f["level"] != "ok"]
    said = " ".join(f["message"] for f in report["findings"])
    assert "HP-LaserJet-1020" in said and f"打印使用 {fonts / WQY.name}" in said and "事项清单" in said


@pytest.mark.skipif(not DROID.is_file(), reason="needs fonts-droid-fallback")
def test_only_a_font_without_digits_blocks_and_says_what_to_install(machine):
    fonts, data, path = machine
    shutil.copy(DROID, fonts)
    done = run_doctor(data, fonts, path)
    assert done.returncode == doctor_exit(), done.stdout + done.stderr
    assert "[问题] 字体" in done.stdout and "文泉驿微米黑" in done.stdout and "fonts-wqy-microhei" in done.stdout
    assert "DroidSansFallbackFull.ttf 缺少数字" in done.stdout and "有 1 项问题" in done.stdout


def test_no_printer_is_a_reminder_with_the_way_round(machine, tmp_path):
    fonts, data, _ = machine
    if WQY.is_file():
        shutil.copy(WQY, fonts)
    empty = tmp_path / "nothing"
    empty.mkdir()
    done = run_doctor(data, fonts, str(empty), "--json")
    printers = [f for f in json.loads(done.stdout)["findings"] if f["area"] == "打印机"]
    assert printers[0]["level"] == "warn" and "没有找到打印机" in printers[0]["message"] and "保存PDF" in printers[0]["fix"]


def test_a_broken_install_blocks(machine, tmp_path):
    fonts, data, path = machine
    copy = tmp_path / "install"
    for package in ("station", "printouts", "ledgers", "sync"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "station" / "tui" / "station.tcss").unlink()  # the wheel that once shipped without it
    done = run_doctor(data, fonts, path, "--json", pythonpath=copy, cwd=tmp_path)
    assert done.returncode == doctor_exit(), done.stdout + done.stderr
    install = [f for f in json.loads(done.stdout)["findings"] if f["area"] == "安装"]
    assert install[0]["level"] == "block" and "station.tcss" in install[0]["message"]


def test_data_folder_that_is_a_file_blocks_and_one_open_to_others_is_named(tmp_path):
    afile = tmp_path / "station"
    afile.write_text("")
    assert [f.level for f in doctor.data_folder(afile)] == [doctor.BLOCK]
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    found = doctor.data_folder(open_dir)
    assert found[0].level == doctor.WARN and f"chmod 700 {open_dir}" == found[0].fix
    open_dir.chmod(0o700)
    assert doctor.data_folder(open_dir)[0].level == doctor.OK
    assert stat.S_IMODE(open_dir.stat().st_mode) == 0o700


def test_a_nearly_full_disk_blocks(tmp_path, monkeypatch):
    free = shutil.disk_usage(tmp_path).free
    assert doctor.disk(tmp_path)[0].level in (doctor.OK, doctor.WARN)
    monkeypatch.setattr(doctor, "DISK_BLOCK", free * 2)  # as if this disk were that much smaller
    found = doctor.disk(tmp_path / "not-yet" / "made")
    assert found[0].level == doctor.BLOCK and "剩余" in found[0].message and found[0].fix


def doctor_exit() -> int:
    from station.cli_doctor import BLOCKED_EXIT
    return BLOCKED_EXIT
