"""Monthly statistics at the township, over a hub store filled by real bundles from two stations,
checked against counts computed here, independently, from the stations' own case events."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import openpyxl
import pytest

from station.core.rules import DEFAULT_RULES
from station.core.workdays import WorkCalendar
from station.services import cases
from sync import client, usb
from sync.hub import stats
from sync.hub.service import HubHome
from sync.hub.usb import import_path
from tests.conftest import make_id
from tests.sync.conftest import HUB_PASS, ROOT
from tests.sync.test_usb import usb_station

MONTH, FIRST, LAST = "2026-10", date(2026, 10, 1), date(2026, 10, 31)
FOLLOW_UP = {"verification": "已核实", "rectification": "已整改", "revisit": "已回访"}


@pytest.fixture
def hub(tmp_path, hub_db):
    h, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)
    yield h
    h.store.close()


def d(text: str) -> date:
    return date.fromisoformat("2026-" + text)


def receive(s, on: str, i: int) -> str:
    number = cases.intake(s, {"resident": {"id_number": make_id(seq=i + 1), "name": f"村民{i}"}, "item": "SB-001",
                              "received_on": d(on).isoformat(),
                              "materials_received": ["申请人居民身份证", "户口簿", "城乡居民基本养老保险参保登记表"]})["number"]
    cases.add_event(s, number, "submitted", {"on": d(on).isoformat()})
    return number


class Direct:
    """The hub in this process as a station's transport: real bundles, sealed and opened, no HTTP."""

    def __init__(self, hub):
        self.hub = hub

    def push(self, data: bytes) -> bytes:
        return self.hub.receive(data)


def exchange(hub, stations, stick) -> None:
    """One round: the stations' records to the township by stick, then a sync brings the answers back."""
    for s in stations:
        usb.export_to(s, stick)
    assert not import_path(hub, stick).rejected
    for s in stations:
        client.sync_once(s, Direct(hub))


@pytest.fixture
def october(hub, tmp_path):
    """Cases at two stations through October 2026 (SB-001: two working days), on dates that make every
    figure non-trivial: in time and late, overdue at month end, ratings good and bad, follow-ups in
    time and late, a withdrawal, cases from September and November."""
    a, b = usb_station(tmp_path, hub, "XX0101"), usb_station(tmp_path, hub, "XX0102")
    plan_a = {"a1": ("10-12", ("decided", "10-13", "approved")), "a2": ("10-12", ("decided", "10-20", "rejected")),
              "a3": ("10-19", None), "a4": ("10-13", ("decided", "10-15", "approved")), "a5": ("10-14", ("decided", "10-14", "approved")),
              "a6": ("10-14", ("decided", "10-15", "approved")), "a7": ("09-28", ("decided", "10-09", "approved")),
              "a8": ("11-02", ("decided", "11-03", "approved")), "a9": ("10-20", None)}
    plan_b = {"b1": ("10-12", ("decided", "10-13", "approved")), "b2": ("10-26", None), "b3": ("09-29", ("decided", "11-03", "rejected"))}
    numbers = {}
    for s, plan in ((a, plan_a), (b, plan_b)):
        for i, (key, (on, _)) in enumerate(plan.items()):
            numbers[key] = receive(s, on, i + (0 if s is a else 50))
    cases.add_event(a, numbers["a9"], "withdrawn", {"reason": "群众不办了", "on": d("10-21").isoformat()})
    exchange(hub, (a, b), tmp_path / "stick")
    hub.case_event(numbers["a4"], "accepted_by_township", {}, today=d("10-14"))
    for key, (_, step) in {**plan_a, **plan_b}.items():
        if step:
            hub.case_event(numbers[key], "decided", {"outcome": step[2], "summary": "经审核"}, today=d(step[1]))
    exchange(hub, (a, b), tmp_path / "stick")
    for key, delivered, rated, level, closed in (("a4", "10-16", "10-16", 1, "10-19"), ("a5", "10-15", "10-15", 5, None),
                                                 ("a6", "10-15", "10-16", 2, "10-30"), ("b1", "10-14", "10-14", 4, None),
                                                 ("a1", "10-14", "11-02", 3, None)):
        s = a if key.startswith("a") else b
        cases.add_event(s, numbers[key], "result_delivered", {"method": "当面领取", "on": d(delivered).isoformat()})
        cases.add_event(s, numbers[key], "rated", {"level": level, "on": d(rated).isoformat(),
                                                   **({"reason_category": "办理时间长"} if level <= 2 else {})})
        if closed:
            cases.add_event(s, numbers[key], "follow_up_closed", {**FOLLOW_UP, "on": d(closed).isoformat()})
    exchange(hub, (a, b), tmp_path / "stick")
    yield {"XX0101": a, "XX0102": b}, numbers
    a.close()
    b.close()


