"""Bulk decisions: the township's queue out as an .xlsx template, decisions back in from it.

``export_queue`` writes one row per case waiting for the township (submitted or accepted), oldest
due first, with two columns to fill: 处理 (受理 / 退回补正 / 准予 / 不予) and 理由. ``check_decisions``
reads the file back (with the station's spreadsheet reader and its limits) and names every bad row
by sheet, row and column letter, as the station's ledger import does. ``import_decisions`` applies
every row (``mode="all"``: all or nothing, one transaction) or only the valid ones (``"valid"``),
each through the hub's own write path (``Hub.record_case_event``: the same checks, audit and
outbox as one decision at a time), audited under the staff member who imported the file.

Columns are found by their header names, so a file whose columns were moved still reads; a row
whose case number was lost or changed (emptied, turned into a number by Excel) is refused.
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ledgers import sheets
from ledgers.service import _letter as letter
from station.core.cases import EventType, Status, check
from station.core.masking import mask_id
from station.errors import FieldError, StationError, ValidationFailed
from sync import policy
from sync.hub.service import Hub

SHEET = "待办办件"
NUMBER, STATION, ITEM, APPLICANT, RECEIVED, DUE, STATUS, ACTION, REASON = (
    "办件编号", "服务站", "事项", "申请人", "受理日期", "应办结日期", "当前状态", "处理", "理由")
HEADERS = (NUMBER, STATION, ITEM, APPLICANT, RECEIVED, DUE, STATUS, ACTION, REASON)
# What may be written in 处理 → (event type, outcome for a decision).
ACTIONS: dict[str, tuple[EventType, str | None]] = {
    "受理": (EventType.ACCEPTED, None), "退回补正": (EventType.RETURNED, None),
    "准予": (EventType.DECIDED, "approved"), "不予": (EventType.DECIDED, "rejected"),
}
NEEDS_REASON = ("退回补正", "不予")
HEADER_SEARCH_ROWS = 10
MAX_REPORTED_ERRORS = 1_000
QUEUE_STATUSES = (Status.SUBMITTED, Status.ACCEPTED)


@dataclass
class DecisionReport:
    """What a decision file holds and what became of it. ``errors``: {sheet, row, column, number,
    code, message}; ``valid``: {row, number, action, type, payload} ready to apply."""

    file: str
    sheet: str = ""
    header_row: int = 0
    rows: int = 0  # data rows read (blank rows not counted)
    blank: int = 0  # rows with nothing in 处理: left as they are
    valid: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    applied: int = 0
    mode: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**{k: v for k, v in vars(self).items() if k != "valid"},
                "valid": [{k: v for k, v in d.items() if k != "payload"} for d in self.valid]}

    def text(self) -> str:
        lines = [f"{self.file}(工作表“{self.sheet}”):{self.rows} 行,其中填写了处理的 {self.rows - self.blank} 行,"
                 f"正确 {len(self.valid)} 行,有错 {self.error_count} 处"]
        lines += [f"  {where(e)}:{e['message']}" for e in self.errors[:50]]
        if self.error_count > 50:
            lines.append(f"  ……另有 {self.error_count - 50} 处错误")
        lines += [f"  说明:{n}" for n in self.notes]
        if self.applied:
            lines.append(f"已记录 {self.applied} 件的处理结果(将在各服务站下次同步时送达)")
        return "\n".join(lines)


class DecisionsRefused(ValidationFailed):
    """All-or-nothing import of a file with errors: nothing applied; ``report`` says what is wrong."""

    def __init__(self, report: DecisionReport):
        super().__init__(f"有 {report.error_count} 处错误,未记录任何处理结果:请修正表格后重新导入,"
                         f"或选择只导入正确的 {len(report.valid)} 行",
                         [FieldError(f"row {e['row']}", e["code"], f"{where(e)} {e['message']}") for e in report.errors[:50]])
        self.report = report


def where(error: dict) -> str:
    """工作表“待办办件”第 6 行 H 列: a problem's place as staff find it in Excel."""
    return (f"工作表“{error['sheet']}”" if error.get("sheet") else "") + f"第 {error['row']} 行" + \
        (f" {error['column']} 列" if error.get("column") else "")


# --- export ------------------------------------------------------------------------------------

