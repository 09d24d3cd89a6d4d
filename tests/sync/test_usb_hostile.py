"""Hostile sticks and watched folders: directories, links, FIFOs and huge files named like bundles,
links where the answers are written, leftover enrolment replies. Real files, real FIFOs
(``os.mkfifo``), real links, a real sparse file; ``township import`` runs as a process with a
memory limit and a timeout, so a hang or a memory blow-up fails the test instead of the machine."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from station.errors import StationError
from station.services import attachments
from station.services.session import StationHome
from sync import client, enrolment, stickfiles, usb
from sync.hub.usb import import_path, watch
from tests.sync.conftest import HUB_PASS, ROOT, ST_PASS, intake
from tests.sync.test_usb import hub, usb_station  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and links as on Linux/macOS")

MEMORY_LIMIT = 1024 * 1024 * 1024  # address space for `township import`: far below a 2 GB file, far above normal use
TIMEOUT_S = 90


def township_import(hub_dir, target) -> tuple[int, dict, float]:
    """``township import --json`` in its own process, under a memory limit and a timeout."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    started = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "sync.hub.cli", "import", str(target), "--json", "--data-dir", str(hub_dir)],
                       cwd=ROOT, env=env, capture_output=True, timeout=TIMEOUT_S, preexec_fn=limit)
    took = time.monotonic() - started
    assert b"Traceback" not in p.stderr, p.stderr.decode()
    return p.returncode, json.loads(p.stdout), took


def _hazard(kind: str, path, outside) -> None:
    if kind == "directory":
        path.mkdir()
        (path / "inside.txt").write_text("x")
    elif kind == "dangling_link":
        path.symlink_to(outside / "no-such-file.vsb")
    elif kind == "link_to_dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "sparse_2gb":
        with open(path, "wb") as fh:
            fh.truncate(2 * 1024 * 1024 * 1024)
    elif kind == "link_to_outside_bundle":
        path.symlink_to(outside / "real.vsb")


@pytest.mark.parametrize("where", ["root", "station_folder"])
@pytest.mark.parametrize("kind", ["directory", "dangling_link", "link_to_dev_zero", "fifo", "sparse_2gb", "link_to_outside_bundle"])
def test_a_hostile_entry_named_like_a_bundle_is_refused_and_the_rest_imports(hub, tmp_path, kind, where):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 4)
    stick = tmp_path / "stick"
    usb.export_to(s, stick)
    pending = client.pending(s)
    outside = tmp_path / "outside"
    outside.mkdir()
    real = next((stick / "XX0101").glob("*.vsb"))
    (outside / "real.vsb").write_bytes(real.read_bytes())
    name = "AA-zz-evil.vsb" if where == "root" else "XX0101-00000000-00000000.vsb"  # sorts first either way
    target = (stick if where == "root" else stick / "XX0101") / name
    _hazard(kind, target, outside)
    hub.store.close()
    code, report, took = township_import(tmp_path / "hub", stick)
    assert code == 15  # the documented "something was refused" exit code
    refused = {r["file"]: r["code"] for r in report["rejected"]}
    assert refused == {name: {"sparse_2gb": "too_large"}.get(kind, "not_a_file")}
    assert report["stations"]["XX0101"]["records"] == pending and report["stations"]["XX0101"]["ack_file"]
    assert took < 60
    assert sorted(p.name for p in outside.iterdir()) == ["real.vsb"]  # nothing written off the stick
    assert usb.import_acks(s, stick).acked_through == pending and client.pending(s) == 0
    s.close()


def test_township_import_exits_0_when_nothing_was_refused(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 2)
    usb.export_to(s, tmp_path / "stick")
    hub.store.close()
    code, report, _ = township_import(tmp_path / "hub", tmp_path / "stick")
    assert code == 0 and report["rejected"] == [] and report["stations"]["XX0101"]["records"] == client.pending(s)
    s.close()


