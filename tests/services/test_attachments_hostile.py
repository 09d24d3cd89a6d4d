"""Scans (扫描件): only a regular file of its own in the scanner's folder is read, stored, uploaded
and shredded. A link, FIFO, device or hard link placed there is refused before anything is read,
and nothing outside the folder is ever read or overwritten. Real links, FIFOs and hard links."""
from __future__ import annotations

import os
import threading

import pytest

from station.errors import NotFound, ValidationFailed
from station.services import attachments, cases
from tests.conftest import intake_doc

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and links as on Linux/macOS")

SECRET = b"%PDF-1.4\n% somebody else's document, outside the scanner folder\n" * 40


@pytest.fixture
def number(session):
    return cases.intake(session, intake_doc())["number"]


@pytest.fixture
def folders(tmp_path):
    scans, outside = tmp_path / "scans", tmp_path / "outside"
    scans.mkdir()
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(SECRET)
    return scans, outside


def stored(session) -> tuple[int, int]:
    return (session.store.scalar("SELECT count(*) FROM attachments"), session.store.scalar("SELECT count(*) FROM outbox"))


def attach_bounded(session, number, path):
    """``attach`` in a thread with a time bound: a FIFO must not hang it."""
    out = {}

    def run():
        try:
            out["r"] = attachments.attach(session, number, path)
        except Exception as exc:  # noqa: BLE001 — handed to the test below
            out["e"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=20)
    assert out, "attach hung"
    return out


@pytest.mark.parametrize("kind", ["link_to_outside_file", "hard_link_to_outside_file", "link_to_dev_zero", "fifo", "dangling_link"])
def test_only_a_regular_file_of_its_own_is_attached(session, number, folders, kind):
    scans, outside = folders
    target = scans / "户口簿.pdf"
    if kind == "link_to_outside_file":
        target.symlink_to(outside / "secret.pdf")
    elif kind == "hard_link_to_outside_file":
        os.link(outside / "secret.pdf", target)
    elif kind == "link_to_dev_zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "dangling_link":
        target.symlink_to(outside / "gone.pdf")
    before = stored(session)
    out = attach_bounded(session, number, target)
    assert "r" not in out and isinstance(out["e"], (ValidationFailed, NotFound)), out
    assert stored(session) == before  # nothing read into the store, nothing queued for upload
    assert (outside / "secret.pdf").read_bytes() == SECRET  # the target is not shredded
    assert sorted(p.name for p in outside.iterdir()) == ["secret.pdf"]


def test_a_real_scan_is_stored_then_shredded_and_removed(session, number, folders):
    scans, _ = folders
    scan = scans / "身份证.jpg"
    scan.write_bytes(b"\xff\xd8\xff\xe0" + b"SCAN" * 1000)
    fd = os.open(scan, os.O_RDONLY)  # a second handle on the same file, to see what is left in it
    try:
        info = attachments.attach(session, number, scan)
        assert not scan.exists() and info["size"] == 4004
        assert os.pread(fd, 4004, 0) == b"\0" * 4004  # overwritten before the name was removed
    finally:
        os.close(fd)
    assert attachments.read(session, info["attachment_id"]).startswith(b"\xff\xd8")


def test_a_scan_replaced_after_reading_keeps_the_new_file(session, number, folders, monkeypatch):
    """The name is removed only if it still names the file that was read (the scanner may have
    saved a new page under the same name meanwhile)."""
    scans, _ = folders
    scan = scans / "page.png"
    scan.write_bytes(b"\x89PNG first page" * 100)
    real_load = cases.load

    def load_and_replace(*a, **kw):
        (scans / "new.tmp").write_bytes(b"\x89PNG second page" * 100)
        os.replace(scans / "new.tmp", scan)
        return real_load(*a, **kw)
    monkeypatch.setattr(cases, "load", load_and_replace)
    attachments.attach(session, number, scan)
    assert scan.read_bytes() == b"\x89PNG second page" * 100