def queue_rows(hub: Hub, station: str | None = None) -> list[dict]:
    """The cases waiting for the township, oldest due first, with the applicant masked."""
    hub.require_station(station)
    names = {s["code"]: s["name"] for s in hub.store.stations()}
    out = []
    for c in hub.store.decision_queue(station.upper() if station else None, hub.listing_township()):
        resident = hub.store.record("resident", c["resident_id"]) or {}
        out.append({**c, "station_name": names.get(c["station"], ""), "status_label": Status(c["status"]).label,
                    "applicant": f"{resident.get('name', '')} {mask_id(resident.get('id_number'))}".strip()})
    return out


def export_queue(hub: Hub, path: Path | str, station: str | None = None) -> int:
    """Write the queue as an .xlsx template to fill in; returns the number of cases written."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValidationFailed("不支持的导出类型", [FieldError("file", "bad_type", "模板文件名应以 .xlsx 结尾")])
    rows = queue_rows(hub, station)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(list(HEADERS))
    for c in rows:
        values = [c["number"], f"{c['station']} {c['station_name']}".strip(), c["item_name"], c["applicant"],
                  c["received_on"], c["due_on"] or "", c["status_label"], "", ""]
        sheet.append([sheets.neutralise(str(v)) for v in values])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")  # the two columns to fill stand out
    for col in (HEADERS.index(ACTION) + 1, HEADERS.index(REASON) + 1):
        sheet.cell(1, col).fill = fill
    for i, width in enumerate((20, 20, 28, 28, 12, 12, 12, 12, 40)):
        sheet.column_dimensions[letter(i)].width = width
    sheet.freeze_panes = "B2"
    choice = DataValidation(type="list", formula1='"' + ",".join(ACTIONS) + '"', allow_blank=True,
                            errorTitle="处理", error="请选择:" + "、".join(ACTIONS))
    sheet.add_data_validation(choice)
    action_col = letter(HEADERS.index(ACTION))
    choice.add(f"{action_col}2:{action_col}{max(len(rows), 1) + 1}")
    book.save(path)
    return len(rows)


# --- check -------------------------------------------------------------------------------------

def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _sheet_title(path: Path, notes: list[str]) -> str:
    """The title of the sheet the reader took (the report names it as staff see it)."""
    if path.suffix.lower() == ".csv":
        return ""
    try:
        import openpyxl
        with open(path, "rb") as fh:
            book = openpyxl.load_workbook(fh, read_only=True)
            titles = book.sheetnames
            book.close()
    except Exception:  # noqa: BLE001 - the reader already accepted the file; a title is only a label
        return ""
    if len(titles) == 1:
        return titles[0]
    return next((t for t in titles if any(f"“{t}”" in n for n in notes)), "")


def check_decisions(hub: Hub, path: Path | str, today: date | None = None) -> DecisionReport:
    """Read a decision file and check every row against the hub as it is now; nothing is written."""
    path = Path(path)
    report = DecisionReport(path.name)
    rows = sheets.iter_rows(path, report.notes)
    try:
        top = []
        for number, values in rows:
            top.append((number, values))
            if NUMBER in sheets.header_of(values) or len(top) >= HEADER_SEARCH_ROWS:
                break
        header = next(((n, sheets.header_of(v)) for n, v in top if NUMBER in sheets.header_of(v)), None)
        report.sheet = _sheet_title(path, report.notes)
        if header is None:
            raise ValidationFailed("不是待办处理表", [FieldError("file", "no_header",
                                   f"{path.name} 的前 {HEADER_SEARCH_ROWS} 行中没有“{NUMBER}”列:请使用导出的待办模板")])
        report.header_row, names = header
        missing = [h for h in (NUMBER, ACTION) if h not in names]
        if missing:
            raise ValidationFailed("缺少必需的列", [FieldError("file", "missing_column",
                                   f"表头(第 {report.header_row} 行)中没有“{h}”列:请使用导出的待办模板") for h in missing])
        cols = {h: names.index(h) for h in HEADERS if h in names}
        data = [(n, v) for n, v in top if n > report.header_row]
        seen: dict[str, list[int]] = {}
        pending: list[dict] = []
        errors: list[dict] = []

        def cell(values: list, name: str):
            i = cols.get(name)
            return values[i] if i is not None and i < len(values) else None

        def fail(row: int, name: str | None, code: str, message: str, number: str = "") -> None:
            errors.append({"sheet": report.sheet, "row": row, "column": letter(cols.get(name)) if name else "",
                           "number": number, "code": code, "message": message})

        for row, values in itertools.chain(data, rows):
            report.rows += 1
            raw_number, action, reason = cell(values, NUMBER), _text(cell(values, ACTION)), _text(cell(values, REASON))
            if not action:
                report.blank += 1
                continue
            if not isinstance(raw_number, str) or not raw_number.strip():
                fail(row, NUMBER, "number_lost", "办件编号是空的或已被改成数字:请从导出的模板复制原编号"
                     if raw_number in (None, "") or isinstance(raw_number, (int, float)) else "办件编号格式不对")
                continue
            number = raw_number.strip().upper()
            seen.setdefault(number, []).append(row)
            pending.append({"row": row, "number": number, "action": action, "reason": reason})
        for d in pending:
            row, number, action, reason = d["row"], d["number"], d["action"], d["reason"]
            if len(seen[number]) > 1:
                others = "、".join(str(r) for r in seen[number] if r != row)
                fail(row, NUMBER, "duplicate", f"办件 {number} 在第 {others} 行也出现:每件只能填一行", number)
                continue
            if action not in ACTIONS:
                fail(row, ACTION, "bad_action", f"“{action[:20]}”不是可选的处理:请填 " + "、".join(ACTIONS), number)
                continue
            if action in NEEDS_REASON and not reason:
                fail(row, REASON if REASON in cols else ACTION, "reason_required", f"“{action}”须填写理由", number)
                continue
            case = hub.store.case(number)
            if case is None or case["number"] != number:
                fail(row, NUMBER, "unknown_case", f"乡镇没有办件 {number}", number)
                continue
            et, outcome = ACTIONS[action]
            payload = {"outcome": outcome, "summary": reason or action} if et == EventType.DECIDED else \
                {"reason": reason} if et == EventType.RETURNED else ({"note": reason} if reason else {})
            problem = policy.may_write_event(policy.HUB, et)
            if problem:
                fail(row, ACTION, "policy", problem, number)
                continue
            _, state, _ = hub.case_state(number)
            problems = check(state, et, {**payload, "on": (today or date.today()).isoformat()})
            if problems:
                fail(row, ACTION, problems[0].code, "; ".join(p.message for p in problems), number)
                continue
            report.valid.append({"row": row, "number": number, "action": action, "type": et.value, "payload": payload})
    finally:
        rows.close()
    errors.sort(key=lambda e: e["row"])
    report.error_count, report.errors = len(errors), errors[:MAX_REPORTED_ERRORS]
    return report


# --- import ------------------------------------------------------------------------------------

@contextlib.contextmanager
def _as_user(hub: Hub, user: str | None):
    """Every event and audit entry of the import under the staff member who imported it."""
    previous = hub.user
    hub.user = user or previous
    try:
        yield
    finally:
        hub.user = previous


def import_decisions(hub: Hub, path: Path | str, mode: str = "all", user: str | None = None,
                     today: date | None = None) -> DecisionReport:
    """Check the file, then apply: ``mode="all"`` every row or nothing (``DecisionsRefused`` when any
    row is wrong), ``"valid"`` the valid rows only. One transaction; a valid row that the hub's state
    no longer allows when applied (a sync came in between) is refused in ``"all"`` mode and moved to
    the report's errors in ``"valid"`` mode."""
    if mode not in ("all", "valid"):
        raise ValueError(mode)
    hub.require("case.import_decisions")
    report = check_decisions(hub, path, today)
    report.mode = mode
    if report.error_count and mode == "all":
        raise DecisionsRefused(report)
    applied = []
    with _as_user(hub, user), hub.lock, hub.store.transaction():
        for d in report.valid:
            try:
                with hub.store.item():  # a row refused now leaves nothing behind
                    hub.record_case_event(d["number"], EventType(d["type"]), d["payload"], today)
            except StationError as exc:
                if mode == "all":
                    raise
                report.errors.append({"sheet": report.sheet, "row": d["row"], "column": "", "number": d["number"],
                                      "code": exc.code, "message": str(exc)})
                report.error_count += 1
                continue
            applied.append(d)
        hub.store.audit(hub.user, "case.import_decisions", Path(path).name,
                        {"mode": mode, "applied": len(applied), "errors": report.error_count, "rows": report.rows})
    report.valid, report.applied = applied, len(applied)
    return report
