"""Printout benchmarks.

- ledger: the 代办 register with 10,000 rows through ``register.build`` (cell fitting, page
  subtotals, totals, headers and footers), against plain reportlab drawing the same row
  strings into the same per-page table layout (same widths, heights, style) in the same run.
- receipt: a fresh process importing the printouts, loading and embedding the CJK font and
  building one receipt (what a clerk waits for after saving an intake); and warm, in-process.
"""
from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Table

from printouts import longtable, register
from printouts.fonts import cjk_font
from printouts.records import RegisterSheet
from station.catalog import shipped_catalog
from station.core.masking import mask_id
from station.services.demo import GIVEN, SURNAMES

ROOT = Path(__file__).resolve().parents[2]


def _rows(n: int) -> tuple[dict, ...]:
    rng = random.Random(3)
    items = [i.name for i in shipped_catalog().items]
    statuses = ["已收件", "已上报乡镇", "乡镇已受理", "已办结待送达", "结果已送达", "已评价"]
    rows = []
    for i in range(n):
        day = date(2026, 1 + i * 12 // n, 1 + i % 28).isoformat()
        rows.append({"number": f"XX0101-2026-{i + 1:06d}", "received_on": day, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                     "id_number": mask_id(f"520402{1940 + i % 60}0101{i % 1000:03d}X"), "item": rng.choice(items),
                     "status": rng.choice(statuses), "due_on": day, "decided_on": day if i % 3 else "",
                     "owner": "杨光明", "rating": "满意" if i % 4 == 0 else "", "done": i % 3 != 0})
    return tuple(rows)


def _plain(t: longtable.LongTable) -> bytes:
    """Plain reportlab: the same strings, the same table per page, nothing else."""
    size, per_page = longtable.layout(t)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size, pageCompression=1)
    widths = [col.width_mm * mm for col in t.columns]
    header = [col.title for col in t.columns]
    rows = [[str(r.get(col.key, "")) for col in t.columns] for r in t.rows]
    for start in range(0, len(rows), per_page):
        data = [header] + rows[start:start + per_page]
        table = Table(data, colWidths=widths, rowHeights=[longtable.ROW_H] * len(data))
        table.setStyle(longtable.table_style(len(data)))
        _, h = table.wrapOn(c, size[0], size[1])
        table.drawOn(c, longtable.MARGIN, size[1] - longtable.MARGIN - longtable.TOP - h)
        c.showPage()
    c.save()
    return buf.getvalue()


def bench_ledger(n: int = 10_000) -> dict:
    cjk_font()
    sheet = RegisterSheet("旧州镇石板村便民服务站", date(2026, 1, 1), date(2026, 12, 31), _rows(n), date(2026, 12, 31), "罗世芬")
    table = register.table(sheet)
    t = time.perf_counter()
    plain = _plain(table)
    base = time.perf_counter() - t
    buf = io.BytesIO()
    t = time.perf_counter()
    pages = register.build(sheet, buf)
    ours = time.perf_counter() - t
    return {"rows": n, "pages": pages, "ours_s": ours, "plain_s": base, "ratio": ours / base,
            "ours_mb": len(buf.getvalue()) / 1e6, "plain_mb": len(plain) / 1e6}


COLD = textwrap.dedent("""
    import io, time
    t = time.perf_counter()
    from printouts import receipt
    from tests.bench.receipt_sheet import SHEET
    buf = io.BytesIO()
    receipt.build(SHEET, buf)
    print(time.perf_counter() - t)
""")


def bench_receipt(rounds: int = 5) -> dict:
    cold = []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        cold.append(float(out.strip()))
    from printouts import receipt
    from tests.bench.receipt_sheet import SHEET
    warm = []
    for _ in range(rounds):
        t = time.perf_counter()
        receipt.build(SHEET, io.BytesIO())
        warm.append(time.perf_counter() - t)
    return {"cold_s": min(cold), "cold_max_s": max(cold), "warm_s": min(warm)}


def run() -> dict:
    return {"ledger": bench_ledger(), "receipt": bench_receipt()}
