"""Shared fixtures: real encrypted stations on disk, closed after each test."""
from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest

from station.core.identity import check_char
from station.services.session import StationHome
from station.store import keys

PASS = "correct-horse-1"


def make_id(birth: str = "19560312", seq: int = 1, area: str = "520402") -> str:
    """A valid identity number (GB 11643) for tests."""
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + check_char(first17)


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch, request):
    """In-process tests use a cheap KDF; tests marked ``real_kdf`` (and every subprocess) use the real cost."""
    if "real_kdf" not in request.keywords:
        monkeypatch.setattr(keys, "SCRYPT_N", 2**10)
        monkeypatch.setattr(keys, "SCRYPT_R", 8)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throw-away PostgreSQL cluster for the session (tests/pg.py), shared by the hub and console tests."""
    from tests.pg import Cluster, pg_bin
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL hub store is not tested")
    cluster = Cluster(bin_dir)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def home(tmp_path) -> StationHome:
    return StationHome(tmp_path / "station")


class Today:
    """A movable 'today' for sessions, so tests can walk through dates."""

    def __init__(self, day: date):
        self.day = day

    def __call__(self) -> date:
        return self.day


@pytest.fixture
def today() -> Today:
    return Today(date(2026, 11, 20))


@pytest.fixture
def session(home, today):
    s, _ = home.init("XX0101", "石板村便民服务站", "zhanzhang", "罗世芬", PASS, today=today)
    yield s
    s.close()


def intake_doc(**over) -> dict:
    doc = {"resident": {"id_number": make_id(), "name": "张秀英", "phone": "13812345678", "village_group": "三组"},
           "item": "MZ-001",
           "materials_received": ["申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书",
                                  "家庭成员收入证明", "残疾证或重大疾病诊断证明", "本人银行卡(社保卡)"]}
    doc.update(over)
    return doc


@pytest.fixture
def fake_lp(tmp_path, monkeypatch) -> Path:
    """An ``lp`` that stores its standard input (the PDF) and arguments, like a print queue."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    spool = tmp_path / "spool"
    spool.mkdir()
    script = bin_dir / "lp"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {spool}/args\ncat > {spool}/job.pdf\necho 'request id is fake-1'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return spool
