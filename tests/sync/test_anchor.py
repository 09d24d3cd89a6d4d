"""The audit and ledger chains anchored at the township: a station whose chain was cut or
rewritten after the township acknowledged it is caught at its next sync, over HTTP and USB —
by the hub (a quarantine row and a hub audit entry), by the station (told in the reply, shown
with its sync problems) and by ``station audit verify`` / ``ledger verify`` against the anchor.
An honest station syncing again and again raises nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ledgers import service as ledger_service
from station.services import anchor as station_anchor
from station.services import audit, cases, syncstate
from sync import client, usb
from sync.http import HttpTransport
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.ledgers.test_ledgers import imp, row, xlsx
from tests.sync.conftest import HUB_PASS, ROOT, ST_PASS, enroll, intake, new_station
from tests.sync.test_usb import usb_station


# --- tampering, as someone holding the database key would do it ---------------------------
def cut_audit_tail(s, n: int) -> None:
    """Delete the newest ``n`` audit entries and set the stored head to what is left."""
    last = s.store.scalar("SELECT max(seq) FROM audit")
    s.store.conn.execute("DELETE FROM audit WHERE seq > ?", (last - n,))
    seq, digest = s.store.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    s.store.conn.execute("UPDATE settings SET value = ? WHERE key = 'audit_head'", (f"{seq}:{digest}",))


def rewrite_audit_from(s, seq: int) -> None:
    """Change one entry and re-chain everything after it consistently, head included: the chain
    walks clean on its own; only a hash someone else remembers can show it."""
    rows = s.store.query("SELECT seq, at, user, action, target, detail, prev_hash FROM audit WHERE seq >= ? ORDER BY seq", (seq,))
    prev = rows[0]["prev_hash"]
    for r in rows:
        detail = json.dumps({"forged": True}) if r["seq"] == seq else r["detail"]
        digest = audit._digest(r["seq"], r["at"], r["user"], r["action"], r["target"], detail, prev)
        s.store.conn.execute("UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?", (detail, prev, digest, r["seq"]))
        prev = digest
    s.store.conn.execute("UPDATE settings SET value = ? WHERE key = 'audit_head'", (f"{rows[-1]['seq']}:{prev}",))


def cut_ledger_tail(s, n: int) -> None:
    last = s.store.scalar("SELECT max(seq) FROM ledger_entries")
    s.store.conn.execute("DELETE FROM ledger_entries WHERE seq > ?", (last - n,))
    seq, digest = s.store.conn.execute("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1").fetchone()
    s.store.conn.execute("INSERT INTO settings (key, value) VALUES ('ledger_head', ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (f"{seq}:{digest}",))


def chain_alerts_at_station(s) -> list[dict]:
    return s.store.query("SELECT seq, kind, reason FROM sync_quarantine WHERE kind LIKE '%_chain' ORDER BY id")


def chain_alerts_at_hub(h, code: str) -> list[dict]:
    return [q for q in h.store.quarantined(code) if q["kind"].endswith("_chain")]


def hub_alert_audit(h) -> list[dict]:
    return h.store.s.query("SELECT action, target, detail FROM audit WHERE action = 'station.chain_alert'")


def _station_cli(s, *args):
    env = {**os.environ, "STATION_PASSPHRASE": ST_PASS, "STATION_USER": "zhanzhang"}
    return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(s.store.path.parent)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120)


# --- HTTP ------------------------------------------------------------------------------------
def test_honest_station_syncing_many_times_raises_nothing(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    t = HttpTransport(hub.url)
    for i in range(5):
        numbers = intake(s, 2, start=i * 2)
        cases.add_event(s, numbers[0], "submitted")
        if i in (1, 3):
            imp(s, xlsx(tmp_path / f"l{i}.xlsx", [row(n) for n in range(i * 10 + 1, i * 10 + 4)]), period=f"202{i}")
        client.sync_once(s, t)
        client.sync_once(s, t)  # nothing new: a pull, still with heads and proofs
    acknowledged = station_anchor.acknowledged(s.store.db)
    assert acknowledged["audit"][0] > 20 and acknowledged["ledger"][0] == 6  # the township anchored both chains
    assert audit.verify(s.store.db)[1] == [] and ledger_service.verify_chain(s)[1] == []
    assert chain_alerts_at_station(s) == []
    with hub.open() as h:
        assert h.store.quarantined("XX0101") == [] and hub_alert_audit(h) == []
    s.close()


def test_cut_audit_tail_with_rewritten_head_is_caught_at_the_next_sync(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    t = HttpTransport(hub.url)
    intake(s, 3)
    client.sync_once(s, t)
    anchored = station_anchor.acknowledged(s.store.db)["audit"][0]
    cut_audit_tail(s, s.store.scalar("SELECT max(seq) FROM audit") - anchored + 2)  # the anchored entry and one below go
    count, problems = audit.verify(s.store.db)
    assert count == anchored - 2
    assert any("乡镇" in p.message and str(anchored) in p.message for p in problems)  # the local chain alone looks whole
    intake(s, 1, start=10)  # the clerk works on; the next sync carries the new, shorter chain
    client.sync_once(s, t)
    with hub.open() as h:
        alerts = chain_alerts_at_hub(h, "XX0101")
        assert [(a["kind"], a["seq"]) for a in alerts] == [("audit_chain", anchored)]
        assert "审计日志" in alerts[0]["reason"]
        assert [a["target"] for a in hub_alert_audit(h)] == ["XX0101"]
        assert h.store.verify_audit()[1] == []  # the hub's own chain holds its finding
    seen = chain_alerts_at_station(s)
    assert [(a["kind"], a["seq"]) for a in seen] == [("audit_chain", anchored)] and "乡镇" in seen[0]["reason"]
    assert "审计" in syncstate.describe(syncstate.status(s))  # the Today screen says so
    verify = _station_cli(s, "audit", "verify")  # and the supervisor's command, in Chinese (entry 12 was written anew)
    assert verify.returncode == 9 and f"审计日志第 {anchored} 条与乡镇上次同步时确认的不一致" in verify.stdout
    client.sync_once(s, t)  # still cut: told again, recorded once on each side
    assert len(chain_alerts_at_station(s)) == 1
    with hub.open() as h:
        assert len(chain_alerts_at_hub(h, "XX0101")) == 1
    s.close()


def test_cut_without_the_station_remembering_the_anchor_is_still_caught(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    t = HttpTransport(hub.url)
    intake(s, 3)
    client.sync_once(s, t)
    anchored = station_anchor.acknowledged(s.store.db)["audit"][0]
    cut_audit_tail(s, 4)
    s.store.conn.execute("DELETE FROM settings WHERE key = 'township_anchor'")  # the station's copy of the anchor, gone too
    assert audit.verify(s.store.db)[1] == []  # nothing left locally to tell
    client.sync_once(s, t)
    with hub.open() as h:
        alerts = chain_alerts_at_hub(h, "XX0101")
        assert [a["kind"] for a in alerts] == ["audit_chain"] and str(anchored) in alerts[0]["reason"]
    assert chain_alerts_at_station(s)
    assert any("乡镇" in p.message for p in audit.verify(s.store.db)[1])  # the anchor came back with the reply
    s.close()


def test_rewrite_below_the_anchor_is_caught(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    t = HttpTransport(hub.url)
    intake(s, 3)
    client.sync_once(s, t)
    rewrite_audit_from(s, 5)
    problems = audit.verify(s.store.db)[1]
    assert problems and all("乡镇" in p.message for p in problems)  # consistent on its own, not with the anchor
    client.sync_once(s, t)
    with hub.open() as h:
        alerts = chain_alerts_at_hub(h, "XX0101")
        assert [a["kind"] for a in alerts] == ["audit_chain"] and "改写" in alerts[0]["reason"]
    assert chain_alerts_at_station(s)
    s.close()


def test_cut_ledger_tail_is_caught_by_the_hub_and_by_ledger_verify(hub, tmp_path):
    s = new_station(tmp_path, hub, "XX0101")
    t = HttpTransport(hub.url)
    imp(s, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 6)]))
    client.sync_once(s, t)
    assert station_anchor.acknowledged(s.store.db)["ledger"][0] == 5
    cut_ledger_tail(s, 2)
    count, problems = ledger_service.verify_chain(s)
    assert count == 3 and any("乡镇" in p and "5" in p for p in problems)
    intake(s, 1)
    client.sync_once(s, t)
    with hub.open() as h:
        assert [(a["kind"], a["seq"]) for a in chain_alerts_at_hub(h, "XX0101")] == [("ledger_chain", 5)]
    assert [a["kind"] for a in chain_alerts_at_station(s)] == ["ledger_chain"]
    s.close()


async def test_today_screen_shows_the_townships_finding(hub, tmp_path):
    from textual.widgets import Static

    from station.services import demo
    from station.services.session import StationHome
    from station.tui import AppConfig, make_app
    from tests.sync.test_tui_sync import wait_for
    from tests.tui.conftest import TODAY, demo_copy, settle
    station_dir = demo_copy(tmp_path)
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        with hub.open() as h:
            code, _ = h.add_station(s.station_code, s.station_name)
        enroll(s, hub, code)
        client.sync_once(s, HttpTransport(hub.url))
        anchored = station_anchor.acknowledged(s.store.db)["audit"][0]
        cut_audit_tail(s, s.store.scalar("SELECT max(seq) FROM audit") - anchored + 1)
    app = make_app(AppConfig(station_dir, today=lambda: TODAY, user="daiban", passphrase=demo.DEMO_PASSPHRASE, watch_scans=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)  # the app syncs in the background as it opens
        line = lambda: str(app.screen.query_one("#sync-line", Static).content)  # noqa: E731
        assert await wait_for(lambda: "乡镇核对发现" in line()), line()
        assert f"审计日志第 {anchored} 条" in line() and "站长" in line()


# --- USB ---------------------------------------------------------------------------------------
@pytest.fixture
def local_hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)
    yield h
    h.store.close()


def _round_trip(s, hub, stick) -> None:
    usb.export_to(s, stick)
    import_path(hub, stick)
    usb.import_acks(s, stick)


def test_usb_honest_then_cut_audit_and_ledger(local_hub, tmp_path):
    s = usb_station(tmp_path, local_hub, "XX0101")
    stick = tmp_path / "stick"
    intake(s, 3)
    imp(s, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 5)]))
    for i in range(3):
        intake(s, 1, start=10 + i)
        _round_trip(s, local_hub, stick)
    assert chain_alerts_at_hub(local_hub, "XX0101") == [] and chain_alerts_at_station(s) == []
    assert station_anchor.acknowledged(s.store.db)["ledger"][0] == 4
    anchored = station_anchor.acknowledged(s.store.db)["audit"][0]
    cut_audit_tail(s, s.store.scalar("SELECT max(seq) FROM audit") - anchored + 1)
    cut_ledger_tail(s, 1)
    intake(s, 1, start=20)  # something to carry
    _round_trip(s, local_hub, stick)
    kinds = sorted(a["kind"] for a in chain_alerts_at_hub(local_hub, "XX0101"))
    assert kinds == ["audit_chain", "ledger_chain"]
    assert sorted(a["kind"] for a in chain_alerts_at_station(s)) == kinds
    s.close()


def test_township_imports_the_same_stick_twice_and_an_older_one_late(local_hub, tmp_path):
    """Old bundles arriving late carry old heads: that is no cut."""
    s = usb_station(tmp_path, local_hub, "XX0101")
    old, new = tmp_path / "old", tmp_path / "new"
    intake(s, 2)
    usb.export_to(s, old)
    intake(s, 2, start=5)
    usb.export_to(s, new)
    import_path(local_hub, new)
    import_path(local_hub, new)
    import_path(local_hub, old)
    usb.import_acks(s, new)
    _round_trip(s, local_hub, new)
    assert local_hub.store.quarantined("XX0101") == [] and chain_alerts_at_station(s) == []
    s.close()


# --- the hub's own chain -----------------------------------------------------------------------
def _township(data_dir, *args):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120)


def test_township_audit_verify_detects_an_edited_hub_entry(tmp_path):
    home = HubHome(tmp_path / "hub")
    h, _ = home.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)
    h.add_station("XX0101", "石板村")
    h.store.close()
    good = _township(home.dir, "audit", "verify", "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["entries"] == 2 and json.loads(good.stdout)["ok"]
    with home.unlock("admin", HUB_PASS) as h:
        h.store.s.conn.execute("UPDATE audit SET detail = ? WHERE seq = 2", (json.dumps({"name": "别的村"}, ensure_ascii=False),))
    bad = _township(home.dir, "audit", "verify")
    assert bad.returncode == 9 and "第 2 条" in bad.stdout and "改动" in bad.stdout and "Traceback" not in bad.stderr


def test_an_edit_in_place_that_leaves_the_hashes_alone_reaches_the_township(hub, tmp_path, monkeypatch):
    """Amount changed on an anchored ledger entry, detail changed on an audit entry, hashes untouched:
    heads and anchors still match, but the day's full walk finds them and the next bundle says so."""
    from sync import anchor as sync_anchor
    s = new_station(tmp_path, hub, "XX0101")
    t = HttpTransport(hub.url)
    imp(s, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 6)]))
    client.sync_once(s, t)
    s.store.conn.execute("UPDATE ledger_entries SET amount_fen = 2500000, bank_card = '6222000000000000000' WHERE seq = 1")
    s.store.conn.execute("UPDATE audit SET detail = '{\"forged\":true}' WHERE seq = 3")
    monkeypatch.setattr(sync_anchor, "_today", lambda: "2099-01-01")  # the next day's first sync walks the chains
    intake(s, 1)
    client.sync_once(s, t)
    with hub.open() as h:
        found = {(a["kind"], a["seq"]): a["reason"] for a in chain_alerts_at_hub(h, "XX0101")}
    assert set(found) == {("ledger_chain", 1), ("audit_chain", 3)} and all("本站被改动" in r for r in found.values())
    assert {a["kind"] for a in chain_alerts_at_station(s)} == {"ledger_chain", "audit_chain"}
    s.close()


def test_a_replayed_old_pull_raises_no_false_alarm(tmp_path):
    """An empty pull captured off the wire and replayed after the station went on is not 'fresh':
    its lower heads are those of an old bundle, not a cut chain."""
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", HUB_PASS)

    class Recorder:
        sent: list[bytes] = []

        def push(self, data: bytes) -> bytes:
            self.sent.append(data)
            return hub.receive(data)
    from station.services.session import StationHome
    s, _ = StationHome(tmp_path / "st").init("XX0101", "石板村", "zhanzhang", "罗世芬", ST_PASS)
    code, _ = hub.add_station("XX0101", "石板村")
    from sync import enrolment
    enrolment.enroll_online(s, code, hub, "local")
    rec = Recorder()
    intake(s, 1)
    client.sync_once(s, rec)
    client.sync_once(s, rec)  # nothing pending: an empty pull
    old_pull = rec.sent[-1]
    intake(s, 2, start=3)
    client.sync_once(s, rec)
    hub.receive(old_pull)
    assert chain_alerts_at_hub(hub, "XX0101") == []
    s.close()
    hub.store.close()
