"""Ledger views for signature (涉农补贴 / 民政救济): the long-table engine with amounts summed per
page and in total, to the fen; identity, bank and phone numbers masked."""
from __future__ import annotations

from datetime import date
from typing import Sequence

from printouts import longtable
from printouts.longtable import Column
from station.core.money import format_fen

COLUMNS = (
    Column("序号", "seq", 10, "RIGHT"), Column("户主", "head_name", 17), Column("身份证号码", "id_number", 34),
    Column("村民小组", "village_group", 16), Column("面积(亩)", "area", 16, "RIGHT"), Column("标准(元/亩)", "rate", 20, "RIGHT"),
    Column("月份", "month", 15), Column("金额(元)", "amount", 26, "RIGHT"), Column("银行卡号", "bank_card", 38),
    Column("状态", "status", 15), Column("类型", "kind_label", 12), Column("更正原因", "reason", 42),
)


def _totals(rows: Sequence[dict]) -> dict[str, str]:
    return {"id_number": f"{len(rows)} 条", "amount": format_fen(sum(r["amount_fen"] for r in rows))}


def table(station_name: str, title: str, period: str, rows: list[dict], printed_on: date, printed_by: str) -> longtable.LongTable:
    numbered = [dict(r, seq=str(i)) for i, r in enumerate(rows, 1)]
    return longtable.LongTable(title=title, station_name=station_name, period=period, columns=COLUMNS, rows=numbered,
                               printed_on=printed_on, printed_by=printed_by, totals=_totals, signatures=("经办人", "站长", "村委会"))


def build(t: longtable.LongTable, out) -> int:
    return longtable.build(t, out)
