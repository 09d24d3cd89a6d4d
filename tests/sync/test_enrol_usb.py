"""Enrolment carried on a USB stick: the file and the reply say nothing an observer can use."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.errors import ValidationFailed
from station.services import signing
from station.services.session import StationHome
from sync import bundle, client, enrolment
from sync import enrol_protocol as ep
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS, ROOT, ST_PASS
from tests.sync.test_enrol_mitm import encodings


def township(data_dir, *args, cwd=ROOT):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--data-dir", str(data_dir)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_township_station_add_writes_a_file_without_the_code(tmp_path):
    HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    target = tmp_path / "enrol-XX0101.json"
    r = township(tmp_path / "hub", "station", "add", "--code", "XX0101", "--name", "石板村", "--out", str(target), "--json")
    assert r.returncode == 0, r.stderr
    code = json.loads(r.stdout)["code"]
    data = target.read_bytes()
    assert json.loads(data)["station_code"] == "XX0101"
    assert [e for e in encodings(code) if e in data] == []


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


def on_stick(tmp_path, doc) -> Path:
    stick = tmp_path / "stick"
    stick.mkdir(exist_ok=True)
    path = stick / f"enrol-{doc['station_code']}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return path


def test_the_reply_carries_nothing_an_observer_can_use_and_cannot_be_replayed(hub, station, tmp_path):
    code, doc = hub.add_station("XX0101", "石板村")
    reply = enrolment.enroll_file(station, on_stick(tmp_path, doc), ep.printable_code(code).lower())
    data = reply.read_bytes()
    assert [e for e in encodings(code) if e in data] == []
    mine = signing.public_key(station)
    assert ep.b64(mine).encode() not in data and mine.hex().encode() not in data  # even the keys are sealed
    saved = json.loads(data)
    report = import_path(hub, reply.parent)  # the township imports the stick
    assert report.enrolled == ["XX0101"] and report.rejected == [] and not reply.exists()
    assert bytes(hub.store.station("XX0101")["sign_pub"]) == mine
    # The same reply again (a copy left on another stick): already done, not an error.
    reply.write_text(json.dumps(saved), "utf-8")
    again = import_path(hub, reply.parent)
    assert again.enrolled == [] and again.already_enrolled == ["XX0101"] and again.rejected == []
    # The station's PC is stolen: revoked, a new code issued; the old reply must not bring it back.
    hub.revoke("XX0101")
    reply.write_text(json.dumps(saved), "utf-8")
    stale = import_path(hub, reply.parent)
    assert stale.enrolled == [] and "已失效" in stale.rejected[0]["reason"] and "不能重复使用" in stale.rejected[0]["reason"]
    hub.add_station("XX0101", "石板村")  # a new code for a new PC: the old reply is worth nothing against it
    with pytest.raises(ep.EnrolFailed, match="旧登记码的回执"):
        hub.confirm(saved)
    assert hub.store.station("XX0101")["status"] == "pending" and hub._station_key("XX0101") is None  # bundles refused


def test_a_swapped_enrolment_file_is_refused_and_nothing_is_stored(hub, station, tmp_path):
    code, doc = hub.add_station("XX0101", "石板村")
    evil_sign, evil_enc = bundle.new_keys()
    evil_keys = {"sign_pub": ep.b64(bundle.public_bytes(evil_sign)), "enc_pub": ep.b64(bundle.public_bytes(evil_enc))}
    # (a) the township's file with the attacker's keys put in
    path = on_stick(tmp_path, {**doc, **evil_keys})
    with pytest.raises(ep.EnrolFailed, match="被改动"):
        enrolment.enroll_file(station, path, code)
    # (b) a whole new file, MAC'd under the attacker's best guess at the code
    forged = {k: v for k, v in doc.items() if k != "mac"} | evil_keys
    forged["mac"] = ep.file_mac(ep.file_key(ep.new_code(), ep.unb64(forged["salt"])), forged)
    path = on_stick(tmp_path, forged)
    with pytest.raises(ep.EnrolFailed):
        enrolment.enroll_file(station, path, code)
    # (c) the right file, but a mistyped code
    path = on_stick(tmp_path, doc)
    with pytest.raises(ep.EnrolFailed, match="登记码不正确"):
        enrolment.enroll_file(station, path, code[:-1] + ("2" if code[-1] != "2" else "3"))
    # (d) an old-style file that still carries the code
    old = on_stick(tmp_path, {**{k: v for k, v in doc.items() if k not in ("format", "mac", "salt")}, "code": code})
    with pytest.raises(ValidationFailed, match="旧版本"):
        enrolment.enroll_file(station, old, code)
    assert client.hub(station) is None and not list(path.parent.glob("enrol-reply-*"))
    assert station.store.scalar("SELECT count(*) FROM audit WHERE action = 'sync.enrolled'") == 0


def test_forged_replies_on_a_stick_count_toward_the_lockout(hub, station, tmp_path):
    code, doc = hub.add_station("XX0101", "石板村")
    hub_enc = ep.unb64(doc["enc_pub"])  # public: anyone can encrypt to the hub
    stick = tmp_path / "stick"
    stick.mkdir()
    for _ in range(ep.MAX_ATTEMPTS):
        sign, enc = bundle.new_keys()
        keys = {"sign_pub": ep.b64(bundle.public_bytes(sign)), "enc_pub": ep.b64(bundle.public_bytes(enc))}
        salt = ep.unb64(doc["salt"])
        proof = ep.reply_proof(ep.file_key(ep.new_code(), salt), "XX0101", "JZ01", keys["sign_pub"], keys["enc_pub"])
        forged = ep.seal_reply(hub_enc, "XX0101", "JZ01", {"station_code": "XX0101", "hub_id": "JZ01", **keys, "proof": proof})
        (stick / "enrol-reply-XX0101.json").write_text(json.dumps(forged), "utf-8")
        report = import_path(hub, stick)
        assert report.enrolled == [] and "校验不符" in report.rejected[0]["reason"]
    assert hub.store.station("XX0101")["status"] == "pending"
    reply = enrolment.enroll_file(station, on_stick(tmp_path, doc), code)  # the real one, too late
    with pytest.raises(ep.EnrolLocked, match="已锁定"):
        hub.confirm(json.loads(reply.read_text("utf-8")))
    fresh, doc2 = hub.add_station("XX0101", "石板村")
    reply = enrolment.enroll_file(station, on_stick(tmp_path, doc2), fresh)
    assert hub.confirm(json.loads(reply.read_text("utf-8"))) == "XX0101"
    assert hub.store.station("XX0101")["status"] == "active"


def test_enrolment_on_a_stick_from_the_command_line(tmp_path):
    HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    StationHome(tmp_path / "XX0101").init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", ST_PASS)[0].close()
    stick = tmp_path / "stick"
    stick.mkdir()
    added = township(tmp_path / "hub", "station", "add", "--code", "XX0101", "--name", "石板村", "--out", str(stick / "enrol-XX0101.json"))
    assert added.returncode == 0 and "抄在纸上" in added.stdout
    code = added.stdout.split("一次性登记码:")[1][:11]
    env = {**os.environ, "STATION_PASSPHRASE": ST_PASS, "STATION_USER": "zhanzhang", "STATION_ENROL_CODE": code}
    r = subprocess.run([sys.executable, "-m", "station.cli", "enroll", str(stick / "enrol-XX0101.json"), "--data-dir",
                        str(tmp_path / "XX0101")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "回执文件" in r.stdout, r.stderr
    saved = (stick / "enrol-reply-XX0101.json").read_text("utf-8")
    r = township(tmp_path / "hub", "station", "confirm", str(stick / "enrol-reply-XX0101.json"))
    assert r.returncode == 0 and "登记完成" in r.stdout, r.stderr
    r = township(tmp_path / "hub", "import", str(stick))
    assert r.returncode == 0 and "早已确认" in r.stdout and "拒收" not in r.stdout, r.stdout + r.stderr
    (stick / "enrol-reply-XX0101.json").write_text(saved, "utf-8")
    r = township(tmp_path / "hub", "station", "confirm", str(stick / "enrol-reply-XX0101.json"))
    assert r.returncode == 0 and "无需再次确认" in r.stdout
