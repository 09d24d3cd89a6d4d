"""Bulk decisions at the township: the queue out as an .xlsx template, decisions back in, checked row
by row; all-or-nothing or valid-only; the decisions reach the stations by the ordinary USB exchange.
A real hub store filled by real bundles from two stations."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import openpyxl
import pytest

from station.services import cases
from sync import usb
from sync.hub.decisions import ACTION, HEADERS, NUMBER, REASON, SHEET, DecisionsRefused, check_decisions, export_queue, import_decisions
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.sync.conftest import HUB_PASS, ROOT, intake
from tests.sync.test_usb import usb_station


@pytest.fixture
def hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)
    yield h
    h.store.close()


@pytest.fixture
def two_stations(hub, tmp_path):
    """Stations XX0101 and XX0102, three submitted cases each, carried to the hub on a stick."""
    stations = {}
    for code in ("XX0101", "XX0102"):
        s = usb_station(tmp_path, hub, code)
        numbers = intake(s, 3, start=10 * len(stations))
        for n in numbers:
            cases.add_event(s, n, "submitted")
        stations[code] = (s, numbers)
    stick = tmp_path / "stick"
    for s, _ in stations.values():
        usb.export_to(s, stick)
    assert not import_path(hub, stick).rejected
    yield stations, stick
    for s, _ in stations.values():
        s.close()


def fill(path, decisions: dict[str, tuple[str, str]], edit=None) -> None:
    """Staff fill in 处理 and 理由 for some case numbers, as in Excel."""
    book = openpyxl.load_workbook(path)
    sheet = book[SHEET]
    cols = {c.value: c.column for c in sheet[1]}
    for row in sheet.iter_rows(min_row=2):
        number = row[cols[NUMBER] - 1].value
        if number in decisions:
            action, reason = decisions[number]
            sheet.cell(row[0].row, cols[ACTION], action)
            sheet.cell(row[0].row, cols[REASON], reason)
    if edit:
        edit(sheet, cols)
    book.save(path)


def statuses(hub, numbers) -> dict[str, str]:
    return {n: hub.store.case(n)["status"] for n in numbers}


def test_export_lists_waiting_cases_oldest_due_first_with_the_applicant_masked(hub, two_stations, tmp_path):
    stations, _ = two_stations
    a, a_numbers = stations["XX0101"]
    cases.add_event(a, a_numbers[0], "withdrawn", {"reason": "群众不办了"})  # not waiting: left out once it arrives
    usb.export_to(a, tmp_path / "stick2")
    import_path(hub, tmp_path / "stick2")
    path = tmp_path / "queue.xlsx"
    assert export_queue(hub, path) == 5
    sheet = openpyxl.load_workbook(path)[SHEET]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert tuple(rows[0]) == HEADERS
    numbers = [r[0] for r in rows[1:]]
    assert set(numbers) == set(a_numbers[1:] + stations["XX0102"][1])
    due = [(hub.store.case(n)["due_on"], hub.store.case(n)["received_on"], n) for n in numbers]
    assert due == sorted(due)
    ids = [json.loads(hub.store.s.scalar("SELECT data FROM residents WHERE id = ?", (hub.store.case(n)["resident_id"],)))
           for n in numbers]
    for r, resident in zip(rows[1:], ids, strict=True):
        assert resident["name"] in r[3] and resident["id_number"] not in r[3] and resident["id_number"][-4:] in r[3]
    assert all(r[7] in (None, "") and r[8] in (None, "") for r in rows[1:])
    assert export_queue(hub, tmp_path / "one.xlsx", station="xx0102") == 3


def test_one_bad_row_all_mode_applies_nothing_valid_only_applies_the_rest_and_they_reach_the_station(hub, two_stations, tmp_path):
    stations, stick = two_stations
    (a, an), (b, bn) = stations["XX0101"], stations["XX0102"]
    path = tmp_path / "queue.xlsx"
    export_queue(hub, path)
    fill(path, {an[0]: ("准予", "符合条件"), an[1]: ("退回补正", "缺户口簿复印件"), an[2]: ("不予", ""),  # no reason: bad
                bn[0]: ("受理", ""), bn[2]: ("不予", "不符合参保条件")})
    report = check_decisions(hub, path)
    assert report.error_count == 1 and len(report.valid) == 4 and report.blank == 1
    bad = report.errors[0]
    reason_col = openpyxl.utils.get_column_letter(HEADERS.index(REASON) + 1)
    row_of = {r[0].value: r[0].row for r in openpyxl.load_workbook(path)[SHEET].iter_rows(min_row=2)}
    assert (bad["sheet"], bad["row"], bad["column"], bad["number"]) == (SHEET, row_of[an[2]], reason_col, an[2])
    assert "理由" in bad["message"]
    every = an + bn
    before, events_before = statuses(hub, every), hub.store.counts()["events"]
    with pytest.raises(DecisionsRefused) as refused:
        import_decisions(hub, path, "all", user="wangjb")
    assert refused.value.report.error_count == 1 and f"第 {row_of[an[2]]} 行 {reason_col} 列" in str(refused.value)
    assert statuses(hub, every) == before and hub.store.counts()["events"] == events_before
    report = import_decisions(hub, path, "valid", user="wangjb")
    assert report.applied == 4
    assert statuses(hub, every) == {an[0]: "decided", an[1]: "returned", an[2]: "submitted",
                                    bn[0]: "accepted", bn[1]: "submitted", bn[2]: "decided"}
    audit = hub.store.s.query("SELECT user, action, target FROM audit WHERE action LIKE 'case.%' ORDER BY seq")
    assert {(r["user"], r["action"], r["target"]) for r in audit} >= {
        ("wangjb", "case.decided", an[0]), ("wangjb", "case.returned_for_correction", an[1]),
        ("wangjb", "case.accepted_by_township", bn[0]), ("wangjb", "case.decided", bn[2]),
        ("wangjb", "case.import_decisions", "queue.xlsx")}
    assert hub.user == "admin"  # the importing user was for this import only
    # The same file again: what was applied is no longer allowed (already decided), nothing doubles.
    again = check_decisions(hub, path)
    assert {e["code"] for e in again.errors} == {"illegal_transition", "reason_required"}
    # Down to the stations by the stick: the next exchange brings the decisions back.
    for s in (a, b):
        usb.export_to(s, stick)
    import_path(hub, stick)
    assert usb.import_acks(a, stick).applied and usb.import_acks(b, stick).applied
    state = cases.load(a, an[0])[0]
    assert (state.status.value, state.decision, state.decision_summary) == ("decided", "approved", "符合条件")
    assert cases.load(a, an[1])[0].returned_reason == "缺户口簿复印件"
    assert cases.load(b, bn[0])[0].status.value == "accepted"
    assert (cases.load(b, bn[2])[0].decision, cases.load(b, bn[2])[0].decision_summary) == ("rejected", "不符合参保条件")


def test_each_kind_of_bad_row_is_named_by_sheet_row_and_column(hub, two_stations, tmp_path):
    stations, _ = two_stations
    an, bn = stations["XX0101"][1], stations["XX0102"][1]
    hub.case_event(bn[1], "accepted_by_township", {})
    path = tmp_path / "queue.xlsx"
    export_queue(hub, path)

    def edit(sheet, cols):
        last = sheet.max_row
        sheet.cell(last + 1, cols[NUMBER], "XX0101-2099-99999")  # no such case
        sheet.cell(last + 1, cols[ACTION], "准予")
        sheet.cell(last + 2, cols[NUMBER], 20260001)  # Excel turned the number into a number
        sheet.cell(last + 2, cols[ACTION], "准予")
        sheet.cell(last + 3, cols[NUMBER], an[1])  # the same case twice
        sheet.cell(last + 3, cols[ACTION], "受理")
        sheet.cell(last + 4, cols[ACTION], "受理")  # the case number deleted
    fill(path, {an[0]: ("同意", ""), an[1]: ("准予", "可以"), bn[0]: ("退回补正", "缺材料"),
                bn[1]: ("受理", "")}, edit)  # bn[1] was accepted already: 受理 not allowed now
    report = check_decisions(hub, path)
    codes = {(e["code"], e["column"]) for e in report.errors}
    a_col = openpyxl.utils.get_column_letter(HEADERS.index(NUMBER) + 1)
    h_col = openpyxl.utils.get_column_letter(HEADERS.index(ACTION) + 1)
    assert codes == {("bad_action", h_col), ("duplicate", a_col), ("illegal_transition", h_col), ("unknown_case", a_col),
                     ("number_lost", a_col)}
    assert sum(e["code"] == "duplicate" for e in report.errors) == 2 and sum(e["code"] == "number_lost" for e in report.errors) == 2
    assert [d["number"] for d in report.valid] == [bn[0]]
    assert all(e["sheet"] == SHEET for e in report.errors)


def test_moved_columns_and_a_title_row_still_read(hub, two_stations, tmp_path):
    stations, _ = two_stations
    an = stations["XX0101"][1]
    path = tmp_path / "queue.xlsx"
    export_queue(hub, path)

    def edit(sheet, cols):
        sheet.move_range(f"H1:I{sheet.max_row}", cols=3)  # 处理 and 理由 moved right, past a gap
        sheet.insert_rows(1)
        sheet.cell(1, 1, "旧州镇待办处理表")
    fill(path, {an[0]: ("准予", "符合条件")}, edit)
    report = check_decisions(hub, path)
    assert report.header_row == 2 and report.error_count == 0 and [d["number"] for d in report.valid] == [an[0]]


def test_the_cli_unlocks_once_and_reports(hub, two_stations, tmp_path):
    stations, _ = two_stations
    an, bn = stations["XX0101"][1], stations["XX0102"][1]
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    township = [sys.executable, "-m", "sync.hub.cli", "case"]
    path = tmp_path / "queue.xlsx"
    r = subprocess.run([*township, "export-queue", str(path), "--data-dir", str(tmp_path / "hub")], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "6 件" in r.stdout, r.stderr
    fill(path, {an[0]: ("准予", "符合条件"), an[1]: ("不予", ""), bn[0]: ("受理", "")})
    r = subprocess.run([*township, "import-decisions", str(path), "--data-dir", str(tmp_path / "hub")], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "未记录任何处理结果" in r.stdout and "Traceback" not in r.stderr
    assert statuses(hub, [an[0], bn[0]]) == {an[0]: "submitted", bn[0]: "submitted"}
    r = subprocess.run([*township, "import-decisions", str(path), "--valid-only", "--json", "--data-dir",
                        str(tmp_path / "hub")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["applied"] == 2 and out["error_count"] == 1 and out["errors"][0]["code"] == "reason_required"
    assert statuses(hub, [an[0], an[1], bn[0]]) == {an[0]: "decided", an[1]: "submitted", bn[0]: "accepted"}


def test_a_file_that_is_not_the_template_is_refused_whole(hub, two_stations, tmp_path):
    from station.errors import ValidationFailed
    path = tmp_path / "queue.xlsx"
    export_queue(hub, path)

    def drop_action(sheet, cols):
        sheet.cell(1, cols[ACTION], "备注")  # the 处理 header renamed
    fill(path, {}, drop_action)
    with pytest.raises(ValidationFailed, match="缺少必需的列") as refused:
        check_decisions(hub, path)
    assert "处理" in str(refused.value)
    other = tmp_path / "other.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["姓名", "金额"])
    book.active.append(["村民甲", 100])
    book.save(other)
    with pytest.raises(ValidationFailed, match="不是待办处理表"):
        import_decisions(hub, other, "valid")
    assert hub.store.s.scalar("SELECT count(*) FROM audit WHERE action = 'case.import_decisions'") == 0
