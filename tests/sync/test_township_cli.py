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
    from sync.hub.service import HubHome, enrol_mac
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    code, _ = hub.add_station("XX0101", "石板村")
    short = "AAAA"  # decodes, but is no 32-byte public key
    with pytest.raises(ValidationFailed, match="格式不对"):
        hub.enroll({"station_code": "XX0101", "code": code, "sign_pub": short, "enc_pub": short,
                    "mac": enrol_mac(code, "XX0101", short, short)})
    station = hub.store.station("XX0101")
    assert station["status"] == "pending" and station["sign_pub"] is None
    hub.store.close()
