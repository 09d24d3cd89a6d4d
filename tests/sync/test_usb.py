"""The USB fallback on real folders standing for the stick."""
from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from station.core.cases import fold
from station.services import cases, signing
from station.services.session import StationHome
from sync import bundle, client, enrolment, usb
from sync.bundle import BundleRejected
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS, ROOT, ST_PASS, intake, integrity_ok


@pytest.fixture
def hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)
    yield h
    h.store.close()


def usb_station(tmp_path, hub, code: str):
    """A station enrolled the USB way: enrolment file in, reply file out, township confirms."""
    s, _ = StationHome(tmp_path / code).init(code, f"{code}村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    one_time, doc = hub.add_station(code, f"{code}村")
    stick = tmp_path / "enrol-stick"
    stick.mkdir(exist_ok=True)
    (stick / f"enrol-{code}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    enrolment.enroll_file(s, stick / f"enrol-{code}.json", one_time)
    assert import_path(hub, stick).enrolled == [code]
    return s


def hub_snapshot(hub) -> dict:
    return {**hub.store.counts(), "received": hub.store.s.scalar("SELECT count(*) FROM received"),
            "hwm": [(r["code"], r["hwm"]) for r in hub.store.stations()]}


def test_export_import_ack_round_trip_and_the_same_stick_again(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    numbers = intake(s, 30)
    cases.add_event(s, numbers[0], "submitted")
    stick = tmp_path / "stick"
    result = usb.export_to(s, stick, max_mb=0.02)  # small files: the export splits
    assert len(result.files) >= 2 and result.records == client.pending(s)
    note = (stick / "XX0101" / usb.NOTE).read_text("utf-8-sig")
    assert "XX0101" in note and "村民" not in note and not any(ch.isdigit() and len(w) == 18 for w in note.split() for ch in w[:1])
    report = import_path(hub, stick)
    assert report.stations["XX0101"].records == result.records and report.rejected == []
    assert hub.store.counts()["cases"] == 30
    hub.case_event(numbers[0], "accepted_by_township", {})
    hub.case_event(numbers[0], "decided", {"outcome": "approved", "summary": "准予"})
    before = hub_snapshot(hub)
    again = import_path(hub, stick)  # the township imports the same stick twice
    assert hub_snapshot(hub) == before and again.stations["XX0101"].records == 0
    assert list((stick / "XX0101" / usb.ACK_DIR).glob("*.vsb"))
    r = usb.import_acks(s, stick)
    assert r.applied == 2 and client.pending(s) == 0 and cases.load(s, numbers[0])[0].status.value == "decided"
    events_before = s.store.scalar("SELECT count(*) FROM events")
    assert usb.import_acks(s, stick).files == 0  # applied acks were removed from the stick
    assert s.store.scalar("SELECT count(*) FROM events") == events_before
    assert {e.id for e in hub.case_state(numbers[0])[2]} == {e.id for e in cases.load(s, numbers[0])[1]}
    # a later export finds nothing left, tidies the stick and leaves only a request for answers
    later = usb.export_to(s, stick)
    assert later.records == 0 and [p.name for p in (stick / "XX0101").glob("XX0101-*.vsb")] == later.files
    s.close()


def test_a_station_with_nothing_new_still_gets_the_townships_answers(hub, tmp_path):
    """The township decides while the station has sent everything: the next stick carries an
    empty request, and the answer on it brings the decision home."""
    s = usb_station(tmp_path, hub, "XX0101")
    number = intake(s, 1)[0]
    cases.add_event(s, number, "submitted")
    stick = tmp_path / "stick"
    usb.export_to(s, stick)
    import_path(hub, stick)
    usb.import_acks(s, stick)
    assert client.pending(s) == 0
    hub.case_event(number, "accepted_by_township", {})
    hub.case_event(number, "decided", {"outcome": "approved", "summary": "准予"})
    before = hub_snapshot(hub)
    result = usb.export_to(s, stick)
    assert result.records == 0 and len(result.files) == 1
    report = import_path(hub, stick)
    assert report.rejected == [] and hub_snapshot(hub)["hwm"] == before["hwm"]
    r = usb.import_acks(s, stick)
    assert r.applied == 2 and cases.load(s, number)[0].status.value == "decided"
    assert usb.export_to(s, stick).files == result.files  # asking again is one file, not a pile
    s.close()


def test_one_stick_two_stations(hub, tmp_path):
    a, b = usb_station(tmp_path, hub, "XX0101"), usb_station(tmp_path, hub, "XX0102")
    intake(a, 5)
    intake(b, 7, start=50)
    stick = tmp_path / "stick"
    usb.export_to(a, stick)
    usb.export_to(b, stick)
    report = import_path(hub, stick)
    assert set(report.stations) == {"XX0101", "XX0102"} and hub.store.counts()["cases"] == 12
    assert usb.import_acks(a, stick).acked_through > 0 and usb.import_acks(b, stick).acked_through > 0
    assert client.pending(a) == client.pending(b) == 0
    a.close()
    b.close()


def test_out_of_order_bundles_are_held_until_the_gap_is_filled(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 30)
    stick = tmp_path / "stick"
    files = usb.export_to(s, stick, max_mb=0.02).files
    assert len(files) >= 3
    first = stick / "XX0101" / files[0]
    rescued = first.read_bytes()
    first.unlink()  # the first file was lost (a bad copy): the rest arrive ahead of it
    report = import_path(hub, stick)
    held = report.stations["XX0101"].held
    assert len(held) == len(files) - 1 and "缺少第 1 至" in held[0]
    assert hub.store.counts()["cases"] == 0 and hub.store.counts()["held"] == len(files) - 1
    other = tmp_path / "second-stick" / "XX0101"
    other.mkdir(parents=True)
    (other / files[0]).write_bytes(rescued)  # the missing file arrives on another stick
    import_path(hub, other.parent)
    assert hub.store.counts()["cases"] == 30 and hub.store.counts()["held"] == 0
    assert usb.import_acks(s, other.parent).acked_through == s.store.scalar("SELECT max(seq) FROM outbox")
    s.close()


def test_http_and_usb_together_never_duplicate(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 8)
    usb.export_to(s, tmp_path / "stick")

    class Local:
        def push(self, data):
            return hub.receive(data)
    client.sync_once(s, Local())  # the network came back before the stick reached the township
    before = hub_snapshot(hub)
    report = import_path(hub, tmp_path / "stick")
    assert report.stations["XX0101"].already >= 1 and hub_snapshot(hub) == before
    assert usb.import_acks(s, tmp_path / "stick").applied == 0 and client.pending(s) == 0
    ids = [r["id"] for r in hub.store.s.query("SELECT id FROM events")]
    assert len(ids) == len(set(ids)) == s.store.scalar("SELECT count(*) FROM events")
    s.close()


def test_every_bad_file_is_rejected_with_a_reason_and_nothing_applied(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    stick = tmp_path / "stick"
    usb.export_to(s, stick)
    good = next((stick / "XX0101").glob("*.vsb")).read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    other_hub_sign, other_hub_enc = bundle.new_keys()
    peer = client.hub(s)
    files = {
        "truncated.vsb": good[: len(good) // 2], "flipped.vsb": good[:200] + bytes([good[200] ^ 4]) + good[201:],
        "photo.vsb": b"\xff\xd8\xff\xe0 not a bundle" * 10, "future.vsb": b"VSB9" + good[4:],
        "wrong-recipient.vsb": bundle.seal(kind="outbox", sender="XX0101", recipient="OTHER", seq_from=1, seq_to=0, counts={},
                                           created_at="x", payload={"items": []}, sign_key=signing.signing_key(s),
                                           recipient_enc=bundle.public_bytes(other_hub_enc)),
        "stranger.vsb": bundle.seal(kind="outbox", sender="ZZ0001", recipient="JZ01", seq_from=1, seq_to=0, counts={},
                                    created_at="x", payload={"items": []}, sign_key=other_hub_sign, recipient_enc=bytes(peer["enc_pub"])),
    }
    for name, data in files.items():
        (bad / name).write_bytes(data)
    before = hub_snapshot(hub)
    report = import_path(hub, bad)
    codes = {r["file"]: r["code"] for r in report.rejected}
    assert codes == {"truncated.vsb": "truncated", "flipped.vsb": codes["flipped.vsb"], "photo.vsb": "not_a_bundle",
                     "future.vsb": "unknown_version", "wrong-recipient.vsb": "wrong_recipient", "stranger.vsb": "unknown_sender"}
    assert codes["flipped.vsb"] in {"bad_signature", "malformed", "truncated"} and all(r["reason"] for r in report.rejected)
    assert hub_snapshot(hub) == before
    hub.revoke("XX0101")
    revoked = import_path(hub, stick)
    assert [r["code"] for r in revoked.rejected] == ["unknown_sender"] and hub_snapshot(hub)["cases"] == 0
    s.close()


def test_full_or_pulled_stick_gives_a_clear_message_and_changes_nothing(hub, tmp_path, monkeypatch):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    pending = client.pending(s)

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(usb, "atomic_write", full)
    with pytest.raises(client.SyncFailed, match="U盘空间不足"):
        usb.export_to(s, tmp_path / "stick")
    monkeypatch.undo()
    gone = tmp_path / "pulled"
    gone.write_text("a file where the stick's folder should be")  # the mount point vanished / is not a folder
    with pytest.raises(client.SyncFailed, match="无法写入U盘"):
        usb.export_to(s, gone)
    assert client.pending(s) == pending
    s.close()


def test_kill_export_mid_write_and_import_mid_apply(hub, tmp_path):
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 400)
    stick = tmp_path / "stick"
    env = {**os.environ, "STATION_PASSPHRASE": ST_PASS, "STATION_USER": "zhanzhang"}
    rng = random.Random(4)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "station.cli", "export", "--to", str(stick), "--max-mb", "0.05",
                                 "--data-dir", str(tmp_path / "XX0101")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        public = bytes(hub.store.station("XX0101")["sign_pub"])
        for f in (stick / "XX0101").glob("*.vsb"):  # whatever is named .vsb is whole and genuine
            data = f.read_bytes()
            bundle.peek(data)
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
            Ed25519PublicKey.from_public_bytes(public).verify(data[-64:], data[:-64])
    usb.export_to(s, stick, max_mb=0.05)  # finish the export
    hub.store.close()
    tenv = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "sync.hub.cli", "import", str(stick), "--data-dir", str(tmp_path / "hub")],
                                cwd=ROOT, env=tenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with HubHome(tmp_path / "hub").unlock("admin", HUB_PASS) as h:
        import_path(h, stick)
        theirs = [r["id"] for r in h.store.s.query("SELECT id FROM events")]
        assert len(theirs) == len(set(theirs)) == s.store.scalar("SELECT count(*) FROM events")
        assert [r["seq"] for r in h.store.s.query("SELECT seq FROM received ORDER BY seq")] == \
            list(range(1, s.store.scalar("SELECT max(seq) FROM outbox") + 1))
        assert integrity_ok(h.store)
    usb.import_acks(s, stick)
    assert client.pending(s) == 0
    assert all(fold(c["id"], cases.events_of(s, c["id"])).status for c in s.store.query("SELECT id FROM cases LIMIT 5"))
    with pytest.raises(BundleRejected):
        bundle.peek(b"")
    s.close()
