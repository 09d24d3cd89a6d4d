"""Quarantined records and held bundles at the township: listed with reasons, retried after a fix
(only through the checks a fresh record gets), discarded by a 负责人 with a reason, all audited.
Real stations, real bundles (the stick, and the hub's own receive path)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from station.errors import NotFound, PermissionDenied, ValidationFailed
from station.services import cases
from sync import client, usb
from sync.hub import quarantine as q
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS, ROOT, intake
from tests.sync.test_usb import usb_station

MANAGER = "admin"


def manager_only(user: str) -> bool:
    return user == MANAGER


class Direct:
    """The hub in this process as the station's transport: real sealed bundles, no HTTP."""

    def __init__(self, hub):
        self.hub = hub

    def push(self, data: bytes) -> bytes:
        return self.hub.receive(data)


@pytest.fixture
def hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", MANAGER, HUB_PASS, db=hub_db)
    yield h
    h.store.close()


def note_before_its_case(s) -> tuple[str, int]:
    """A damaged station database sends a note on a new case ahead of the case itself: the note is
    quarantined (no such case yet), the case arrives right after it."""
    number = intake(s, 1, start=7)[0]
    cases.add_event(s, number, "note_added", {"text": "群众来电询问进度"})
    received, note = s.store.query("SELECT e.id, e.outbox_seq FROM events e JOIN cases c ON c.id = e.case_id "
                                   "WHERE c.number = ? AND e.type IN ('received', 'note_added') ORDER BY e.outbox_seq", (number,))
    with s.store.transaction() as db:  # swap their places in the outbox
        db.execute("PRAGMA defer_foreign_keys = ON")  # the swap passes through a number no outbox row has
        db.execute("UPDATE events SET outbox_seq = -1 WHERE id = ?", (received["id"],))
        for event, seq in ((note, received["outbox_seq"]), (received, note["outbox_seq"])):
            db.execute("UPDATE outbox SET ref_id = ? WHERE seq = ?", (event["id"], seq))
            db.execute("UPDATE events SET outbox_seq = ? WHERE id = ?", (seq, event["id"]))
    return number, received["outbox_seq"]


def forged_decision(s, number: str) -> int:
    """A station that writes the township's decision itself (an old program): the policy refuses it."""
    import uuid
    state = cases.load(s, number)[0]
    with s.store.transaction() as db:
        seq = db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES ('event', ?, 'x')", (eid := str(uuid.uuid4()),)).lastrowid
        db.execute("INSERT INTO events (id, case_id, type, stamp, node, user, payload, outbox_seq, recorded_at) VALUES "
                   "(?, ?, 'decided', ?, 'XX0101', 'zz', ?, ?, 'x')",
                   (eid, state.id, s.clock.now(), json.dumps({"outcome": "approved", "summary": "自己批准", "on": "2026-11-20"}), seq))
    return seq


