"""Storage failures from the command line: a Chinese message that says what to do and a
stable code, never an English traceback. Real processes on a real filled or read-only tmpfs."""
from __future__ import annotations

import json

from tests.conftest import make_id
from tests.store.media import fill, remount, small_disk
from tests.test_cli import ok, run

DOC = {"resident": {"id_number": make_id(), "name": "张秀英", "phone": "13812345678"}, "item": "MZ-003",
       "materials_received": ["申请人居民身份证", "户口簿", "临时救助申请书"]}


def _clean(result) -> None:
    assert "Traceback" not in result.stderr and "Error" not in result.stderr and "Error" not in result.stdout
    assert "密钥" not in result.stderr + result.stdout  # never sends the clerk to the key or a backup


def _init(d):
    ok(run(d, "init", "--code", "XX0101", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬"))


def test_disk_full_from_the_command_line(tmp_path):
    with small_disk(tmp_path / "fs", size_kb=3072) as mnt:
        d = mnt / "st"
        _init(d)
        ok(run(d, "case", "new", "-", stdin=json.dumps(DOC, ensure_ascii=False)))
        fill(mnt, leave=0)
        for leave in (0, 8192):  # full while writing, and too full even to open (-shm, WAL)
            fill(mnt, leave=leave)
            doc = {**DOC, "resident": {**DOC["resident"], "id_number": make_id(seq=leave % 97 + 3)}}
            result = run(d, "case", "new", "-", stdin=json.dumps(doc, ensure_ascii=False))
            assert result.returncode == 7, result.stdout + result.stderr
            assert "磁盘空间已满" in result.stderr
            _clean(result)
            as_json = run(d, "case", "list", "--json")
            if as_json.returncode:
                assert json.loads(as_json.stdout)["error"] == "disk_full"
                _clean(as_json)
        (mnt / "filler.bin").unlink()
        assert len(ok(run(d, "case", "list", "--json"))) == 1  # nothing half-saved, nothing lost


def test_read_only_media_from_the_command_line(tmp_path):
    with small_disk(tmp_path / "fs") as mnt:
        d = mnt / "st"
        _init(d)
        remount(mnt, "ro")
        try:
            result = run(d, "case", "new", "-", stdin=json.dumps(DOC, ensure_ascii=False))
            assert result.returncode == 7 and "只读" in result.stderr, result.stderr
            _clean(result)
            as_json = run(d, "case", "new", "-", "--json", stdin=json.dumps(DOC, ensure_ascii=False))
            assert json.loads(as_json.stdout)["error"] == "read_only_media"
        finally:
            remount(mnt, "rw")
