"""Fuzzer over stick scanning: random trees of files, folders, links and FIFOs, with random bytes
(and near-valid bundles, answers and enrolment replies) under names a stick may carry, imported by
the township (``import_path``) and by the station (``usb.import_acks``).

The properties, for every tree: no exception escapes; the import finishes (bounded in time, so a
FIFO or ``/dev/zero`` cannot hang it); nothing outside the stick is opened or listed (a Python audit
hook sees every ``open``/``scandir``/``listdir`` the import makes, and every file it opens for
reading is opened with ``O_NOFOLLOW``); nothing outside the stick changes; and a genuine bundle
placed off the stick, reachable only through a link, is never applied.

Budget: ``FUZZ_EXAMPLES`` trees per property in the normal run (200); the longer run is
``HYPOTHESIS_PROFILE=long python -m pytest tests/fuzz/test_usb.py -q`` (``FUZZ_LONG_EXAMPLES``,
default 5,000), see ``tests/bench/README.md``.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.services.session import StationHome
from sync import enrolment, stickfiles, usb
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS, ST_PASS, intake

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and links as on Linux/macOS")

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
EXAMPLES = int(os.environ.get("FUZZ_LONG_EXAMPLES", 5000)) if LONG else int(os.environ.get("FUZZ_EXAMPLES", 200))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
HANG_S = 30  # far beyond what any of these small trees takes

# --- what the import did: every open / listing, per thread, while recording ---------------
_RECORD: dict[int, list] = {}


def _hook(event, args):
    log = _RECORD.get(threading.get_ident())
    if log is not None and event in ("open", "os.scandir", "os.listdir"):
        log.append((event, args))


sys.addaudithook(_hook)  # audit hooks cannot be removed; it records only for threads registered above


def run_recorded(fn, *args):
    """``fn(*args)`` in a thread, bounded in time; returns (result or exception, audit log)."""
    out, log = {}, []

    def target():
        _RECORD[threading.get_ident()] = log
        try:
            out["r"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 — the property says none may escape
            out["e"] = exc
        finally:
            _RECORD.pop(threading.get_ident(), None)
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(HANG_S)
    assert not t.is_alive(), f"{fn.__name__} hung"
    return out, log


def inside(path, root: Path) -> bool:
    p = os.path.abspath(os.fsdecode(path))
    return p == str(root) or p.startswith(str(root) + os.sep)


def check_log(log, stick: Path) -> None:
    for event, args in log:
        path = args[0]
        if isinstance(path, int) or path is None:  # an open file descriptor (fdopen), not a path
            continue
        assert inside(path, stick), f"{event} outside the stick: {path}"
        if event == "open" and args[1] is None and not (args[2] & (os.O_WRONLY | os.O_RDWR)):
            assert args[2] & os.O_NOFOLLOW, f"opened for reading without O_NOFOLLOW: {path}"


def snapshot(root: Path) -> dict:
    """Names, kinds and contents of everything under ``root`` (links not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            kind = stickfiles.lstat_kind(p)
            out[str(p.relative_to(root))] = p.read_bytes() if kind == "file" else (os.readlink(p) if p.is_symlink() else kind)
    return out


# --- the world: a hub with two stations, genuine bundles on and off the stick --------------
class World:
    def __init__(self, base: Path):
        self.base = base
        self.hub, _ = HubHome(base / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS)
        self.station = self._enrol("XX0101")
        self.other = self._enrol("XX0199")
        intake(self.station, 6)
        src = base / "source"
        usb.export_to(self.station, src, max_mb=0.01)
        self.bundles = [p.read_bytes() for p in sorted((src / "XX0101").glob("*.vsb"))]
        intake(self.other, 2, start=500)
        self.outside = base / "outside"
        usb.export_to(self.other, self.outside)  # genuine, enrolled, but off the stick
        (self.outside / "secret.vsb").write_bytes(next((self.outside / "XX0199").glob("*.vsb")).read_bytes())
        (self.outside / "precious.txt").write_text("off the stick")
        # an answer for the station, made by a hub that has seen the station's bundles
        twin = base / "twin"
        shutil.copytree(src, twin)
        import_path(self.hub, twin)
        self.acks = [p.read_bytes() for p in (twin / "XX0101" / usb.ACK_DIR).glob("*.vsb")]
        self.reply = json.dumps({"kind": "enrolment_reply", "format": 2, "hub_id": "JZ01", "station_code": "XX0101"})
        self.outside_before = snapshot(self.outside)

    def _enrol(self, code):
        s, _ = StationHome(self.base / code).init(code, f"{code}村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
        one_time, doc = self.hub.add_station(code, f"{code}村")
        stick = self.base / f"enrol-{code}"
        stick.mkdir()
        (stick / f"enrol-{code}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        enrolment.enroll_file(s, stick / f"enrol-{code}.json", one_time)
        assert import_path(self.hub, stick).enrolled == [code]
        return s

    def close(self):
        self.station.close()
        self.other.close()
        self.hub.store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("usbfuzz"))
    yield w
    w.close()


# --- random trees ---------------------------------------------------------------------
NAMES = st.one_of(
    st.sampled_from(["XX0101", usb.ACK_DIR, "XX0199", "a.vsb", "XX0101-00000001-00000002.vsb", "JZ01-ack-00000009.vsb",
                     "enrol-reply-XX0101.json", "enrol-reply-ZZ.json", "b.vsb.part", ".hidden.vsb", "notes.txt", "x.VSB"]),
    st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=10).filter(lambda n: n not in (".", "..")).map(lambda n: n + ".vsb"),
)
LINK_TARGETS = st.sampled_from(["outside/secret.vsb", "outside/XX0199", "outside", "outside/precious.txt", "/dev/zero",
                                "/dev/null", "nowhere", "..", ".", "self", "sibling", "/", "/proc/self/mem"])
KINDS = st.sampled_from(["random", "bundle", "damaged", "ack", "reply", "json", "dir", "dir", "link", "fifo", "sparse", "empty"])
ENTRY = st.tuples(st.integers(0, 40), NAMES, KINDS, LINK_TARGETS, st.binary(max_size=600), st.integers(0, 10_000))


def build(world: World, stick: Path, entries, folders: list[Path] | None = None) -> None:
    folders = list(folders or [stick])
    for parent_i, name, kind, link, blob, n in entries:
        parent = folders[parent_i % len(folders)]
        path = parent / name
        if os.path.lexists(path):
            continue
        if kind == "dir":
            path.mkdir()
            folders.append(path)
        elif kind == "link":
            target = {"self": path, "sibling": parent / "a.vsb"}.get(link)
            if target is None:
                target = world.base / link if link.startswith("outside") else Path(link) if link.startswith("/") else Path(link)
            path.symlink_to(target)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "sparse":
            with open(path, "wb") as fh:
                fh.truncate(stickfiles.MAX_BUNDLE_FILE + 1 + n)
        else:
            good = world.bundles[n % len(world.bundles)]
            data = {
                "random": blob,
                "bundle": good,
                "damaged": good[: n % (len(good) + 1)] + blob[:8] + good[n % (len(good) + 1) + 8:],
                "ack": world.acks[n % len(world.acks)] if world.acks else blob,
                "reply": world.reply.encode(),
                "json": b"VSB1" + struct.pack(">I", n) + blob,
                "empty": b"",
            }[kind]
            path.write_bytes(data)


def assert_nothing_outside_changed(world: World) -> None:
    assert snapshot(world.outside) == world.outside_before
    assert world.hub.store.station("XX0199")["hwm"] == 0  # the off-stick bundle was never applied
    assert not [r for r in world.hub.store.held("XX0199")]


@FUZZ
@given(entries=st.lists(ENTRY, max_size=14))
def test_township_import_of_any_stick(world, entries):
    stick = Path(tempfile.mkdtemp(dir=world.base, prefix="stick-"))
    try:
        build(world, stick, entries)
        out, log = run_recorded(import_path, world.hub, stick)
        assert "e" not in out, repr(out.get("e"))
        report = out["r"]
        assert all(x["reason"] and x["code"] for x in report.rejected)
        check_log(log, stick)
        assert_nothing_outside_changed(world)
    finally:
        shutil.rmtree(stick)


@FUZZ
@given(entries=st.lists(ENTRY, max_size=14))
def test_station_import_ack_of_any_stick(world, entries):
    stick = Path(tempfile.mkdtemp(dir=world.base, prefix="stick-"))
    try:
        (stick / "XX0101" / usb.ACK_DIR).mkdir(parents=True)  # the answers folder, so the tree grows inside it too
        build(world, stick, entries, [stick / "XX0101" / usb.ACK_DIR, stick / "XX0101", stick])
        out, log = run_recorded(usb.import_acks, world.station, stick)
        assert "e" not in out, repr(out.get("e"))
        check_log(log, stick)
        assert_nothing_outside_changed(world)
    finally:
        shutil.rmtree(stick)