def test_a_record_whose_predecessor_arrived_is_retried_a_refused_one_stays(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    number, note_seq = note_before_its_case(s)
    cases.add_event(s, number, "submitted")
    forged = forged_decision(s, number)
    client.sync_once(s, Direct(hub))
    listed = {r["seq"]: r for r in q.list_quarantined(hub)}
    assert set(listed) == {note_seq, forged}
    assert "不存在" in listed[note_seq]["reason"] and listed[note_seq]["retryable"]
    assert hub.store.case(number)["status"] == "submitted"  # the case itself came in right after the note
    events_before = {e["type"] for e in hub.store.case_events(hub.store.case(number)["id"])}
    assert "note_added" not in events_before
    assert q.retry_quarantined(hub, listed[note_seq]["id"], user="wangjb").applied
    assert "note_added" in {e["type"] for e in hub.store.case_events(hub.store.case(number)["id"])}
    # The policy still refuses the station's own decision: it stays, with today's reason, nothing written.
    result = q.retry_quarantined(hub, listed[forged]["id"], user="wangjb")
    assert not result.applied and "只能由" in result.reason
    assert [r["seq"] for r in q.list_quarantined(hub)] == [forged] and hub.store.case(number)["status"] == "submitted"
    audit = hub.store.s.query("SELECT user, action, detail FROM audit WHERE action = 'quarantine.retry' ORDER BY seq")
    assert [(a["user"], json.loads(a["detail"])["applied"]) for a in audit] == [("wangjb", True), ("wangjb", False)]
    with pytest.raises(NotFound):
        q.retry_quarantined(hub, listed[note_seq]["id"])  # gone from quarantine
    s.close()


def test_an_older_version_of_a_replaced_record_and_a_chain_alert_are_not_retried(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 1)
    client.sync_once(s, Direct(hub))
    resident = json.loads(hub.store.s.scalar("SELECT data FROM residents LIMIT 1"))
    st = hub.store.station("XX0101")
    with hub.store.transaction():  # as the hub quarantines them (service.apply, anchor.at_hub)
        hub.store.quarantine("XX0101", st["hwm"], "resident", "群众记录格式不对", {**resident, "name": "旧名字"})
        hub.store.quarantine("XX0101", 3, "audit_chain", "审计日志只剩 2 条,少于乡镇已确认的 3 条:末尾记录被删除", {"heads": {}})
    rows = q.list_quarantined(hub)
    assert [r["retryable"] for r in rows] == [False, False]
    assert "后来的版本" in rows[0]["not_retryable"] and "警示" in rows[1]["not_retryable"]
    for r in rows:
        with pytest.raises(ValidationFailed, match="不能重新接收"):
            q.retry_quarantined(hub, r["id"])
    assert json.loads(hub.store.s.scalar("SELECT data FROM residents LIMIT 1"))["name"] == resident["name"]
    s.close()


def test_held_bundles_listed_retried_once_the_gap_is_filled_and_discarded_by_a_manager(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 30)
    stick = tmp_path / "stick"
    files = usb.export_to(s, stick, max_mb=0.02).files
    assert len(files) >= 3
    first = stick / "XX0101" / files[0]
    rescued = first.read_bytes()
    first.unlink()
    import_path(hub, stick)
    held = q.list_held(hub)
    assert len(held) == len(files) - 1 and all(h["waiting_for"] == 1 and "缺少" in h["reason"] for h in held)
    result = q.retry_held(hub, held[0]["id"], user="wangjb")
    assert not result.applied and "缺少" in result.reason and len(q.list_held(hub)) == len(held)
    hub.receive(rescued)  # the gap filled (the first file arrives some other way)
    assert q.retry_held(hub, held[0]["id"], user="wangjb").applied
    assert [h["id"] for h in q.list_held(hub)] == [h["id"] for h in held[1:]]
    last = held[-1]
    with pytest.raises(PermissionDenied):
        q.discard_held(hub, last["id"], "重复的数据包", "wangjb", manager_only)
    with pytest.raises(ValidationFailed, match="原因"):
        q.discard_held(hub, last["id"], "  ", MANAGER, manager_only)
    q.discard_held(hub, last["id"], "该U盘文件损坏,服务站会重新发送", MANAGER, manager_only)
    assert last["id"] not in [h["id"] for h in q.list_held(hub)]
    entry = hub.store.s.query("SELECT user, target, detail FROM audit WHERE action = 'held.discard'")[0]
    assert entry["user"] == MANAGER and json.loads(entry["detail"])["reason"] == "该U盘文件损坏,服务站会重新发送"
    # Its records were never acknowledged to the station: a sync sends them again and nothing is lost.
    client.sync_once(s, Direct(hub))
    assert hub.store.counts()["cases"] == 30 and client.pending(s) == 0
    s.close()


def test_discarding_a_quarantined_record_needs_a_manager_and_a_reason_and_is_audited(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    number = intake(s, 1)[0]
    cases.add_event(s, number, "submitted")
    forged_decision(s, number)
    client.sync_once(s, Direct(hub))
    [row] = q.list_quarantined(hub)
    with pytest.raises(PermissionDenied):
        q.discard_quarantined(hub, row["id"], "站点旧版程序所写", "wangjb", manager_only)
    with pytest.raises(ValidationFailed):
        q.discard_quarantined(hub, row["id"], "", MANAGER, manager_only)
    assert len(q.list_quarantined(hub)) == 1
    q.discard_quarantined(hub, row["id"], "站点旧版程序所写,已电话核实", MANAGER, manager_only)
    assert q.list_quarantined(hub) == []
    entry = hub.store.s.query("SELECT user, target, detail FROM audit WHERE action = 'quarantine.discard'")[0]
    detail = json.loads(entry["detail"])
    assert (entry["user"], entry["target"]) == (MANAGER, f"XX0101#{row['seq']}")
    assert detail["reason"] == "站点旧版程序所写,已电话核实" and "只能由" in detail["was"] and len(detail["sha256"]) == 64
    count, problems = hub.store.verify_audit()
    assert problems == []
    s.close()


def test_the_cli(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    number, note_seq = note_before_its_case(s)
    forged = forged_decision(s, number)
    client.sync_once(s, Direct(hub))
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": MANAGER}

    def township(*args):
        return subprocess.run([sys.executable, "-m", "sync.hub.cli", "quarantine", *args, "--data-dir", str(tmp_path / "hub")],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    r = township("list", "--json")
    assert r.returncode == 0, r.stderr
    ids = {row["seq"]: row["id"] for row in json.loads(r.stdout)["quarantined"]}
    assert set(ids) == {note_seq, forged}
    old = subprocess.run([sys.executable, "-m", "sync.hub.cli", "quarantine", "--station", "XX0101", "--data-dir", str(tmp_path / "hub")],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert old.returncode == 0 and f"第{forged}号" in old.stdout  # the command as it was still lists
    r = township("retry", str(ids[note_seq]))
    assert r.returncode == 0 and "已重新接收" in r.stdout, r.stderr
    r = township("retry", str(ids[forged]))
    assert r.returncode == 15 and "仍不能接收" in r.stdout
    r = township("discard", str(ids[forged]), "--reason", "旧版程序所写")
    assert r.returncode == 0 and "已丢弃" in r.stdout, r.stderr
    assert q.list_quarantined(hub) == []
    s.close()
