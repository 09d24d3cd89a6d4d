"""Hostile JSON handed to the command line (intake, calendar, event data): refused with a
Chinese message naming the limit or the fault, exit code 2, never a traceback. Real processes."""
from __future__ import annotations

import json

import pytest

from station.core import limits
from tests.test_cli import ok, run


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile") / "st"
    ok(run(d, "init", "--code", "XX0101", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬"))
    return d


def refused(result, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    for w in words:
        assert w in result.stderr, result.stderr


def test_deeply_nested_intake_is_refused(station):
    refused(run(station, "case", "new", "-", stdin="[" * 30000 + "]" * 30000), "嵌套", str(limits.MAX_JSON_DEPTH))


def test_oversized_intake_is_refused_without_reading_it_all(station, tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: 64 MB of zero bytes
    refused(run(station, "case", "new", str(big)), "过大")


def test_not_utf8_and_huge_numbers_are_refused(station, tmp_path):
    gbk = tmp_path / "gbk.json"
    gbk.write_bytes('{"resident": {"name": "张秀英"}}'.encode("gbk"))
    refused(run(station, "case", "new", str(gbk)), "UTF-8")
    refused(run(station, "case", "new", "-", stdin='{"item": ' + "9" * 5000 + "}"), "数字")


def test_calendar_with_wrong_shapes_is_refused(station, tmp_path):
    for doc in ({"year": 2027, "holidays": 5}, {"year": 2027, "holidays": [{"date": 20270101}]},
                {"year": True, "holidays": ["2027-01-01"]}, {"year": 2027, "holidays": ["2027-01-01"] * 400},
                {"year": 2027, "holidays": ["2027-01-01", "2027-01-01"]}):
        f = tmp_path / "cal.json"
        f.write_text(json.dumps(doc), encoding="utf-8")
        refused(run(station, "calendar", "import", str(f)), "节假日")


def test_event_data_that_is_not_an_object_is_refused(station):
    # Refused as it is read, before the station is even unlocked: the case need not exist.
    refused(run(station, "case", "event", "XX0101-2026-000001", "note", "--data", "[1, 2]"), "JSON 对象")
    refused(run(station, "case", "event", "XX0101-2026-000001", "note", "--data", "[" * 5000), "嵌套")
