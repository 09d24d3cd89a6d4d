"""The 九个一 bulletin: checklist, notices with posting periods, objections, postings, sync."""
from __future__ import annotations

import re
import subprocess
from datetime import date

import pytest

from printouts.render import render
from station.errors import IllegalTransition, ValidationFailed
from station.services import bulletin
from tests.conftest import make_id


def missing(session) -> list[str]:
    return [i.key for i in bulletin.check(session) if not i.ok]


def test_checklist_reflects_what_is_missing(session):
    assert set(missing(session)) == {"room", "ledger", "phone", "clerks", "board", "one_stop"}
    bulletin.set_profile(session, address="石板村村委会一楼", hours="周一至周五 8:30-17:30", one_stop="村级事项当场办结")
    bulletin.set_profile(session, phone="0851-33001234")
    assert "phone" not in missing(session) and "room" not in missing(session)
    rules = dict(bulletin.profile(session)["rules"], 限时办结制="")
    bulletin.set_profile(session, rules=rules)
    assert "rules" in missing(session)  # taking a rule away shows at once
    with pytest.raises(ValidationFailed):
        bulletin.set_profile(session, phone="12345")
    from station.services import settings
    assert settings.station_phone(session) == "0851-33001234"  # receipts print the profile's phone


def test_no_publishing_without_a_posting_period(session, today):
    nid = bulletin.new_notice(session, "公告", "关于冬季防火的通知", "请各户注意用火安全。")
    with pytest.raises(ValidationFailed, match="缺少公示期"):
        bulletin.publish(session, nid)
    with pytest.raises(ValidationFailed, match="公示期有误"):
        bulletin.publish(session, nid, "2026-11-26", "2026-11-20")
    bulletin.edit_notice(session, nid, body="请各户注意用火、用电安全。")
    n = bulletin.publish(session, nid, "2026-11-20", "2026-11-26")
    assert n["status"] == "published" and "board" not in missing(session)
    with pytest.raises(IllegalTransition):
        bulletin.edit_notice(session, nid, title="改标题")


def test_objection_must_be_answered_before_archiving(session, today):
    nid = bulletin.new_notice(session, "公示", "2026年度高龄津贴发放对象公示", "名单见附表。")
    bulletin.publish(session, nid, "2026-11-20", "2026-11-26")
    with pytest.raises(IllegalTransition, match="公示期内"):
        bulletin.add_objection(session, nid, "张某", "名单有误", on="2026-11-27")
    oid = bulletin.add_objection(session, nid, "张某(三组)", "李某某年龄不足80周岁")
    today.day = date(2026, 11, 27)  # the posting period is over
    with pytest.raises(IllegalTransition, match="未答复"):
        bulletin.archive(session, nid)
    assert bulletin.board(session)["ended"][0]["open_objections"] == 1
    bulletin.answer_objection(session, oid, "经核实李某某1946年出生,符合条件,已电话告知张某")
    bulletin.archive(session, nid)
    assert bulletin.board(session)["archived"][0]["objections"] == 1


def test_posting_from_a_ledger_masks_every_number(session, tmp_path):
    from ledgers import service
    from ledgers.posting import draft_notice
    from tests.ledgers.test_ledgers import row, xlsx
    service.import_file(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 21)]), "subsidy", "耕地地力保护补贴", "2026")
    nid = draft_notice(session, "subsidy", "耕地地力保护补贴", "2026")
    n = bulletin.notice(session, nid)
    assert len(n["posting"]["rows"]) == 20
    stored = str(n)
    for k in range(1, 21):
        assert make_id(seq=k) not in stored and f"62170000{k:011d}" not in stored
    bulletin.publish(session, nid, "2026-11-20", "2026-11-26")
    pdf = tmp_path / "board.pdf"
    pdf.write_bytes(render(session, "board", nid).pdf)
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout)
    assert "王7" in text and "公示期:2026-11-20至2026-11-26" in text
    for k in range(1, 21):
        assert make_id(seq=k) not in text and f"62170000{k:011d}" not in text
    poster = tmp_path / "poster.pdf"
    poster.write_bytes(render(session, "poster").pdf)
    assert "首问负责制" in subprocess.run(["pdftotext", str(poster), "-"], capture_output=True, text=True).stdout


def test_board_goes_up_and_township_notices_come_down(session, tmp_path):
    from sync import client, enrolment
    from sync.hub.service import HubHome
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    code, _ = hub.add_station(session.station_code, session.station_name)
    enrolment.enroll_online(session, code, hub, "local")
    nid = bulletin.new_notice(session, "公告", "村民代表会议通知", "11月25日晚7点在村委会召开。")
    bulletin.publish(session, nid, "2026-11-20", "2026-11-25")
    oid = bulletin.add_objection(session, nid, "王某", "时间与赶集冲突")
    hub.publish_notice("公告", "关于开展城乡居民医保集中缴费的通知", "缴费截止12月31日。", "2026-11-20", "2026-12-31")

    class Local:
        def push(self, data):
            return hub.receive(data)
    client.sync_once(session, Local())
    assert hub.store.s.scalar("SELECT count(*) FROM notices") == 1 and hub.store.s.scalar("SELECT count(*) FROM objections") == 1
    titles = [r["title"] for r in bulletin.board(session)["current"]]
    assert "关于开展城乡居民医保集中缴费的通知" in titles and "村民代表会议通知" in titles
    bulletin.answer_objection(session, oid, "改到11月26日晚")
    client.sync_once(session, Local())
    import json
    assert json.loads(hub.store.s.scalar("SELECT data FROM objections"))["answer"] == "改到11月26日晚"
    hub.store.close()
