"""HTTP enrolment with a man in the middle (``tests/sync/mitm.py``) between station and hub."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
import requests

from station.services import signing
from station.services.session import StationHome
from sync import bundle, client, enrolment
from sync import enrol_protocol as ep
from sync.http import HttpTransport
from tests.sync.conftest import HUB_PASS, ROOT, ST_PASS
from tests.sync.mitm import Proxy


def encodings(code: str) -> list[bytes]:
    """Every way the one-time code could show up in the traffic."""
    forms = {code, code.lower(), f"{code[:5]}-{code[5:]}"}
    out = []
    for f in forms:
        raw = f.encode()
        out += [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode(), raw.hex().upper().encode(),
                quote(f).encode(), f.encode("utf-16-le"), hashlib.sha256(raw).hexdigest().encode(), hashlib.sha256(raw).digest()]
    return out


def station_cli(data_dir, *args, env_extra=None):
    env = {**os.environ, "STATION_PASSPHRASE": ST_PASS, "STATION_USER": "zhanzhang", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(data_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def township(data_dir, *args):
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--data-dir", str(data_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def new_home(tmp_path, code="XX0101"):
    s, _ = StationHome(tmp_path / code).init(code, f"{code}村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    s.close()
    return tmp_path / code


def test_the_code_never_travels_in_any_encoding(hub, tmp_path):
    home = new_home(tmp_path)
    with hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
    with Proxy(hub.url) as proxy:
        r = station_cli(home, "enroll", "--hub", proxy.url, "--code", code)
    assert r.returncode == 0, r.stderr
    assert len(proxy.captured) > 200 and any("enroll" in p for p in proxy.paths)
    leaks = [e for e in encodings(code) if e in proxy.captured]
    assert leaks == []
    with hub.open() as h:
        assert h.store.station("XX0101")["status"] == "active"


def evil_hub_answer(station_code: str, hub_id: str, station_msg: str, guess: str) -> dict:
    """What an attacker posing as the hub can answer: its own SPAKE2 run on a guessed code, and
    its own keys in the box."""
    pake = ep.hub_pake(station_code, hub_id, ep.code_hash(guess).encode())
    out = pake.start()
    keys = ep.session_keys(ep.finish_pake(pake, ep.unb64(station_msg)))
    sign, enc = bundle.new_keys()
    info = {"hub_id": hub_id, "hub_name": "旧州镇便民服务中心", "sign_pub": ep.b64(bundle.public_bytes(sign)),
            "enc_pub": ep.b64(bundle.public_bytes(enc)), "hwm": 0, "station_code": station_code}
    return {"session": "evil-session", "msg": ep.b64(out),
            "box": ep.seal_box(keys.hub_info, info, ep.box_aad("evil-session", station_code, "hub-info"), ep.BOX_PAD)}


def attacker_enrols_itself(url: str, station_code: str, hub_id: str, guess: str) -> requests.Response:
    """The attacker posing as the station to the real hub, with its own keys and a guessed code."""
    pake = ep.station_pake(station_code, hub_id, guess)
    started = requests.post(url + "/v1/enroll/start", json={"station_code": station_code, "msg": ep.b64(pake.start())}, timeout=10)
    assert started.status_code == 200
    s = started.json()
    keys = ep.session_keys(ep.finish_pake(pake, ep.unb64(s["msg"])))
    assert ep.open_box(keys.hub_info, s["box"], ep.box_aad(s["session"], station_code, "hub-info")) is None  # no use to it
    sign, enc = bundle.new_keys()
    mine = {"station_code": station_code, "sign_pub": ep.b64(bundle.public_bytes(sign)), "enc_pub": ep.b64(bundle.public_bytes(enc))}
    return requests.post(url + "/v1/enroll/finish", json={"session": s["session"], "box": ep.seal_box(
        keys.station_keys, mine, ep.box_aad(s["session"], station_code, "station-keys"))}, timeout=10)


def assert_nothing_enrolled(home, hub):
    with StationHome(home).unlock("zhanzhang", ST_PASS) as s:
        assert client.hub(s) is None and client.hub_ca(s) is None
        assert s.store.scalar("SELECT count(*) FROM audit WHERE action = 'sync.enrolled'") == 0
    with hub.open() as h:
        st = h.store.station("XX0101")
        assert st["status"] == "pending" and st["sign_pub"] is None and st["enc_pub"] is None


def test_a_mitm_running_its_own_spake2_is_refused_on_both_sides(hub, tmp_path):
    home = new_home(tmp_path)
    with hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
        hub_id = h.hub_id

    def pose_as_hub(path, body):
        if path == "/v1/enroll/start":
            return ("answer", 200, evil_hub_answer("XX0101", hub_id, body["msg"], ep.new_code()))
        return None
    with Proxy(hub.url, on_request=pose_as_hub) as proxy:
        r = station_cli(home, "enroll", "--hub", proxy.url, "--code", code)
    assert r.returncode != 0 and "连接到的不是本乡镇的服务器" in r.stderr and "Traceback" not in r.stderr
    assert "/v1/enroll/finish" not in proxy.paths  # the station sent nothing after the box failed to open
    # and the same attacker, now posing as the station with its own keys, gets nowhere at the hub
    answer = attacker_enrols_itself(hub.url, "XX0101", hub_id, ep.new_code())
    assert answer.status_code == 400 and answer.json()["error"] == "enrol_failed"
    assert_nothing_enrolled(home, hub)


def test_a_mitm_swapping_the_hubs_message_or_the_stations_keys_is_caught(hub, tmp_path):
    home = new_home(tmp_path)
    with hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
        hub_id = h.hub_id
    seen = {}

    def note_station_msg(path, body):
        if path == "/v1/enroll/start":
            seen["msg"] = body["msg"]
        return None

    def swap_hub_msg(path, status, body):  # the real hub's answer, with the attacker's SPAKE2 message in it
        if path == "/v1/enroll/start" and status == 200:
            evil = evil_hub_answer("XX0101", hub_id, seen["msg"], ep.new_code())
            return {**body, "msg": evil["msg"]}
        return None
    with Proxy(hub.url, on_request=note_station_msg, on_response=swap_hub_msg) as proxy:
        r = station_cli(home, "enroll", "--hub", proxy.url, "--code", code)
    assert r.returncode != 0 and "连接到的不是本乡镇的服务器" in r.stderr
    assert "/v1/enroll/finish" not in proxy.paths
    assert_nothing_enrolled(home, hub)

    def flip_station_box(path, body):  # the station's keys, altered on the way
        if path == "/v1/enroll/finish":
            raw = bytearray(base64.b64decode(body["box"]))
            raw[20] ^= 1
            return ("forward", {**body, "box": base64.b64encode(bytes(raw)).decode()})
        return None
    with Proxy(hub.url, on_request=flip_station_box) as proxy:
        r = station_cli(home, "enroll", "--hub", proxy.url, "--code", code)
    assert r.returncode != 0 and "登记" in r.stderr and "Traceback" not in r.stderr
    assert_nothing_enrolled(home, hub)
    # the real exchange still works afterwards (the code is not used up by the attack)
    r = station_cli(home, "enroll", "--hub", hub.url, "--code", code.lower())
    assert r.returncode == 0, r.stderr
    with hub.open() as h, StationHome(home).unlock("zhanzhang", ST_PASS) as s:
        st = h.store.station("XX0101")
        assert st["status"] == "active" and bytes(st["sign_pub"]) == signing.public_key(s)
        assert bytes(client.hub(s)["enc_pub"]) == bytes(h.store.s.scalar("SELECT public FROM hub_keys WHERE purpose = 'encryption'"))


def test_unknown_and_known_station_codes_are_answered_alike_and_both_lock(hub, tmp_path):
    with hub.open() as h:
        h.add_station("XX0101", "石板村")
        hub_id = h.hub_id

    def run(station_code):
        pake = ep.station_pake(station_code, hub_id, ep.new_code())
        t = time.perf_counter()
        started = requests.post(hub.url + "/v1/enroll/start", json={"station_code": station_code, "msg": ep.b64(pake.start())},
                                timeout=10)
        elapsed = time.perf_counter() - t
        if started.status_code != 200:
            return started, None, elapsed
        body = started.json()
        finished = requests.post(hub.url + "/v1/enroll/finish", json={"session": body["session"], "box": ep.seal_box(
            os.urandom(32), {"station_code": station_code}, b"x")}, timeout=10)
        return started, finished, elapsed

    known, unknown = [], []
    for _ in range(ep.MAX_ATTEMPTS):
        known.append(run("XX0101"))
        unknown.append(run("XX0199"))
    for (ks, kf, _), (us, uf, _) in zip(known, unknown, strict=True):
        assert ks.status_code == us.status_code == 200
        kb, ub = ks.json(), us.json()
        assert sorted(kb) == sorted(ub) and all(len(kb[k]) == len(ub[k]) for k in kb)
        assert kf.status_code == uf.status_code == 400 and kf.json() == uf.json()
    k_time = statistics.median(t for _, _, t in known)
    u_time = statistics.median(t for _, _, t in unknown)
    assert 0.2 < k_time / u_time < 5  # the same work either way: no order-of-magnitude difference
    locked_known, _, _ = run("XX0101")
    locked_unknown, _, _ = run("XX0199")
    assert locked_known.status_code == locked_unknown.status_code == 429
    assert locked_known.json() == locked_unknown.json() and ep.LOCKED_MESSAGE in locked_known.json()["reason"]


def test_the_clerk_sees_the_lockout_and_a_fresh_code_unlocks(hub, tmp_path):
    home = new_home(tmp_path)
    with hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
    with StationHome(home).unlock("zhanzhang", ST_PASS) as s:
        for _ in range(ep.MAX_ATTEMPTS - 1):
            with pytest.raises(ep.EnrolFailed, match="登记码不正确"):
                enrolment.enroll_online(s, ep.new_code(), HttpTransport(hub.url), hub.url)
    r = station_cli(home, "enroll", "--hub", hub.url, env_extra={"STATION_ENROL_CODE": ep.new_code()})
    assert r.returncode != 0 and "登记码不正确" in r.stderr
    r = station_cli(home, "enroll", "--hub", hub.url, "--code", code)  # now even the right code is refused
    assert r.returncode != 0 and ep.LOCKED_MESSAGE in r.stderr
    listing = township(hub.dir, "station", "list")
    assert "登记码已锁定" in listing.stdout, listing.stdout
    fresh = json.loads(township(hub.dir, "station", "add", "--code", "XX0101", "--name", "石板村", "--json",
                                "--out", str(tmp_path / "e.json")).stdout)["code"]
    assert "锁定" not in township(hub.dir, "station", "list").stdout
    r = station_cli(home, "enroll", "--hub", hub.url, "--code", ep.printable_code(fresh))
    assert r.returncode == 0, r.stderr
    with hub.open() as h:
        actions = [a for (a,) in h.store.s.conn.execute("SELECT action FROM audit WHERE target = 'XX0101' ORDER BY seq")]
    assert actions.count("station.enrol_locked") == 1 and actions[-2:] == ["station.add", "station.enrolled"]