def test_a_link_given_as_the_path_or_as_a_station_folder_is_not_followed(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    elsewhere = tmp_path / "elsewhere"
    usb.export_to(s, elsewhere)  # real bundles, but off the stick
    before = sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*"))
    link = tmp_path / "watched" / "evil.vsb"
    link.parent.mkdir()
    link.symlink_to(elsewhere / "XX0101", target_is_directory=True)
    r = import_path(hub, link)  # what `township watch` does with whatever appears
    assert [x["code"] for x in r.rejected] == ["not_a_file"] and r.stations == {}
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "XX0101").symlink_to(elsewhere / "XX0101", target_is_directory=True)  # a station folder that is a link
    r = import_path(hub, stick)
    assert r.stations == {} and hub.store.station("XX0101")["hwm"] == 0
    assert sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*")) == before  # no ack written there
    s.close()


def test_township_watch_does_not_follow_a_link_named_like_a_bundle(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    elsewhere = tmp_path / "elsewhere"
    usb.export_to(s, elsewhere)
    before = sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reports, stop = [], threading.Event()
    t = threading.Thread(target=watch, args=(hub, [inbox], lambda target, r: reports.append((target, r)), stop), daemon=True)
    t.start()
    try:
        time.sleep(0.5)  # the observer is up
        (inbox / "evil.vsb").symlink_to(elsewhere / "XX0101", target_is_directory=True)
        deadline = time.monotonic() + 20
        while not reports and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        t.join(timeout=10)
    assert reports, "the watcher reported nothing"
    target, r = reports[0]
    assert target.name == "evil.vsb" and [x["code"] for x in r.rejected] == ["not_a_file"] and r.stations == {}
    assert hub.store.station("XX0101")["hwm"] == 0
    assert sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*")) == before
    s.close()


def test_township_watch_never_imports_through_a_linked_folder(hub, tmp_path):  # noqa: F811
    """A link to a folder elsewhere placed in the watched folder; bundles then land there. Nothing
    is imported from there and no answer is written there, whether or not the watcher sees them."""
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    staged = tmp_path / "staged"
    usb.export_to(s, staged)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "XX0101").mkdir(parents=True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "door").symlink_to(elsewhere, target_is_directory=True)
    reports, stop = [], threading.Event()
    t = threading.Thread(target=watch, args=(hub, [inbox], lambda target, r: reports.append((target, r)), stop), daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        for f in (staged / "XX0101").glob("*.vsb"):
            (inbox / "door" / "XX0101" / f.name).write_bytes(f.read_bytes())  # through the link
        time.sleep(3)  # longer than the watcher's settle time
    finally:
        stop.set()
        t.join(timeout=10)
    assert hub.store.station("XX0101")["hwm"] == 0 and all(r.stations == {} for _, r in reports)
    assert not (elsewhere / "XX0101" / usb.ACK_DIR).exists()
    (inbox / "a").mkdir()
    assert stickfiles.reached_without_links(inbox, inbox / "a" / "b.vsb") is True
    assert stickfiles.reached_without_links(inbox, inbox / "door" / "XX0101" / "b.vsb") is False
    s.close()


def test_acks_are_never_written_through_a_link(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    stick = tmp_path / "stick"
    usb.export_to(s, stick)
    outside = tmp_path / "outside"
    outside.mkdir()
    (stick / "XX0101" / usb.ACK_DIR).symlink_to(outside, target_is_directory=True)
    r = import_path(hub, stick)
    assert r.stations["XX0101"].records > 0 and r.stations["XX0101"].ack_file is None
    assert [x["code"] for x in r.rejected] == ["write_failed"] and list(outside.iterdir()) == []
    # the answers folder is real, but a planted temp file points at something precious
    (stick / "XX0101" / usb.ACK_DIR).unlink()
    (stick / "XX0101" / usb.ACK_DIR).mkdir()
    precious = outside / "precious.txt"
    precious.write_text("do not touch")
    hwm = hub.store.station("XX0101")["hwm"]
    (stick / "XX0101" / usb.ACK_DIR / f"JZ01-ack-{hwm:08d}.vsb.part").symlink_to(precious)
    (stick / "XX0101" / usb.ACK_DIR / f"JZ01-ack-{hwm:08d}.vsb").symlink_to(outside / "ack-lands-here.vsb")
    r = import_path(hub, stick)
    assert r.rejected == [] and r.stations["XX0101"].ack_file
    assert precious.read_text() == "do not touch" and sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert usb.import_acks(s, stick).acked_through == hwm and client.pending(s) == 0
    s.close()


def test_a_leftover_enrolment_reply_is_refused_once_then_removed(hub, tmp_path):  # noqa: F811
    s, _ = StationHome(tmp_path / "XX0101").init("XX0101", "XX0101村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    one_time, doc = hub.add_station("XX0101", "XX0101村")
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "enrol-XX0101.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    reply = enrolment.enroll_file(s, stick / "enrol-XX0101.json", one_time)
    saved = reply.read_text("utf-8")
    assert import_path(hub, stick).enrolled == ["XX0101"]
    hub.reset("XX0101")  # a new PC: the old reply is void for ever
    reply.write_text(saved, "utf-8")  # …and a copy of it is still on the stick
    intake(s, 1)
    first = import_path(hub, stick)
    assert len(first.rejected) == 1 and first.rejected[0]["file"] == reply.name and not reply.exists()
    again = import_path(hub, stick)
    assert again.rejected == [] and again.refused_any is False
    attempts = (hub.store.enrol_attempts("XX0101") or {}).get("attempts", 0)
    assert attempts <= 1  # imported twice, counted at most once toward the lockout
    # another township's reply on a shared stick: not ours, left alone, not a refusal
    other = {**json.loads(saved), "hub_id": "LP02"}
    (stick / "enrol-reply-XX0102.json").write_text(json.dumps(other), "utf-8")
    r = import_path(hub, stick)
    assert r.rejected == [] and [x["file"] for x in r.skipped] == ["enrol-reply-XX0102.json"]
    assert (stick / "enrol-reply-XX0102.json").exists()
    # a damaged one can never be confirmed either: reported once, then gone
    (stick / "enrol-reply-XX0103.json").write_bytes(b'{"kind": "enrolment_reply", ')
    assert [x["file"] for x in import_path(hub, stick).rejected] == ["enrol-reply-XX0103.json"]
    assert import_path(hub, stick).rejected == []
    s.close()


@pytest.mark.parametrize("kind", ["directory", "dangling_link", "link_to_dev_zero", "fifo", "sparse_2gb"])
def test_station_import_ack_refuses_hostile_entries_and_takes_the_rest(hub, tmp_path, kind):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    stick = tmp_path / "stick"
    usb.export_to(s, stick)
    import_path(hub, stick)
    acks = stick / "XX0101" / usb.ACK_DIR
    name = "0000-evil.vsb"
    _hazard(kind, acks / name, tmp_path)
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("r", usb.import_acks(s, stick)), daemon=True)
    t.start()
    t.join(timeout=30)
    assert "r" in done, "import-ack hung"
    r = done["r"]
    assert [x["file"] for x in r.rejected] == [name] and client.pending(s) == 0
    s.close()


def test_station_import_ack_does_not_follow_a_linked_answers_folder(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 3)
    real = tmp_path / "real-stick"
    usb.export_to(s, real)
    import_path(hub, real)
    stick = tmp_path / "stick"
    (stick / "XX0101").mkdir(parents=True)
    (stick / "XX0101" / usb.ACK_DIR).symlink_to(real / "XX0101" / usb.ACK_DIR, target_is_directory=True)
    r = usb.import_acks(s, stick)
    assert r.files == 0 and [x["code"] for x in r.rejected] == ["not_a_folder"] and client.pending(s) > 0
    assert list((real / "XX0101" / usb.ACK_DIR).glob("*.vsb"))  # nothing taken from where the link points
    s.close()


def _stick_of_big_bundles(s, tmp_path):
    """About 20 bundles of about 0.6 MB each (incompressible scans)."""
    numbers = intake(s, 40)
    scans = tmp_path / "scans"
    scans.mkdir()
    for i, number in enumerate(numbers):
        f = scans / f"scan{i}.png"
        f.write_bytes(os.urandom(300 * 1024))
        attachments.attach(s, number, f)
    stick = tmp_path / "stick"
    files = usb.export_to(s, stick, max_mb=0.6).files
    assert len(files) >= 18
    return stick, files, sum((stick / "XX0101" / f).stat().st_size for f in files)


def _peak(fn, *args):
    tracemalloc.start()
    try:
        result = fn(*args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bundles_are_imported_one_at_a_time(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    stick, _, total = _stick_of_big_bundles(s, tmp_path)
    r, peak = _peak(import_path, hub, stick)
    assert r.rejected == [] and r.stations["XX0101"].records == client.pending(s)
    assert peak < total / 2, (peak, total)  # all of them at once would be more than the total
    s.close()


def test_held_bundles_are_released_one_at_a_time(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    stick, files, total = _stick_of_big_bundles(s, tmp_path)
    first = stick / "XX0101" / files[0]
    rescued = tmp_path / "rescued" / "XX0101"
    rescued.mkdir(parents=True)
    first.rename(rescued / files[0])  # the first file missing: every other one is held
    r = import_path(hub, stick)
    assert len(r.stations["XX0101"].held) == len(files) - 1
    r, peak = _peak(import_path, hub, rescued.parent)  # the gap filled: the held ones follow
    assert hub.store.counts()["held"] == 0 and hub.store.station("XX0101")["hwm"] == client.pending(s)
    assert peak < total / 2, (peak, total)
    s.close()


def test_read_capped_never_reads_past_its_cap(tmp_path):
    f = tmp_path / "big.vsb"
    f.write_bytes(b"x" * 5000)
    assert len(stickfiles.read_capped(f, 5000)) == 5000
    assert len(stickfiles.read_capped(f, 10_000, prefix=100)) == 100
    with pytest.raises(stickfiles.Refused) as e:
        stickfiles.read_capped(f, 4999)
    assert e.value.code == "too_large"
    assert stickfiles.MAX_BUNDLE_FILE > stickfiles.HEADER_PREFIX > 0


def test_station_enrol_on_a_stick_reads_and_writes_no_links(hub, tmp_path):  # noqa: F811
    s, _ = StationHome(tmp_path / "XX0101").init("XX0101", "XX0101村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    one_time, doc = hub.add_station("XX0101", "XX0101村")
    stick, outside = tmp_path / "stick", tmp_path / "outside"
    stick.mkdir()
    outside.mkdir()
    os.mkfifo(stick / "enrol-fifo.json")
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("e", pytest.raises(StationError, enrolment.enroll_file, s,
                                                                            stick / "enrol-fifo.json", one_time)), daemon=True)
    t.start()
    t.join(timeout=20)
    assert "e" in done, "reading a FIFO as the enrolment file hung"
    assert "不是乡镇生成的服务站登记文件" in str(done["e"].value.details[0].message)
    (stick / "enrol-XX0101.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    precious = outside / "precious.txt"
    precious.write_text("do not touch")
    (stick / "enrol-reply-XX0101.json").symlink_to(precious)  # planted where the reply will be written
    reply = enrolment.enroll_file(s, stick / "enrol-XX0101.json", one_time)
    assert precious.read_text() == "do not touch" and not reply.is_symlink()
    assert import_path(hub, stick).enrolled == ["XX0101"]
    s.close()


def test_station_import_ack_command_exits_15_when_something_was_refused(hub, tmp_path):  # noqa: F811
    s = usb_station(tmp_path, hub, "XX0101")
    intake(s, 2)
    stick = tmp_path / "stick"
    usb.export_to(s, stick)
    import_path(hub, stick)
    os.mkfifo(stick / "XX0101" / usb.ACK_DIR / "0000-evil.vsb")
    s.close()
    env = {**os.environ, "STATION_PASSPHRASE": ST_PASS, "STATION_USER": "zhanzhang"}
    run = subprocess.run([sys.executable, "-m", "station.cli", "import-ack", str(stick), "--json", "--data-dir", str(tmp_path / "XX0101")],
                         cwd=ROOT, env=env, capture_output=True, timeout=TIMEOUT_S)
    out = json.loads(run.stdout)
    assert run.returncode == 15 and [x["file"] for x in out["rejected"]] == ["0000-evil.vsb"] and out["acked_through"] > 0
    (stick / "XX0101" / usb.ACK_DIR / "0000-evil.vsb").unlink()
    run = subprocess.run([sys.executable, "-m", "station.cli", "import-ack", str(stick), "--data-dir", str(tmp_path / "XX0101")],
                         cwd=ROOT, env=env, capture_output=True, timeout=TIMEOUT_S)
    assert run.returncode == 0, run.stderr.decode()
