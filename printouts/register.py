"""The 代办登记台账 (register of proxy cases) for a period, as a long table for signature."""
from __future__ import annotations

from typing import Sequence

from printouts import longtable
from printouts.longtable import Column
from printouts.records import RegisterSheet

COLUMNS = (
    Column("序号", "seq", 10, "RIGHT"), Column("件号", "number", 34), Column("收件日期", "received_on", 19),
    Column("申请人", "name", 17), Column("身份证号码", "id_number", 34), Column("办理事项", "item", 60),
    Column("状态", "status", 22), Column("办结期限", "due_on", 19), Column("办结日期", "decided_on", 19),
    Column("代办员", "owner", 19), Column("评价", "rating", 18),
)


def _totals(rows: Sequence[dict]) -> dict[str, str]:
    done = sum(1 for r in rows if r["done"])
    return {"received_on": f"{len(rows)} 件", "status": f"已办结 {done} 件"}


def table(d: RegisterSheet) -> longtable.LongTable:
    rows = [dict(r, seq=str(i)) for i, r in enumerate(d.rows, 1)]
    return longtable.LongTable(
        title="代办登记台账", station_name=d.station_name,
        period=f"{d.period_from.isoformat()} 至 {d.period_to.isoformat()}", columns=COLUMNS, rows=rows,
        printed_on=d.printed_on, printed_by=d.printed_by, totals=_totals)


def build(d: RegisterSheet, out) -> int:
    return longtable.build(table(d), out)
