"""``station backup`` / ``station restore`` as a clerk or a script runs them: real processes, real KDF."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.test_cli import DOC, ok, run


@pytest.fixture(scope="module")
def station(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli-backup") / "st"
    out = ok(run(d, "init", "--code", "XX0101", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬", "--json"))
    (d.parent / "recovery.txt").write_text(out["recovery_code"])
    ok(run(d, "case", "new", "-", "--json", stdin=json.dumps(DOC, ensure_ascii=False)))
    return d


def test_backup_list_and_restore_from_the_command_line(station, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    made = ok(run(station, "backup", "--to", str(stick), "--json"))
    assert made["counts"]["cases"] == 1 and made["audit_ok"] and Path(made["folder"]).is_dir()
    again = ok(run(station, "backup", "--to", str(stick), "--keep", "1", "--json"))
    assert again["pruned"] == [Path(made["folder"]).name]
    listed = ok(run(station, "backup", "--list", str(stick), "--json"))
    assert [(b["folder"], b["ok"], b["station_code"]) for b in listed] == [(again["folder"], True, "XX0101")]
    text = ok(run(station, "backup", "--list", str(stick)))
    assert "可用" in text and "代办件 1 件" in text

    new = tmp_path / "new-pc"
    restored = ok(run(new, "restore", str(stick), "--json"))  # the stick: its newest backup
    assert restored["counts"]["cases"] == 1 and restored["data_dir"] == str(new)
    assert [c["number"] for c in ok(run(new, "case", "list", "--json"))] == [c["number"] for c in ok(run(station, "case", "list", "--json"))]
    assert ok(run(new, "audit", "verify", "--json"))["ok"]
    # The same backup onto a station that exists: refused, nothing changed.
    before = (new / "station.db").read_bytes()
    refused = run(new, "restore", again["folder"], "--json")
    assert refused.returncode == 8 and "已经有一个服务站" in json.loads(refused.stdout)["title"]
    assert (new / "station.db").read_bytes() == before
    # With the township's recovery code instead of a passphrase.
    code = (station.parent / "recovery.txt").read_text()
    other = tmp_path / "other-pc"
    by_code = run(other, "restore", again["folder"], "--recovery", env={"STATION_RECOVERY_CODE": code, "STATION_PASSPHRASE": ""})
    assert by_code.returncode == 0 and "已恢复到" in by_code.stdout, by_code.stderr
    wrong = run(tmp_path / "third-pc", "restore", again["folder"], "--json", env={"STATION_PASSPHRASE": "not-the-pass-9"})
    assert wrong.returncode == 5 and not (tmp_path / "third-pc").exists()


@pytest.mark.parametrize("name", ["station.db", "keys.json", "manifest.json"])
def test_one_flipped_bit_is_refused_by_station_restore(station, tmp_path, name):
    stick = tmp_path / "stick"
    stick.mkdir()
    folder = Path(ok(run(station, "backup", "--to", str(stick), "--json"))["folder"])
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0x10
    path.write_bytes(bytes(data))
    target = tmp_path / "new-pc"
    result = run(target, "restore", str(folder))
    assert result.returncode == 13, result.stdout + result.stderr
    assert "错误:备份已损坏" in result.stderr and name in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()
    as_json = json.loads(run(target, "restore", str(folder), "--json").stdout)
    assert as_json["error"] == "backup_failed" and "已损坏" in as_json["title"]
    shutil.rmtree(folder)


def test_clean_messages_for_a_missing_stick_and_a_missing_choice(station, tmp_path):
    missing = run(station, "backup", "--to", str(tmp_path / "no-stick"))
    assert missing.returncode == 13 and "找不到U盘或文件夹" in missing.stderr and "Traceback" not in missing.stderr
    neither = run(station, "backup")
    assert neither.returncode == 2 and "--to" in neither.stderr
    nothing = run(tmp_path / "x", "restore", str(tmp_path))
    assert nothing.returncode == 13 and "没有找到可用的备份" in nothing.stderr
