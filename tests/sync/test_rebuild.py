"""A station rebuilt from the hub: the PC dies or is replaced, the township resets the station, the new
PC enrols and gets back everything the station had delivered; numbering carries on with no gap or skip."""
from __future__ import annotations

import json

from ledgers import infra
from ledgers import service as ledgers
from station.services import attachments, bulletin, cases
from station.services.session import StationHome
from sync import client
from sync.http import HttpTransport
from tests.conftest import make_id
from tests.sync.conftest import ST_PASS, enroll, intake, new_station

TABLES = {
    "cases": "SELECT id, number, resident_id, item_code, status, owner, received_on, due_on FROM cases ORDER BY number",
    "events": "SELECT id, case_id, type, stamp, node, payload FROM events ORDER BY id",
    "residents": "SELECT id, id_number, name, phone FROM residents ORDER BY id",
    "attachments": "SELECT id, case_id, name, sha256, data FROM attachments ORDER BY id",
    "ledger_entries": "SELECT id, program, head_name, amount_fen, prev_hash, hash FROM ledger_entries ORDER BY seq",
    "infra_events": "SELECT id, project_id, type, payload FROM infra_events ORDER BY id",
    "notices": "SELECT id, title, status FROM notices ORDER BY id",
    "objections": "SELECT id, notice_id, who, what FROM objections ORDER BY id",
}


def snapshot(session) -> dict:
    out = {t: session.store.query(sql) for t, sql in TABLES.items()}
    for row in out["events"]:
        row["payload"] = json.loads(row["payload"])
    return out


def _a_working_station(tmp_path, hub):
    s = new_station(tmp_path, hub, "XX0101")
    numbers = intake(s, 3)
    cases.add_event(s, numbers[0], "submitted")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n% a scanned household register\n" * 50)
    attachments.attach(s, numbers[0], scan)
    notice = bulletin.new_notice(s, "公告", "停水通知", "周三停水")
    bulletin.publish(s, notice, "2026-11-20", "2026-11-27")
    bulletin.add_objection(s, notice, "张三", "时间不对")
    infra.create(s, "三组通组路硬化", "财政衔接资金", "120000.00", "某建筑公司")
    rows = [{"head_name": f"王{n}", "id_number": make_id(seq=n), "area": "2.5", "rate": "100", "amount": "250.00"} for n in (1, 2)]
    client.sync_once(s, HttpTransport(hub.url))
    with hub.open() as h:
        h.send_list("XX0101", "subsidy", "种粮一次性补贴", "2026", rows, "种粮补贴.xlsx")
        h.case_event(numbers[0], "accepted_by_township", {})
    client.sync_once(s, HttpTransport(hub.url))
    assert client.pending(s) == 0 and s.store.scalar("SELECT count(*) FROM ledger_entries") == 2
    return s, numbers


def test_a_new_pc_gets_the_station_back_from_the_hub(hub, tmp_path):
    old, numbers = _a_working_station(tmp_path, hub)
    before = snapshot(old)
    with hub.open() as h:
        hwm = h.store.station("XX0101")["hwm"]
        counts = h.store.counts()
    old.close()  # the PC dies

    with hub.open() as h:
        code, _ = h.reset("XX0101")
        assert h.store.station("XX0101")["status"] == "pending"
    new, _ = StationHome(tmp_path / "new-pc").init("XX0101", "XX0101村便民服务站", "zhanzhang", "罗世芬", ST_PASS)
    draft = bulletin.new_notice(new, "公告", "新电脑上写的第一条", "先写了再登记")
    bulletin.publish(new, draft, "2026-11-23", "2026-11-30")  # its outbox starts at 1
    enroll(new, hub, code)
    client.sync_once(new, HttpTransport(hub.url))

    after = snapshot(new)
    for table, rows in before.items():
        restored = after[table] if table != "notices" else [r for r in after[table] if r["id"] != draft]
        assert restored == rows, table
    assert ledgers.verify_chain(new)[1] == []
    assert cases.load(new, numbers[0])[0].status.value == "accepted"
    with hub.open() as h:
        assert h.store.quarantined("XX0101") == []
        assert h.store.record("notice", draft)["title"] == "新电脑上写的第一条"  # the first record was not skipped
        assert h.store.station("XX0101")["hwm"] == hwm + 1
        assert {k: v for k, v in h.store.counts().items() if k != "stations"} == {k: v for k, v in counts.items() if k != "stations"}

    # Numbering continues: the next case is the station's fourth, and reaches the hub; decisions come down.
    nxt = intake(new, 1, start=10)[0]
    assert nxt == "XX0101-2026-000004"
    cases.add_event(new, nxt, "submitted")
    client.sync_once(new, HttpTransport(hub.url))
    with hub.open() as h:
        assert h.store.case(nxt)["status"] == "submitted" and h.store.quarantined("XX0101") == []
        h.case_event(numbers[0], "decided", {"outcome": "approved", "summary": "准予"})
    client.sync_once(new, HttpTransport(hub.url))
    assert cases.load(new, numbers[0])[0].status.value == "decided"
    new.close()


