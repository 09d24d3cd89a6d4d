"""Enrolment through the service layer: guessing, lockout, sessions that outlive a restart."""
from __future__ import annotations

import pytest

from station.errors import ValidationFailed
from station.services.session import StationHome
from sync import client, enrolment
from sync import enrol_protocol as ep
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ST_PASS


@pytest.fixture
def hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)
    yield h
    h.store.close()


@pytest.fixture
def station(tmp_path):
    s, _ = StationHome(tmp_path / "XX0101").init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    yield s
    s.close()


def guess(hub, station_code: str, code: str) -> str:
    """One online guess as a guessing client runs it: 'locked', 'failed' or 'enrolled'."""
    pake = ep.station_pake(station_code, hub.hub_id, code)
    try:
        started = hub.enrol_start({"station_code": station_code, "msg": ep.b64(pake.start())})
    except ep.EnrolLocked:
        return "locked"
    keys = ep.session_keys(ep.finish_pake(pake, ep.unb64(started["msg"])))
    box = ep.seal_box(keys.station_keys, {"station_code": station_code, "sign_pub": ep.b64(b"s" * 32), "enc_pub": ep.b64(b"e" * 32)},
                      ep.box_aad(started["session"], station_code, "station-keys"))
    try:
        hub.enrol_finish({"session": started["session"], "box": box})
    except ep.EnrolFailed:
        return "failed"
    return "enrolled"


def test_a_thousand_guesses_lock_the_code_and_a_fresh_code_unlocks(hub, station):
    code, _ = hub.add_station("XX0101", "石板村")
    outcomes = [guess(hub, "XX0101", ep.new_code()) for _ in range(1000)]
    assert outcomes.count("failed") == ep.MAX_ATTEMPTS and outcomes.count("locked") == 1000 - ep.MAX_ATTEMPTS
    assert outcomes.count("enrolled") == 0
    with pytest.raises(ep.EnrolLocked, match="已锁定"):
        enrolment.enroll_online(station, code, hub, "local")  # the right code too, once locked
    assert client.hub(station) is None
    row = next(r for r in hub.store.stations() if r["code"] == "XX0101")
    assert row["status"] == "pending" and row["enrol_locked_at"] and row["enrol_attempts"] == ep.MAX_ATTEMPTS
    assert hub.store.s.scalar("SELECT count(*) FROM audit WHERE action = 'station.enrol_locked' AND target = 'XX0101'") == 1
    fresh, _ = hub.add_station("XX0101", "石板村")  # re-issue
    assert next(r for r in hub.store.stations() if r["code"] == "XX0101")["enrol_locked_at"] is None
    with pytest.raises(ep.EnrolFailed):
        enrolment.enroll_online(station, code, hub, "local")  # the old code died with the re-issue
    info = enrolment.enroll_online(station, fresh, hub, "local")
    assert info["hub_id"] == "JZ01" and client.hub(station)["hub_id"] == "JZ01"
    assert hub.store.station("XX0101")["status"] == "active"


def test_unknown_station_codes_count_and_lock_the_same_way(hub):
    outcomes = [guess(hub, "XX0199", ep.new_code()) for _ in range(ep.MAX_ATTEMPTS + 3)]
    assert outcomes == ["failed"] * ep.MAX_ATTEMPTS + ["locked"] * 3
    assert hub.store.station("XX0199") is None  # nothing shows up in the township's list
    assert hub.store.s.scalar("SELECT count(*) FROM audit WHERE action = 'station.enrol_locked' AND target = 'XX0199'") == 1
    code, _ = hub.add_station("XX0199", "新村")  # adding it later starts with a clean slate
    assert next(r for r in hub.store.stations() if r["code"] == "XX0199")["enrol_attempts"] == 0
    assert guess(hub, "XX0199", code) == "enrolled"


def test_a_started_session_outlives_a_hub_restart_but_not_its_time(hub, station, tmp_path, monkeypatch):
    code, _ = hub.add_station("XX0101", "石板村")

    class RestartBetween:
        """The real hub, closed and reopened between the two messages."""

        def __init__(self):
            self.hub = hub

        def health(self):
            return self.hub.health()

        def enrol_start(self, request):
            answer = self.hub.enrol_start(request)
            self.hub.store.close()
            self.hub = HubHome(tmp_path / "hub").unlock("admin", HUB_PASS)
            return answer

        def enrol_finish(self, request):
            return self.hub.enrol_finish(request)
    via = RestartBetween()
    enrolment.enroll_online(station, code, via, "local")
    assert via.hub.store.station("XX0101")["status"] == "active"
    via.hub.store.close()
    hub.store = HubHome(tmp_path / "hub").unlock("admin", HUB_PASS).store  # for the fixture to close
    hub.revoke("XX0101")
    again, _ = hub.add_station("XX0101", "石板村")
    monkeypatch.setattr(ep, "SESSION_SECONDS", -1)  # a session that has already run out
    with pytest.raises(ep.EnrolFailed, match="超时"):
        enrolment.enroll_online(station, again, hub, "local")
    assert hub.store.station("XX0101")["status"] == "pending"


def test_the_station_learns_the_hubs_high_water_mark_for_it(hub, station):
    code, _ = hub.add_station("XX0101", "石板村")
    assert enrolment.enroll_online(station, code, hub, "local")["hwm"] == 0
    hub.store.update_station("XX0101", hwm=42)
    hub.revoke("XX0101")
    again, doc = hub.add_station("XX0101", "石板村")
    assert doc["hwm"] == 42
    assert enrolment.enroll_online(station, again, hub, "local")["hwm"] == 42


def test_a_malformed_code_is_refused_before_the_hub_is_asked(hub, station):
    hub.add_station("XX0101", "石板村")
    with pytest.raises(Exception, match="登记码格式不对"):
        enrolment.enroll_online(station, "12345", hub, "local")
    assert hub.store.enrol_attempts("XX0101") is None


def test_a_station_code_equal_to_the_hub_id_is_refused(tmp_path):
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    with pytest.raises(ValidationFailed, match="服务站编码无效"):
        hub.add_station("JZ01", "冒名")
    hub.store.close()
