"""Ledgers on real spreadsheets: validation report, idempotent import, locks, corrections, totals."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgers import service, sheets
from ledgers.rules import guess_mapping
from station.core.money import to_fen
from station.errors import PermissionDenied, ValidationFailed
from tests.conftest import make_id

HEADERS = ["序号", "户主姓名", "身份证号码", "村民小组", "面积(亩)", "补贴标准(元/亩)", "补贴金额(元)", "一卡通账号", "联系电话"]


def xlsx(path: Path, rows: list[list], headers=HEADERS) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def gbk_csv(path: Path, rows: list[list], headers=HEADERS) -> Path:
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


def row(n: int, area="3.25", rate="125.8", amount=None, id_number=None, card=None, name=None):
    amount = amount if amount is not None else str((Decimal(area) * Decimal(rate)).quantize(Decimal("0.01")))
    return [n, name or f"王{n}", id_number or make_id(seq=n), f"{n % 8 + 1}组", area, rate, amount,
            card or f"62170000{n:011d}", f"1380000{n:04d}"]


def imp(session, path, **kw):
    return service.import_file(session, path, kw.pop("ledger", "subsidy"), kw.pop("program", "耕地地力保护补贴"),
                               kw.pop("period", "2026"), **kw)


def test_headers_are_guessed_and_can_be_corrected(session, tmp_path):
    assert guess_mapping(["户主", "公民身份号码", "组别", "发放金额"]) == {"head_name": 0, "id_number": 1, "village_group": 2, "amount": 3}
    odd = ["甲", "乙", "丙"]
    path = xlsx(tmp_path / "odd.xlsx", [["张三", make_id(), "100.00"]], headers=odd)
    with pytest.raises(ValidationFailed, match="找不到必需的列"):
        imp(session, path, dry_run=True)
    report = imp(session, path, dry_run=True, overrides={"head_name": "甲", "id_number": "乙", "amount": "丙"})
    assert report.valid == 1 and report.mapping == {"head_name": "甲", "id_number": "乙", "amount": "丙"}


def test_every_validation_rule_is_reported_with_its_row(session, tmp_path):
    bad_id = make_id(seq=9)[:-1] + ("0" if make_id(seq=9)[-1] != "0" else "1")
    rows = [row(1), row(2, amount="500.00"), row(3, id_number=bad_id), row(4, id_number=make_id(seq=1)),
            row(5, amount="-12.00"), row(6, amount="9999999.00"), [7, "", make_id(seq=7), "1组", "", "", ""],
            row(8, card="12AB"), row(9, area="abc", amount="400.00"), row(10, amount="12.345", area="", rate="")]
    report = imp(session, xlsx(tmp_path / "bad.xlsx", rows), dry_run=True)
    by_row = {}
    for e in report.errors:
        by_row.setdefault(e["row"], set()).add(e["code"])
    assert by_row == {3: {"mismatch"}, 4: {"id_checksum"}, 5: {"duplicate"}, 6: {"negative", "mismatch"}, 7: {"absurd", "mismatch"},
                      8: {"missing"}, 9: {"bad_card"}, 10: {"not_a_number"}, 11: {"precision"}}
    assert report.valid == 1 and all(any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in report.errors)
    assert session.store.scalar("SELECT count(*) FROM ledger_entries") == 0  # a dry run writes nothing


def test_all_or_nothing_then_valid_only_and_idempotent(session, tmp_path):
    path = xlsx(tmp_path / "list.xlsx", [row(1), row(2), row(3, amount="1.00")])
    with pytest.raises(service.ImportRefused, match="未导入任何数据"):
        imp(session, path)
    assert session.store.scalar("SELECT count(*) FROM ledger_entries") == 0
    report = imp(session, path, valid_only=True)
    assert report.written == 2 and report.total_fen == 2 * to_fen(Decimal("3.25") * Decimal("125.8"))
    again = imp(session, path, valid_only=True)
    assert again.already_imported and again.written == 0
    fixed = xlsx(tmp_path / "list-fixed.xlsx", [row(1), row(2), row(3)])  # a corrected file: the two known households exist
    r = imp(session, fixed, valid_only=True)
    assert r.written == 1 and {e["code"] for e in r.errors} == {"exists"}
    assert session.store.scalar("SELECT count(*) FROM ledger_entries") == 3


def test_gbk_csv_and_relief_by_month(session, tmp_path):
    path = gbk_csv(tmp_path / "dibao.csv", [[1, "李桂兰", make_id(seq=11), "2组", "", "", "465.00", "", ""]],
                   headers=["序号", "救助对象", "身份证号", "组别", "x", "y", "月保障金", "z", "w"])
    with pytest.raises(ValidationFailed):
        imp(session, path, ledger="relief", program="低保", period="2026-11")  # relief needs a month column
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["救助对象", "身份证号", "月份", "月保障金", "保障依据"])
        w.writerow(["李桂兰", make_id(seq=11), "2026-11", "465.00", "家庭人均收入低于保障标准"])
        w.writerow(["李桂兰", make_id(seq=11), "2026-12", "465.00", "家庭人均收入低于保障标准"])
    report = imp(session, path, ledger="relief", program="低保", period="2026Q4")
    assert report.written == 2 and service.totals(session, "relief")[0]["total"] == "930.00"
    again = gbk_csv(tmp_path / "dibao-12.csv", [["李桂兰", make_id(seq=11), "2026-12", "465.00", "补录"]],
                    headers=["救助对象", "身份证号", "月份", "月保障金", "保障依据"])
    dup = imp(session, again, ledger="relief", program="低保", period="2026Q4", dry_run=True)
    assert [e["code"] for e in dup.errors] == ["exists"]  # December was already paid in another file


def test_lock_correction_totals_and_chain(session, home, tmp_path):
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 6)]))
    one = to_fen(Decimal("3.25") * Decimal("125.8"))
    assert service.totals(session, "subsidy", by=("program",))[0]["total_fen"] == 5 * one
    service.lock(session, "subsidy", "耕地地力保护补贴", "2026")
    with pytest.raises(ValidationFailed, match="已锁定"):
        imp(session, xlsx(tmp_path / "b.xlsx", [row(9)]))
    entries = service.entries(session, "subsidy")
    target = entries[0]["id"]
    with pytest.raises(ValidationFailed, match="原因"):
        service.correct(session, target, "")
    ids = service.correct(session, target, "面积核实为3.00亩", {"area": "3.00", "amount": "377.40"})
    assert len(ids) == 2
    with pytest.raises(ValidationFailed, match="已被更正"):
        service.correct(session, target, "再改一次")
    reversal_of_other = service.correct(session, entries[1]["id"], "该户已迁出本村")
    assert len(reversal_of_other) == 1
    total = service.totals(session, "subsidy", by=("program",))[0]
    assert total["total_fen"] == 3 * one + 37740 and total["total"] == f"{(3 * one + 37740) / 100:,.2f}"
    assert total["households"] == 4  # five, one superseded (still one), one reversed
    kinds = [e["kind"] for e in service.entries(session, "subsidy")]
    assert kinds == ["original"] * 5 + ["reversal", "supersede", "reversal"]  # the originals are still there
    assert service.verify_chain(session) == (8, [])
    session.store.conn.execute("UPDATE ledger_entries SET amount_fen = amount_fen + 100 WHERE seq = 2")
    assert any("改动" in p for p in service.verify_chain(session)[1])
    from station.core.models import Role
    from station.services import users
    users.add(session, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    with home.unlock("daiban", "clerk-pass-1") as clerk:
        with pytest.raises(PermissionDenied):
            service.lock(clerk, "subsidy", "耕地地力保护补贴", "2027")


def test_export_is_masked_and_reads_back(session, tmp_path):
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 4)]))
    for name in ("out.xlsx", "out.csv"):
        assert service.export(session, tmp_path / name, "subsidy") == 3
        headers, rows = sheets.read_table(tmp_path / name)
        text = " ".join(str(c) for r in rows for c in r)
        assert make_id(seq=1) not in text and "6217000000000000001" not in text and "13800000001" not in text
        assert "520402********" in text and "王1" in text


def test_entries_travel_to_the_township(session, tmp_path):
    from sync import client, enrolment
    from sync.hub.service import HubHome
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    code, _ = hub.add_station(session.station_code, session.station_name)
    enrolment.enroll_online(session, code, hub, "local")
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 4)]))

    class Local:
        def push(self, data):
            return hub.receive(data)
    client.sync_once(session, Local())
    assert hub.store.s.scalar("SELECT sum(amount_fen) FROM ledger_entries") == service.totals(session, by=("program",))[0]["total_fen"]
    hub.store.close()


amounts = st.tuples(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
                    st.decimals(min_value=Decimal("1"), max_value=Decimal("300"), places=2))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(amounts, min_size=1, max_size=30))
def test_fen_totals_survive_import_store_export_and_back(tmp_path_factory, home_factory, ledger_rows):
    """No float ever touches an amount: the same fen through every stage."""
    tmp = tmp_path_factory.mktemp("prop")
    session = home_factory(tmp)
    rows = []
    for n, (area, rate) in enumerate(ledger_rows, 1):
        amount = (area * rate).quantize(Decimal("0.01"))
        rows.append([n, f"户{n}", make_id(seq=n), "1组", float(area) if n % 2 else str(area), str(rate),
                     float(amount) if n % 3 else str(amount), "", ""])  # Excel numbers and text, mixed
    expected = sum(to_fen((a * r).quantize(Decimal("0.01"))) for a, r in ledger_rows)
    report = imp(session, xlsx(tmp / "p.xlsx", rows))
    assert report.errors == [] and report.total_fen == expected
    assert service.totals(session, by=("program",))[0]["total_fen"] == expected
    for name in ("back.csv", "back.xlsx"):
        service.export(session, tmp / name, "subsidy")
        _, back = sheets.read_table(tmp / name)
        assert sum(to_fen(Decimal(str(r[8]).replace(",", ""))) for r in back) == expected
    session.close()


@pytest.fixture
def home_factory():
    from station.services.session import StationHome
    from tests.conftest import PASS

    def make(path):
        s, _ = StationHome(path / "st").init("XX0101", "石板村", "zhanzhang", "罗世芬", PASS)
        return s
    return make


def test_lists_sent_down_by_the_township(session, tmp_path):
    from sync import client, enrolment
    from sync.hub.service import HubHome
    hub, _ = HubHome(tmp_path / "hub").init("JZ01", "旧州镇", "admin", "hub-pass-2026")
    code, _ = hub.add_station(session.station_code, session.station_name)
    enrolment.enroll_online(session, code, hub, "local")

    class Local:
        def push(self, data):
            return hub.receive(data)
    good = [{"head_name": f"王{n}", "id_number": make_id(seq=n), "area": "2.5", "rate": "100", "amount": "250.00"} for n in (1, 2)]
    hub.send_list(session.station_code, "subsidy", "种粮一次性补贴", "2026", good, "种粮补贴.xlsx")
    bad = [{"head_name": "李四", "id_number": "123", "amount": "10"}]
    hub.send_list(session.station_code, "subsidy", "生态公益林补偿", "2026", bad, "公益林.xlsx")
    result = client.sync_once(session, Local())
    assert service.totals(session, "subsidy", by=("program",))[0]["total"] == "500.00"
    assert len(result.quarantined) == 1 and "未导入" in result.quarantined[0]["reason"]
    assert session.store.scalar("SELECT count(*) FROM ledger_entries WHERE program = '生态公益林补偿'") == 0
    client.sync_once(session, Local())  # applied once only
    assert session.store.scalar("SELECT count(*) FROM ledger_entries") == 2
    hub.store.close()


def test_ledger_printout_and_posting_from_a_period(session, tmp_path):
    import re
    import subprocess

    from printouts.render import render
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 61)]))
    first = service.entries(session, "subsidy")[0]["id"]
    service.correct(session, first, "面积核实", {"area": "2.00", "amount": "251.60"})
    one = to_fen(Decimal("3.25") * Decimal("125.8"))
    total = 59 * one + 25160
    for kind in ("ledger", "posting"):
        doc = render(session, kind, ledger="subsidy", program="耕地地力保护补贴", period="2026")
        (tmp_path / f"{kind}.pdf").write_bytes(doc.pdf)
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / f"{kind}.pdf"), "-"], capture_output=True, text=True).stdout
        flat = re.sub(r"\s+", "", text)
        assert "王17" in flat and f"{total / 100:,.2f}" in flat, kind
        for n in range(1, 61):
            assert make_id(seq=n) not in flat and f"62170000{n:011d}" not in flat and f"1380000{n:04d}" not in flat
    assert "公示期" in flat and "户" in flat
    ledger_text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-layout", str(tmp_path / "ledger.pdf"), "-"],
                                                    capture_output=True, text=True).stdout)
    assert "冲减" in ledger_text and "面积核实" in ledger_text and "本页小计" in ledger_text
