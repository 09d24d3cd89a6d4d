"""The county's rules and the 好差评 appeal across a real hub on 127.0.0.1, and cases pinned to the
catalog version they were received under, on the station and at the hub."""
import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest

from station.catalog import shipped_catalog
from station.errors import ValidationFailed
from station.services import cases
from sync import client
from sync.http import HttpTransport
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ROOT, intake, new_station

RULES = {"version": "2026-县1", "published": "2026-11-01", "publisher": "某县政务服务中心", "rectify_workdays": 10,
         "objection_answer_workdays": 3}


def to_delivered(s, hub, number):
    cases.add_event(s, number, "submitted")
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:
        h.case_event(number, "accepted_by_township", {})
        h.case_event(number, "decided", {"outcome": "approved", "summary": "准予"})
    client.sync_once(s, HttpTransport(hub.url))
    cases.add_event(s, number, "result_delivered", {"method": "当面领取"})


def test_rules_published_by_the_township_arrive_and_set_later_deadlines(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    with hub.open() as h:
        with pytest.raises(ValidationFailed):
            h.publish("rules", {**RULES, "rectify_workdays": 0})
        assert h.rules().version == "国家默认"
        with pytest.raises(ValidationFailed) as exc:  # the township's own 公示 obeys the minimum period too
            h.publish_notice("公示", "低保对象公示", "名单见附表", "2026-11-20", "2026-11-25")
        assert exc.value.details[0].code == "too_short"
        assert h.publish("rules", RULES) == 1
        assert h.rules().rectify_workdays == 10
        assert h.publish("rules", dict(RULES)) == 1  # the same version again: harmless
        with pytest.raises(ValidationFailed) as exc:
            h.publish("rules", {**RULES, "rectify_workdays": 5})
        assert exc.value.details[0].code == "version_used" and h.rules().rectify_workdays == 10
    client.sync_once(s, HttpTransport(hub.url))
    assert s.rules().version == "2026-县1" and s.rules().objection_answer_workdays == 3
    row = s.store.one("SELECT source FROM rules_versions WHERE active = 1")
    assert row["source"] == "乡镇 JZ01"
    s.close()
    later = new_station(tmp_path, hub, "XX0102")  # enrolled after the publishing: gets the rules too
    client.sync_once(later, HttpTransport(hub.url))
    assert later.rules().version == "2026-县1"
    later.close()


def test_only_the_township_decides_an_appeal(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    number = intake(s, 1)[0]
    to_delivered(s, hub, number)
    today = date.today()
    state = cases.add_event(s, number, "rated", {"level": 1, "reason_category": "服务态度差"})
    assert state.rectify_due == s.rules().rectify_due(today, s.calendar()).due
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:  # the township's statistics see the same deadlines, from the rating's payload
        assert h.overdue_follow_ups(today) == []
        late = h.overdue_follow_ups(state.rectify_due + timedelta(days=1))
        assert [(r["number"], r["late"]) for r in late] == [(number, ["回访", "整改"])]
    cases.add_event(s, number, "rating_appealed", {"grounds": "群众事后表示误操作,有录音"})
    # A station that writes the decision itself, bypassing the service: the hub refuses it.
    case_id = state.id
    forged = str(uuid.uuid4())
    with s.store.transaction() as db:
        seq = db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES ('event', ?, 'x')", (forged,)).lastrowid
        db.execute("INSERT INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) VALUES "
                   "(?, ?, 'appeal_decided', ?, 'XX0101', 'zhanzhang', ?, ?, 'x')",
                   (forged, case_id, s.clock.now(), json.dumps({"outcome": "overturned", "reason": "自批"}), seq))
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:
        q = h.store.quarantined("XX0101")
        assert [r["seq"] for r in q] == [seq] and "申诉复核决定" in q[0]["reason"] and "乡镇" in q[0]["reason"]
        _, hub_state, _ = h.case_state(number)
        assert hub_state.appeal == "pending"  # the forged decision changed nothing at the hub
    # the township decides, from its command line
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    township = [sys.executable, "-m", "sync.hub.cli", "case", "appeal", number, "--data-dir", str(hub.dir)]
    bad = subprocess.run(township + ["--outcome", "overturned"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode != 0
    done = subprocess.run(township + ["--outcome", "overturned", "--reason", "经核实属误评"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    with hub.open() as h:  # an overturned rating owes no 回访 or 整改
        assert h.overdue_follow_ups(state.rectify_due + timedelta(days=1)) == []
    client.sync_once(s, HttpTransport(hub.url))
    state, events = cases.load(s, number)
    assert state.appeal == "overturned" and state.rating == 1 and state.rating_overturned
    assert state.appeal_reason == "经核实属误评"  # the township's decision; the forged one is set aside here too
    assert [c["type"] for c in state.conflicts] == ["appeal_decided"]
    s.close()


def test_a_case_keeps_its_catalog_version_after_a_new_one_is_synced(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    v1 = shipped_catalog()
    old_item = v1.item("SB-001")
    number = intake(s, 1)[0]
    client.sync_once(s, HttpTransport(hub.url))
    v2 = v1.model_dump(mode="json")
    v2["version"] = v1.version + "-v2"
    item = next(i for i in v2["items"] if i["code"] == "SB-001")
    item["promised_days"], item["legal_days"] = 1, 2
    item["materials"] = item["materials"][:1] + [{"name": "新增证明", "form": "证明"}]
    item["deciding_level"] = "县" if old_item.deciding_level != "县" else "乡镇"
    with hub.open() as h:
        h.publish("catalog", v2)
    client.sync_once(s, HttpTransport(hub.url))
    assert s.catalog.version == v2["version"]
    state, _ = cases.load(s, number)
    assert state.catalog_version == v1.version
    kept = cases.received_item(s, state)
    assert kept == old_item and kept.promised_days != 1
    assert state.materials_required == [m.name for m in old_item.materials]
    newer = cases.intake(s, {"resident": {"id_number": make_id(seq=7), "name": "村民七"}, "item": "SB-001",
                             "materials_received": [m["name"] for m in item["materials"]]})["number"]
    new_state, _ = cases.load(s, newer)
    assert new_state.catalog_version == v2["version"] and cases.received_item(s, new_state).promised_days == 1
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:
        _, hub_state, _ = h.case_state(number)
        assert hub_state.catalog_version == v1.version and hub_state.due_on == state.due_on
        assert h.catalog_item(hub_state.catalog_version, "SB-001") == old_item
        _, hub_new, _ = h.case_state(newer)
        assert h.catalog_item(hub_new.catalog_version, "SB-001").deciding_level == item["deciding_level"]
    s.close()
