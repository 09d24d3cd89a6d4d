"""Scripts pay the unlock once: ``station case new --lines`` and ``station case event --lines``
take JSON Lines from a file or standard input in one real process, each line its own transaction."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_id
from tests.test_cli import ok, run


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch") / "st"
    ok(run(d, "init", "--code", "XX0102", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬", "--json"))
    return d


_seq = iter(range(100, 999))


def doc(name: str, **extra) -> dict:
    return {"resident": {"id_number": make_id(seq=next(_seq)), "name": name, "phone": "13812345678"}, "item": "MZ-003",
            "materials_received": ["申请人居民身份证", "户口簿", "临时救助申请书"], **extra}


def lines(*docs) -> str:
    return "\n".join(d if isinstance(d, str) else json.dumps(d, ensure_ascii=False) for d in docs) + "\n"


def case_count(d) -> int:
    return len(ok(run(d, "case", "list", "--limit", "1000", "--json")))


def test_many_intakes_in_one_call_bad_lines_reported_rest_kept(station, tmp_path):
    before = case_count(station)
    f = tmp_path / "intake.jsonl"
    f.write_text(lines(doc("张秀英"), doc("李国强"), "{not json", "", {"resident": {"name": "王"}, "item": "MZ-003"},
                       doc("赵春梅")), encoding="utf-8")
    r = run(station, "case", "new", "--lines", str(f), "--json")
    assert r.returncode != 0  # a line failed: the script must notice
    results = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["line"] for x in results] == [1, 2, 3, 5, 6]  # the blank line 4 is skipped, not an error
    assert [x["ok"] for x in results] == [True, True, False, False, True]
    assert results[2]["details"][0]["code"] == "bad_json"
    assert "成功 3 行,失败 2 行" in r.stderr
    assert case_count(station) == before + 3
    numbers = [x["number"] for x in results if x["ok"]]
    assert len(set(numbers)) == 3


def test_events_from_standard_input_and_human_output(station):
    complete = ["申请人居民身份证", "户口簿", "临时救助申请书", "致困原因证明(医疗费用票据、事故证明等)",
                "家庭经济状况核对授权书", "本人银行卡(社保卡)"]
    r = run(station, "case", "new", "--lines", "-", "--json",
            stdin=lines(doc("孙丽", materials_received=complete), doc("周军", materials_received=complete)))
    numbers = [json.loads(x)["number"] for x in r.stdout.splitlines()]
    assert r.returncode == 0 and len(numbers) == 2
    events = lines(*[{"ref": n, "type": "submitted"} for n in numbers],
                   {"ref": numbers[0], "type": "no_such_event"}, {"type": "submitted"}, ["not", "an", "object"])
    r = run(station, "case", "event", "--lines", "-", stdin=events)
    out = r.stdout.splitlines()
    assert r.returncode != 0
    assert out[0].startswith(f"第 1 行:{numbers[0]} ") and "已记录" in out[0], out
    assert len(out) == 5 and all("未办理" in x for x in out[2:5]), out
    shown = ok(run(station, "case", "show", numbers[1], "--json"))
    assert shown["case"]["status"] == "submitted"


def test_overlong_line_refused_alone(station, tmp_path):
    from station.core import limits
    f = tmp_path / "big.jsonl"
    big = json.dumps(doc("钱多", note="长" * (limits.MAX_JSON_DOCUMENT_BYTES // 3 + 10)), ensure_ascii=False)
    f.write_text(lines(big, doc("吴敏")), encoding="utf-8")
    r = run(station, "case", "new", "--lines", str(f), "--json")
    results = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["line"], x["ok"]) for x in results] == [(1, False), (2, True)]
    assert results[0]["details"][0]["code"] == "too_large"


def test_lines_and_single_arguments_do_not_mix(station):
    r = run(station, "case", "event", "XX0102-2026-000001", "submitted", "--lines", "-", stdin="")
    assert r.returncode != 0 and "不能再给件号" in r.stderr
