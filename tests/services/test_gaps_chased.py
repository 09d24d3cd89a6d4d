"""容缺 chased: when the promised date passes without the materials the case is listed for 今日, a
补正通知 can be printed (read back with pdftotext), and delivering or withdrawing it asks for a
confirmation that is recorded with the event."""
import subprocess
from datetime import date

import pytest

from printouts.render import render
from station.errors import IllegalTransition, ValidationFailed
from station.services import cases
from tests.conftest import intake_doc

GAPS = ["家庭成员收入证明", "残疾证或重大疾病诊断证明", "本人银行卡(社保卡)"]


def gap_case(session, today) -> str:
    today.day = date(2026, 11, 2)
    doc = intake_doc(materials_received=["申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书"],
                     accept_with_gaps={"promised_date": "2026-11-09"})
    return cases.intake(session, doc)["number"]


def pdf_text(pdf: bytes, tmp_path) -> str:
    f = tmp_path / "doc.pdf"
    f.write_bytes(pdf)
    return "".join(subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout.split())


def test_overdue_gap_listed_and_cleared_when_the_materials_come(session, today):
    n = gap_case(session, today)
    cases.add_event(session, n, "submitted")
    today.day = date(2026, 11, 9)
    assert cases.overdue_gaps(session) == []  # the promised day itself is still in time
    today.day = date(2026, 11, 10)
    [row] = cases.overdue_gaps(session)
    assert row["number"] == n and row["gap_promise"] == date(2026, 11, 9) and row["missing"] == GAPS
    # brought late, after submission: only 容缺 materials may be added now
    with pytest.raises(IllegalTransition, match="不能补交材料"):
        cases.add_event(session, n, "materials_added", {"materials": ["户口簿"]})
    cases.add_event(session, n, "materials_added", {"materials": GAPS})
    assert cases.overdue_gaps(session) == []


def test_correction_notice_printed_only_when_overdue(session, today, tmp_path):
    n = gap_case(session, today)
    with pytest.raises(ValidationFailed, match="无需补正通知"):
        render(session, "correction", n)
    today.day = date(2026, 11, 12)
    text = pdf_text(render(session, "correction", n).pdf, tmp_path)
    assert "补正通知" in text and n in text and "2026-11-09" in text and "已逾期3天" in text
    for m in GAPS:
        assert m in text
    assert "户口簿" not in text  # only what is still missing


def test_closing_a_case_with_gaps_asks_for_confirmation_and_records_it(session, today):
    n = gap_case(session, today)
    for etype, payload in [("submitted", {}), ("accepted_by_township", {}), ("decided", {"outcome": "approved", "summary": "准予"})]:
        cases.add_event(session, n, etype, payload)
    today.day = date(2026, 11, 12)
    assert [r["number"] for r in cases.overdue_gaps(session)] == [n]  # decided, not yet delivered: still chased
    with pytest.raises(ValidationFailed) as exc:
        cases.add_event(session, n, "result_delivered", {"method": "当面领取"})
    assert exc.value.details[0].code == "gap_unconfirmed" and "家庭成员收入证明" in exc.value.details[0].message
    assert cases.load(session, n)[0].status.value == "decided"
    state = cases.add_event(session, n, "result_delivered", {"method": "当面领取", "gap_confirmed": True})
    delivered = cases.load(session, n)[1][-1]
    assert state.status.value == "delivered" and delivered.payload["gap_confirmed"] is True and delivered.payload["gap_missing"] == GAPS
    assert cases.overdue_gaps(session) == []


def test_no_confirmation_needed_or_kept_without_gaps(session, today):
    n = cases.intake(session, intake_doc())["number"]
    state = cases.add_event(session, n, "withdrawn", {"reason": "本人撤回", "gap_confirmed": True})
    assert state.status.value == "withdrawn" and "gap_confirmed" not in cases.load(session, n)[1][-1].payload
