"""`station case show --json` never prints a proxy's full identity number or phone (信息脱敏),
for a clerk or a supervisor, anywhere in the document; a supervisor's reveal with a reason is
possible and lands in the audit trail. Real processes on a real station."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_id
from tests.test_cli import PASS, ok, run

PROXY_ID = make_id("19800101", 7, "520402")
PROXY_PHONE = "13987654321"


@pytest.fixture(scope="module")
def station_with_proxy(tmp_path_factory):
    d = tmp_path_factory.mktemp("mask") / "st"
    ok(run(d, "init", "--code", "XX0101", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬"))
    ok(run(d, "user", "add", "daiban", "--name", "杨光明", "--role", "clerk", env={"STATION_NEW_PASSPHRASE": PASS}))
    doc = {"resident": {"id_number": make_id(), "name": "张秀英", "phone": "13812345678"}, "item": "MZ-003",
           "materials_received": ["申请人居民身份证", "户口簿", "临时救助申请书"],
           "proxy": {"name": "王建国", "relation": "儿子", "id_number": PROXY_ID, "phone": PROXY_PHONE}}
    number = ok(run(d, "case", "new", "-", "--json", stdin=json.dumps(doc, ensure_ascii=False), user="daiban"))["number"]
    return d, number


@pytest.mark.parametrize("user", ["daiban", "zhanzhang"])
def test_case_show_json_masks_the_proxy_everywhere(station_with_proxy, user):
    d, number = station_with_proxy
    result = run(d, "case", "show", number, "--json", user=user)
    assert result.returncode == 0, result.stderr
    assert PROXY_ID not in result.stdout and PROXY_PHONE not in result.stdout
    data = json.loads(result.stdout)
    received = next(e for e in data["timeline"] if e["type"] == "received")
    assert received["payload"]["proxy"]["id_number"] == PROXY_ID[:6] + "********" + PROXY_ID[-4:]
    assert received["payload"]["proxy"]["phone"] == "139****4321"
    human = run(d, "case", "show", number, user=user)
    assert PROXY_ID not in human.stdout and PROXY_PHONE not in human.stdout


def test_supervisor_reveal_is_audited_and_clerk_cannot(station_with_proxy):
    d, number = station_with_proxy
    before = ok(run(d, "audit", "verify", "--json"))["entries"]
    refused = run(d, "case", "show", number, "--json", "--reveal", "核对委托人身份", user="daiban")
    assert refused.returncode == 6 and PROXY_ID not in refused.stdout
    shown = ok(run(d, "case", "show", number, "--json", "--reveal", "核对委托人身份"))
    assert shown["case"]["proxy"]["id_number"] == PROXY_ID
    assert ok(run(d, "audit", "verify", "--json"))["entries"] == before + 1
    no_reason = run(d, "case", "show", number, "--json", "--reveal", "  ")
    assert no_reason.returncode == 2