def expected(session, calendar: WorkCalendar) -> dict:
    """The figures, counted here from the station's own events (its store, not the hub's)."""
    out = {"received": 0, "decided": 0, "closed_in_time": 0, "overdue": 0, "workdays": [], "ratings": {lv: 0 for lv in range(1, 6)},
           "follow_ups": 0, "follow_ups_in_time": 0}
    for row in session.store.query("SELECT number FROM cases"):
        state, events = cases.load(session, row["number"])
        on = {e.type.value: date.fromisoformat(e.payload["on"]) for e in events if "on" in e.payload}
        received = state.received_on
        out["received"] += FIRST <= received <= LAST
        decided = on.get("decided")
        if decided and FIRST <= decided <= LAST:
            out["decided"] += 1
            out["closed_in_time"] += decided <= state.due_on
            out["workdays"].append(calendar.workdays_between(received, decided))
        closed = min([x for x in (decided, on.get("withdrawn")) if x], default=None)
        out["overdue"] += received <= LAST and state.due_on < LAST and (closed is None or closed > LAST)
        rated = on.get("rated")
        if rated and FIRST <= rated <= LAST:
            out["ratings"][state.rating] += 1
            if state.rating <= 2:
                out["follow_ups"] += 1
                fixed = on.get("follow_up_closed")
                # 整改 due by the rules the station rated under (the national defaults here)
                out["follow_ups_in_time"] += fixed is not None and fixed <= calendar.add_workdays(rated, DEFAULT_RULES.rectify_workdays).due
    return out


def test_monthly_figures_match_counts_from_the_stations_own_events(hub, october):
    sessions, _ = october
    rows = {r["station"]: r for r in stats.monthly(hub, MONTH, today=date(2026, 11, 23))}
    assert set(rows) == {"XX0101", "XX0102"}
    for code, s in sessions.items():
        want, got = expected(s, WorkCalendar()), rows[code]
        assert {k: got[k] for k in ("received", "decided", "closed_in_time", "overdue", "follow_ups", "follow_ups_in_time")} == \
               {k: want[k] for k in ("received", "decided", "closed_in_time", "overdue", "follow_ups", "follow_ups_in_time")}
        assert got["ratings"] == want["ratings"]
        assert got["avg_workdays"] == round(sum(want["workdays"]) / len(want["workdays"]), 1)
        rated = sum(want["ratings"].values())
        assert got["bad_pct"] == (round(100 * (want["ratings"][1] + want["ratings"][2]) / rated, 1) if rated else None)
    # The scenario, so the comparison above is not between two zeros.
    a, b = rows["XX0101"], rows["XX0102"]
    assert (a["received"], a["decided"], a["closed_in_time"], a["decided_late"], a["overdue"], a["withdrawn"]) == (7, 6, 4, 2, 1, 1)
    assert (b["received"], b["decided"], b["overdue"]) == (2, 1, 2)
    # a6's 整改 closed 10-30, inside the rules' 15 working days from its 10-16 rating (due 11-06)
    assert (a["ratings"], a["follow_ups"], a["follow_ups_in_time"], a["bad_pct"]) == ({5: 1, 4: 0, 3: 0, 2: 1, 1: 1}, 2, 2, 66.7)
    total = stats.total(list(rows.values()))
    assert (total["received"], total["decided"], total["closed_in_time_pct"]) == (9, 7, round(100 * 5 / 7, 1))
    one = stats.monthly(hub, MONTH, station="xx0102", today=date(2026, 11, 23))
    assert [r["station"] for r in one] == ["XX0102"] and one[0]["decided"] == 1


def test_a_month_in_progress_counts_overdue_up_to_today(hub, october):
    day = date(2026, 10, 16)
    rows = {r["station"]: r for r in stats.monthly(hub, MONTH, today=day)}
    want = 0
    for row in october[0]["XX0101"].store.query("SELECT number FROM cases"):
        state, events = cases.load(october[0]["XX0101"], row["number"])
        on = {e.type.value: date.fromisoformat(e.payload["on"]) for e in events if "on" in e.payload}
        closed = min([x for x in (on.get("decided"), on.get("withdrawn")) if x], default=None)
        want += state.received_on <= day and state.due_on < day and (closed is None or closed > day)
    # a2 alone: due 10-14, decided only on 10-20; a3 and a9 were not yet received, the rest closed in time
    assert rows["XX0101"]["overdue"] == want == 1


def test_xlsx_pdf_and_cli(hub, october, tmp_path):
    rows = stats.monthly(hub, MONTH, today=date(2026, 11, 23))
    stats.to_xlsx(rows, tmp_path / "m.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "m.xlsx").active
    table = [[c.value for c in r] for r in sheet.iter_rows()]
    assert table[0][:3] == ["服务站", "收件", "办结"] and len(table) == 4 and table[3][0] == "合计"
    assert table[1][1:3] == [rows[0]["received"], rows[0]["decided"]] and table[3][1] == 9
    pages = stats.to_pdf(rows, tmp_path / "m.pdf", "旧州镇便民服务中心", "admin", date(2026, 11, 23))
    assert pages == 1
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "m.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "便民服务月度统计" in text and "2026年10月" in text and "旧州镇便民服务中心" in text
    line = next(ln for ln in text.splitlines() if "XX0101" in ln)
    assert line.split()[3:9] == ["7", "6", "4", "66.7", "1", str(rows[0]["avg_workdays"])]
    assert "合计" in text and "负责人" in text
    env = {**os.environ, "TOWNSHIP_PASSPHRASE": HUB_PASS, "TOWNSHIP_USER": "admin"}
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "stats", "--month", MONTH, "--xlsx", str(tmp_path / "c.xlsx"),
                        "--pdf", str(tmp_path / "c.pdf"), "--data-dir", str(tmp_path / "hub")], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "XX0101" in r.stdout and "合计" in r.stdout and (tmp_path / "c.xlsx").exists() and (tmp_path / "c.pdf").exists()
    r = subprocess.run([sys.executable, "-m", "sync.hub.cli", "stats", "--month", "2026-13", "--data-dir", str(tmp_path / "hub")],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "年-月" in r.stderr and "Traceback" not in r.stderr
