"""The 好差评 records of the station, as a provincial 好差评 system takes them (xlsx and JSON).

One row per rated case, in the fields those systems import: 办件编号, 事项编码, 评价等级, 评价时间,
评价渠道, 差评原因, 整改情况, 回访时间 — plus the 追评 and the appeal, which stay beside the first
rating (an overturned rating is marked, never left out). Read from the events, not the projection.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

from station.core.cases import APPEAL_OUTCOMES, RATING_LABELS, CaseState, fold
from station.errors import FieldError, ValidationFailed
from station.fileio import atomic_write
from station.services import audit, cases
from station.services.session import Session

FIELDS = ("办件编号", "事项编码", "评价等级", "评价时间", "评价渠道", "差评原因", "整改情况", "回访时间",
          "追评等级", "申诉结果")


def _reason(state: CaseState) -> str:
    r = state.bad_reason or {}
    return "".join([r.get("category") or "", f":{r['text']}" if r.get("text") else ""])


def _rectification(state: CaseState) -> str:
    if state.follow_up is None:
        return ""
    if state.follow_up == "closed":
        return f"已整改({state.rectified_on}):{state.rectification or ''}"
    return f"整改中,期限 {state.rectify_due}" if state.rectify_due else "整改中"


def _appeal(state: CaseState) -> str:
    if state.appeal is None:
        return ""
    return "申诉待复核" if state.appeal == "pending" else APPEAL_OUTCOMES[state.appeal]


def rows(session: Session) -> list[dict]:
    out = []
    for row in session.store.query("SELECT id FROM cases WHERE rating IS NOT NULL ORDER BY number"):
        state = fold(row["id"], cases.events_of(session, row["id"]))
        if state.rating is None:
            continue
        out.append({"办件编号": state.number, "事项编码": state.item_code, "评价等级": RATING_LABELS[state.rating],
                    "评价时间": state.rating_on.isoformat() if state.rating_on else "",
                    "评价渠道": state.rating_channel or "现场评价", "差评原因": _reason(state),
                    "整改情况": _rectification(state),
                    "回访时间": state.revisited_on.isoformat() if state.revisited_on else "",
                    "追评等级": RATING_LABELS.get(state.follow_up_rating, ""), "申诉结果": _appeal(state)})
    return out


def export(session: Session, path: Path) -> int:
    """Write the ratings to ``path`` (.xlsx or .json, by its suffix); returns how many rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".json"):
        raise ValidationFailed("导出格式不支持", [FieldError("out", "bad_suffix", "文件名应以 .xlsx 或 .json 结尾")])
    data = rows(session)
    if suffix == ".json":
        atomic_write(path, json.dumps({"fields": list(FIELDS), "rows": data}, ensure_ascii=False, indent=1).encode("utf-8"))
    else:
        from openpyxl import Workbook
        book = Workbook()
        sheet = book.active
        sheet.title = "好差评"
        sheet.append(list(FIELDS))
        for r in data:
            sheet.append([r[f] for f in FIELDS])
        buf = io.BytesIO()
        book.save(buf)
        atomic_write(path, buf.getvalue())
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "ratings.export", path.name, {"rows": len(data)})
    return len(data)
