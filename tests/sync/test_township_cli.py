"""The township command's own messages."""
import os
import subprocess
import sys

from tests.sync.conftest import ROOT


def test_no_hub_folder_says_township_init(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "station", "list", "--data-dir", str(tmp_path / "none")],
                       cwd=ROOT, capture_output=True, text=True, env={**os.environ, "TOWNSHIP_PASSPHRASE": "x"})
    assert r.returncode != 0 and "township init" in r.stderr and "station init" not in r.stderr and "Traceback" not in r.stderr


def test_enrolment_with_malformed_keys_is_refused_and_nothing_stored(tmp_path):
    import pytest

    from station.errors import ValidationFailed
    from sync import enrol_protocol as ep
    from sync.hub.service import HubHome
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    code, _ = hub.add_station("XX0101", "石板村")
    short = "AAAA"  # decodes, but is no 32-byte public key
    # A station that knows the code runs SPAKE2 properly, then sends keys that are not keys.
    pake = ep.station_pake("XX0101", hub.hub_id, code)
    started = hub.enrol_start({"station_code": "XX0101", "msg": ep.b64(pake.start())})
    keys = ep.session_keys(ep.finish_pake(pake, ep.unb64(started["msg"])))
    box = ep.seal_box(keys.station_keys, {"station_code": "XX0101", "sign_pub": short, "enc_pub": short},
                      ep.box_aad(started["session"], "XX0101", "station-keys"))
    with pytest.raises(ValidationFailed, match="格式不对"):
        hub.enrol_finish({"session": started["session"], "box": box})
    station = hub.store.station("XX0101")
    assert station["status"] == "pending" and station["sign_pub"] is None
    hub.store.close()
