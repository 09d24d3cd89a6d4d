"""The trust boundary over a real hub on 127.0.0.1: a station writes only its own records, never the
township's decisions; what the policy refuses is quarantined, visible, and never blocks the rest."""
from __future__ import annotations

import json
import uuid

import pytest

from station.errors import ValidationFailed
from station.services import audit, bulletin, cases
from sync import client
from sync.http import HttpTransport
from tests.conftest import make_id
from tests.sync.conftest import enroll, intake, new_station


def _forge(session, kind: str, table: str, row: dict) -> int:
    """Write a row and queue it, as a tampered station database (or a hostile client) would."""
    with session.store.transaction() as db:
        seq = db.execute("INSERT INTO outbox (kind, ref_id, created_at) VALUES (?, ?, ?)", (kind, row["id"], audit.now_iso())).lastrowid
        if table == "events":
            row = {**row, "payload": json.dumps(row["payload"], ensure_ascii=False), "outbox_seq": seq, "recorded_at": audit.now_iso()}
        cols = ", ".join(row)
        db.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    return seq


def _event(session, case_id: str, etype: str, payload: dict) -> dict:
    return {"id": str(uuid.uuid4()), "case_id": case_id, "type": etype, "stamp": session.clock.now(), "node": session.station_code,
            "user": "daiban", "payload": payload}