def test_the_same_pc_enrolled_again_loses_nothing_and_duplicates_nothing(hub, tmp_path):
    s, numbers = _a_working_station(tmp_path, hub)
    waiting = intake(s, 2, start=20)  # not yet sent when the township resets the station
    before = snapshot(s)
    with hub.open() as h:
        code, _ = h.reset("XX0101")
    enroll(s, hub, code)
    client.sync_once(s, HttpTransport(hub.url))
    assert client.pending(s) == 0
    after = snapshot(s)
    assert after == before  # everything sent back down was already here: nothing doubled
    with hub.open() as h:
        assert all(h.store.case(n) for n in waiting) and h.store.quarantined("XX0101") == []
    s.close()


def test_a_station_restored_from_a_backup_still_delivers_its_new_records(hub, tmp_path):
    """The backup is older than what the township already has: the restored station numbers its next
    records with numbers the hub has seen. They are different records, and the hub must not drop them."""
    from station.services import backup
    s = new_station(tmp_path, hub, "XX0101")
    intake(s, 2)
    client.sync_once(s, HttpTransport(hub.url))
    (tmp_path / "stick").mkdir()
    made = backup.create(s, tmp_path / "stick")
    later = intake(s, 2, start=2)  # after the backup, delivered, then the disk dies
    client.sync_once(s, HttpTransport(hub.url))
    s.close()
    backup.restore(made.folder, tmp_path / "restored", username="zhanzhang", passphrase=ST_PASS)
    r = StationHome(tmp_path / "restored").unlock("zhanzhang", ST_PASS)
    assert not {c["number"] for c in cases.list_cases(r, limit=10)} & set(later)  # the backup predates them
    note = bulletin.new_notice(r, "公告", "恢复后的第一条", "备份之后")
    bulletin.publish(r, note, "2026-11-23", "2026-11-30")  # numbered as one of the records the hub already has
    client.sync_once(r, HttpTransport(hub.url))
    assert client.pending(r) == 0
    with hub.open() as h:
        assert h.store.record("notice", note)["title"] == "恢复后的第一条"
        assert all(h.store.case(n) for n in later) and h.store.quarantined("XX0101") == []
    r.close()


