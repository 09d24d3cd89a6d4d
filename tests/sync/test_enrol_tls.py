"""TLS as defence in depth: ``township serve --tls-cert/--tls-key``, ``station enroll --ca``."""
from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from station.services.session import StationHome
from sync import client
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ST_PASS, HubProcess
from tests.sync.test_enrol_mitm import new_home, station_cli


def self_signed(folder, name: str):
    """A township's self-signed certificate for 127.0.0.1 (what ``openssl req -x509`` would make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_hub(tmp_path):
    HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)[0].store.close()
    process = HubProcess(tmp_path / "hub", tls=self_signed(tmp_path, "township"))
    process.start()
    yield process
    process.stop()


def test_enrol_and_sync_over_https_with_the_townships_certificate(tls_hub, tmp_path):
    assert tls_hub.url.startswith("https://")
    cert = tls_hub.tls[0]
    home = new_home(tmp_path)
    with tls_hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
    other_cert, _ = self_signed(tmp_path, "stranger")
    r = station_cli(home, "enroll", "--hub", tls_hub.url, "--code", code)  # the system's CAs do not know it
    assert r.returncode != 0 and "无法验证乡镇服务器" in r.stderr and "Traceback" not in r.stderr
    r = station_cli(home, "enroll", "--hub", tls_hub.url, "--code", code, "--ca", str(other_cert))  # someone else's
    assert r.returncode != 0 and "无法验证乡镇服务器" in r.stderr
    r = station_cli(home, "enroll", "--hub", tls_hub.url, "--code", code, "--ca", str(cert))
    assert r.returncode == 0, r.stderr
    with StationHome(home).unlock("zhanzhang", ST_PASS) as s:
        assert client.hub(s)["url"] == tls_hub.url and client.hub_ca(s) == cert.read_text()
    r = station_cli(home, "sync")  # later syncs use the stored certificate by themselves
    assert r.returncode == 0 and "同步完成" in r.stdout, r.stderr
    with tls_hub.open() as h:
        assert h.store.station("XX0101")["last_seen"] is not None


def test_a_file_that_is_no_certificate_is_refused(tmp_path):
    home = new_home(tmp_path)
    bogus = tmp_path / "not-a-cert.pem"
    bogus.write_text("hello")
    r = station_cli(home, "enroll", "--hub", "https://127.0.0.1:9", "--code", "K7P3XQ9M2D", "--ca", str(bogus))
    assert r.returncode != 0 and "证书文件无效" in r.stderr


def test_only_the_given_certificate_counts_not_the_systems_cas(tls_hub, tmp_path):
    """A server the system would trust (here: its CA bundle points at the township's cert) is still
    refused when the station was told to trust another certificate."""
    home = new_home(tmp_path)
    with tls_hub.open() as h:
        code, _ = h.add_station("XX0101", "石板村")
    other_cert, _ = self_signed(tmp_path, "stranger")
    r = station_cli(home, "enroll", "--hub", tls_hub.url, "--code", code, "--ca", str(other_cert),
                    env_extra={"REQUESTS_CA_BUNDLE": str(tls_hub.tls[0])})
    assert r.returncode != 0 and "无法验证乡镇服务器" in r.stderr