def test_a_stations_own_decision_is_quarantined_and_the_townships_applies(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    number = intake(s, 1)[0]
    cases.add_event(s, number, "submitted")
    # The app no longer lets an enrolled clerk record the township's steps...
    for etype, payload in (("decided", {"outcome": "approved", "summary": "准予"}), ("accepted_by_township", {})):
        with pytest.raises(ValidationFailed, match="乡镇"):
            cases.add_event(s, number, etype, payload)
    # ...and a station that writes one anyway (a tampered database, an old program) is refused by the hub.
    state = cases.load(s, number)[0]
    seq = _forge(s, "event", "events", _event(s, state.id, "decided", {"outcome": "approved", "summary": "自己批准", "on": "2026-11-20"}))
    # Marked as a paper transcription it is refused too: the station was enrolled when it wrote it.
    paper = _forge(s, "event", "events", _event(s, state.id, "accepted_by_township", {"transcribed": True, "on": "2026-11-20"}))
    intake(s, 1, start=1)  # a good record after it still arrives
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:
        q = h.store.quarantined("XX0101")
        assert [r["seq"] for r in q] == [seq, paper] and "只能由" in q[0]["reason"] and "登记联网" in q[1]["reason"]
        assert h.store.case(number)["status"] == "submitted" and h.store.counts()["cases"] == 2
        h.case_event(number, "accepted_by_township", {})
        h.case_event(number, "decided", {"outcome": "rejected", "summary": "不符合条件"})
    client.sync_once(s, HttpTransport(hub.url))
    state = cases.load(s, number)[0]
    # The station's own copy still holds its forged event, but the hub's decision is what the hub knows and sent.
    with hub.open() as h:
        row, hub_state, _ = h.case_state(number)
        assert row["status"] == "decided" and hub_state.decision == "rejected"
    reasons = [r["reason"] for r in s.store.query("SELECT reason FROM sync_quarantine")]
    assert any("只能由" in r for r in reasons)  # the clerk sees that the township refused it
    s.close()


def test_station_b_cannot_change_any_record_of_station_a(hub, tmp_path):
    a, b = new_station(tmp_path, hub, "XX0101"), new_station(tmp_path, hub, "XX0102")
    number = intake(a, 1)[0]
    state = cases.load(a, number)[0]
    notice = bulletin.new_notice(a, "公告", "停水通知", "周三停水")
    bulletin.publish(a, notice, "2026-11-20", "2026-11-27")
    objection = bulletin.add_objection(a, notice, "张三", "时间不对")
    client.sync_once(a, HttpTransport(hub.url))
    with hub.open() as h:
        before = {t: h.store.s.query(f"SELECT * FROM {t} ORDER BY id") for t in ("residents", "notices", "objections", "cases", "events")}
    now = audit.now_iso()
    forged = [
        _forge(b, "resident", "residents", {"id": state.resident_id, "id_number": make_id(seq=77), "name": "冒名", "sex": "男",
                                            "birth_date": "1956-03-12", "created_at": now, "updated_at": now}),
        _forge(b, "notice", "notices", {"id": notice, "kind": "公告", "title": "篡改的通知", "body": "x", "status": "published",
                                        "source": "本站", "created_by": "daiban", "created_at": now}),
        _forge(b, "objection", "objections", {"id": objection, "notice_id": notice, "who": "李四", "what": "篡改", "on_day": "2026-11-21",
                                              "recorded_by": "daiban", "recorded_at": now}),
        # a case whose id is A's printed number, and an event on A's case
        _forge(b, "event", "events", _event(b, number, "received", {"number": "XX0102-2026-000099", "resident_id": "x", "item_code": "SB-001",
                                                                    "owner": "daiban", "received_on": "2026-11-20"})),
        _forge(b, "event", "events", _event(b, state.id, "withdrawn", {"reason": "冒名撤回", "on": "2026-11-20"})),
    ]
    good = intake(b, 1)[0]  # B's own case after the forgeries
    client.sync_once(b, HttpTransport(hub.url))
    with hub.open() as h:
        after = {t: h.store.s.query(f"SELECT * FROM {t} ORDER BY id") for t in before}
        q = h.store.quarantined("XX0102")
        assert sorted(r["seq"] for r in q) == sorted(forged), q
        for table in ("residents", "notices", "objections", "events"):
            assert [r for r in after[table] if r["station"] == "XX0101"] == before[table], table
            assert not [r for r in after[table] if r["station"] == "XX0102" and r["id"] in {x["id"] for x in before[table]}]
        assert h.store.case(number)["station"] == "XX0101" and h.case_state(number)[1].status.value == "received"
        assert h.store.case(good)["station"] == "XX0102"
    for s in (a, b):
        s.close()


def test_a_township_deciding_on_paper_is_transcribed_and_later_superseded(hub, tmp_path):
    """Not enrolled: the clerk types in the paper decision, marked as such; after enrolling, the
    township's own record of the case supersedes it instead of being refused."""
    from station.services.session import StationHome
    from tests.sync.conftest import ST_PASS
    s, _ = StationHome(tmp_path / "paper").init("XX0103", "纸质村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    number = intake(s, 1)[0]
    cases.add_event(s, number, "submitted")
    cases.add_event(s, number, "accepted_by_township", {})
    state = cases.add_event(s, number, "decided", {"outcome": "approved", "summary": "纸质批复:准予", "transcribed": False})
    assert state.paper == ["accepted_by_township", "decided"]
    marked = {e["type"]: e["transcribed"] for e in cases.timeline(cases.load(s, number)[1])}
    assert marked == {"received": False, "notice_issued": False, "submitted": False, "accepted_by_township": True, "decided": True} or \
        (marked["decided"] and marked["accepted_by_township"] and not marked["submitted"])
    s.close()
    with hub.open() as h:
        code, _ = h.add_station("XX0103", "纸质村")
    s = StationHome(tmp_path / "paper").unlock("zhanzhang", ST_PASS)
    enroll(s, hub, code)
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:
        assert h.store.quarantined("XX0103") == []
        assert h.store.case(number)["status"] == "decided"
        h.case_event(number, "decided", {"outcome": "rejected", "summary": "乡镇复核:不予"})
    client.sync_once(s, HttpTransport(hub.url))
    state = cases.load(s, number)[0]
    assert (state.status.value, state.decision, state.paper) == ("decided", "rejected", ["accepted_by_township"])
    assert not state.conflicts
    s.close()


def test_township_case_show_masks_the_proxy_and_resident_numbers(hub, tmp_path):
    """The township's case view is a screen too: the proxy's identity number and phone are masked."""
    import subprocess
    import sys

    from tests.sync.conftest import HUB_PASS, ROOT
    s = new_station(tmp_path, hub, "XX0101")
    proxy_id, proxy_phone = make_id("19800101", 7), "13987654321"
    number = cases.intake(s, {"resident": {"id_number": make_id(seq=5), "name": "张秀英"}, "item": "SB-001",
                              "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"],
                              "proxy": {"name": "王建国", "relation": "儿子", "id_number": proxy_id, "phone": proxy_phone}})["number"]
    client.sync_once(s, HttpTransport(hub.url))
    s.close()
    env = {**__import__("os").environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    for extra in ([], ["--json"]):
        r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "case", "show", number, "--data-dir", str(hub.dir), *extra],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert proxy_id not in r.stdout and proxy_phone not in r.stdout
    assert "139****4321" in r.stdout