def test_a_station_behind_the_hub_marks_nothing_delivered_that_it_did_not_send(hub, tmp_path):
    """Restored from an older backup, the station is behind the hub: what it sends under reused numbers
    arrives, what did not fit in the first bundle is renumbered after the hub's mark (never marked
    delivered unsent), and a case number it re-issued before its first sync is set aside, not a crash."""
    import os

    from station.services import backup
    s = new_station(tmp_path, hub, "XX0101")
    first = intake(s, 2)
    client.sync_once(s, HttpTransport(hub.url))
    (tmp_path / "stick").mkdir()
    made = backup.create(s, tmp_path / "stick")
    later = intake(s, 6, start=2)
    client.sync_once(s, HttpTransport(hub.url))
    s.close()
    backup.restore(made.folder, tmp_path / "restored", username="zhanzhang", passphrase=ST_PASS)
    r = StationHome(tmp_path / "restored").unlock("zhanzhang", ST_PASS)
    reissued = intake(r, 1, start=50)[0]  # before any sync: the old PC had already used this number
    assert reissued == later[0]
    own = first[0]  # a case both sides have
    scans = []
    for n in range(3):  # 3 × 4 MiB of incompressible scans: more than one bundle carries
        path = tmp_path / f"scan{n}.pdf"
        path.write_bytes(b"%PDF-1.4\n" + os.urandom(4 * 1024 * 1024))
        scans.append(attachments.attach(r, own, path)["attachment_id"])
    client.sync_once(r, HttpTransport(hub.url))
    assert client.pending(r) == 0
    with hub.open() as h:
        assert all(h.store.record("attachment", a) for a in scans)
        assert h.store.case(reissued)["id"] != cases.load(r, reissued)[0].id  # the hub kept the old PC's case
        reasons = [q["reason"] for q in h.store.quarantined("XX0101")]
        assert reasons and "已被本站另一件使用" in reasons[0], reasons  # the re-issued case, set aside and visible
        top = h.store.top_number("XX0101")
    nxt = intake(r, 1, start=70)[0]
    assert nxt > top  # after a sync the station numbers its cases after the hub's highest
    client.sync_once(r, HttpTransport(hub.url))
    with hub.open() as h:
        assert h.store.case(nxt)["station"] == "XX0101"
        code, _ = h.reset("XX0101")  # the README's remedy: get back what the old PC had delivered
    enroll(r, hub, code)
    client.sync_once(r, HttpTransport(hub.url))  # the old PC's case under the re-issued number cannot land here
    assert {c["number"] for c in cases.list_cases(r, limit=50)} >= set(later)  # the rest came back
    clash = [q["reason"] for q in r.store.query("SELECT reason FROM sync_quarantine")]
    assert any("冲突" in q for q in clash), clash
    r.close()


def test_after_a_restore_an_edit_under_a_reused_number_arrives_and_a_replay_rolls_nothing_back(hub, tmp_path):
    """Restored from an older backup, the station's first bundle reuses numbers the hub has seen: an
    edit of a resident the hub already has must still arrive, and replaying that captured bundle
    after a later correction must not roll the resident back."""
    from station.services import backup, residents
    s = new_station(tmp_path, hub, "XX0101")
    intake(s, 1)
    client.sync_once(s, HttpTransport(hub.url))
    rid, idn = s.store.one("SELECT id, id_number FROM residents").values()
    (tmp_path / "stick").mkdir()
    made = backup.create(s, tmp_path / "stick")
    residents.register(s, {"id_number": make_id(seq=55), "name": "另一人"})  # the old PC's next number: another resident
    client.sync_once(s, HttpTransport(hub.url))
    s.close()
    backup.restore(made.folder, tmp_path / "restored", username="zhanzhang", passphrase=ST_PASS)
    r = StationHome(tmp_path / "restored").unlock("zhanzhang", ST_PASS)

    class Recorder(HttpTransport):
        sent: list[bytes] = []

        def push(self, data: bytes) -> bytes:
            self.sent.append(data)
            return super().push(data)
    rec = Recorder(hub.url)
    residents.register(r, {"id_number": idn, "name": "村民0", "phone": "13700000000"})  # same resident, reused number
    client.sync_once(r, rec)
    residents.register(r, {"id_number": idn, "name": "村民0", "phone": "13811112222"})  # corrected
    client.sync_once(r, rec)

    def phone():
        with hub.open() as h:
            return h.store.record("resident", rid)["phone"]
    assert phone() == "13811112222"
    HttpTransport(hub.url).push(rec.sent[0])  # the first captured bundle, replayed (still validly signed)
    assert phone() == "13811112222"
    r.close()
