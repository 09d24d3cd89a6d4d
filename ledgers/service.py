"""The ledger write path on the station's store: import, correct, lock; and the views: list,
totals, export, chain verification.

Entries are never changed after they are written. A correction is a new entry — a reversal
(negative amount) and, when superseding, a new entry with the corrected values — with its reason
and author, so a plain sum is always the true total and the hash chain shows every change.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ledgers import rules, sheets
from station.core.ids import new_id
from station.core.masking import mask_bank, mask_id, mask_phone
from station.core.money import format_fen, from_fen
from station.errors import FieldError, NotFound, StationError, ValidationFailed
from station.services import anchor, audit, outbox
from station.services.session import Session

GENESIS = "0" * 64
MAX_REPORTED_ERRORS = 1_000  # a validation report lists this many errors and counts the rest
HEADER_SEARCH_ROWS = 10  # the header is looked for among this many non-blank rows at the top
SKIPPED_REASONS = {"total": "合计行,已跳过", "subtotal": "小计行,已跳过", "signature": "签名行(制表人、审核人等),已跳过"}
VIEW_COLUMNS = ("id, ledger, program, period, id_number, head_name, village_group, phone, area, rate, amount_fen, bank_card, "
                "status, paid_on, month, basis, kind, corrects, reason, author, created_at")


class MissingColumns(ValidationFailed):
    """Required columns not found: ``missing`` fields, and the file's ``headers`` to choose from."""

    def __init__(self, title: str, details: list[FieldError], missing: list[str], headers: list[str]):
        super().__init__(title, details)
        self.missing, self.headers = missing, headers


class ImportRefused(StationError):
    code = "import_refused"
    exit_code = 2


@dataclass
class ImportReport:
    file: str
    ledger: str
    program: str
    period: str
    mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    valid: int = 0
    errors: list[dict] = field(default_factory=list)
    total_fen: int = 0
    written: int = 0
    already_imported: bool = False
    error_count: int = 0  # all errors; ``errors`` holds the first MAX_REPORTED_ERRORS of them
    header_row: int = 0  # the row (as in Excel) taken as the header
    skipped: list[dict] = field(default_factory=list)  # title, total and signature rows: {row, reason}
    notes: list[str] = field(default_factory=list)  # about the whole file (formulas without results)
    sheet: str = ""  # the worksheet read ("" for a CSV)
    sheets: list[str] = field(default_factory=list)  # all the workbook's worksheets, to choose from

    def as_dict(self) -> dict:
        return {**vars(self), "total": format_fen(self.total_fen)}


def _check_scope(ledger: str, program: str, period: str) -> None:
    problems = []
    if ledger not in rules.LEDGERS:
        problems.append(FieldError("ledger", "unknown", "台账类型应为 subsidy(涉农补贴)或 relief(民政救济)"))
    if not (program or "").strip() or len(program) > 40:
        problems.append(FieldError("program", "required", "请填写项目名称,如 耕地地力保护补贴"))
    if not (period or "").strip() or len(period) > 20:
        problems.append(FieldError("period", "required", "请填写期间,如 2026 或 2026-11"))
    if problems:
        raise ValidationFailed("台账信息不完整", problems)


def is_locked(session: Session, ledger: str, program: str, period: str) -> bool:
    return bool(session.store.scalar("SELECT 1 FROM ledger_locks WHERE ledger = ? AND program = ? AND period = ?", (ledger, program, period)))


def import_file(session: Session, path: Path, ledger: str, program: str, period: str, overrides: dict[str, str] | None = None,
                dry_run: bool = False, valid_only: bool = False, sheet: str | None = None) -> ImportReport:
    """Validate a township spreadsheet and, unless ``dry_run``, write it: every row, or (with
    ``valid_only``) every valid row — never a part chosen by accident.

    Rows stream from the file and are checked one at a time; a dry run keeps only counts, the
    households seen and the first ``MAX_REPORTED_ERRORS`` errors, so its memory does not grow
    with the file (the file's own limits are in ``ledgers.sheets``).

    Columns the clerk named for this program before (``remembered_map``) are used again where the
    file has a column of that name; the names given now are remembered once the file is imported."""
    _check_scope(ledger, program, period)
    path = Path(path)
    report = ImportReport(path.name, ledger, program, period)
    if is_locked(session, ledger, program, period):
        raise ValidationFailed("该期台账已锁定", [FieldError("period", "locked", f"{program} {period} 已由站长锁定:只能通过更正修改")])
    sheets.check_file(path)  # type, size, a regular file: before hashing opens it
    digest = _file_digest(path)
    if _imported(session, digest, ledger, program, period):  # (also a workbook imported before sheets were told apart)
        report.already_imported = True
        return report
    info: dict = {}
    rows = sheets.iter_rows(path, report.notes, sheet, info)
    remembered = remembered_map(session, ledger, program)
    try:
        header_row, headers, rows_after = _find_header(rows, {**remembered, **(overrides or {})}, path.name)
        report.header_row = header_row
        report.sheet, report.sheets = info.get("sheet", ""), info.get("sheets", [])
        if len(report.sheets) > 1:
            # one import per sheet of a workbook: its 补报 sheet is not "already imported" with its 花名册
            digest = hashlib.sha256(f"{digest}\0{report.sheet}".encode()).hexdigest()
            if _imported(session, digest, ledger, program, period):
                report.already_imported = True
                return report
        # only for fields this file's own headers do not name, and the clerk did not name now
        named_now = set(rules.guess_mapping(headers)) | {rules.field_named(k) for k in overrides or {}}
        reused = {k: v for k, v in remembered.items() if v in headers and rules.field_named(k) not in named_now}
        if reused:
            report.notes.append("沿用上次为本项目选的列:" + ",".join(f"{rules.FIELD_LABELS.get(rules.field_named(k), k)}←{v}"
                                                              for k, v in reused.items()))
        try:
            mapping = _mapping(headers, ledger, {**reused, **(overrides or {})}, header_row)
        except MissingColumns as exc:
            exc.sheet, exc.sheets = report.sheet, report.sheets
            raise
        report.mapping = {f: headers[i] for f, i in sorted(mapping.items(), key=lambda x: x[1])}
        stated: list[rules.RowError] = []
        raws = _households(itertools.chain(rows_after, rows), mapping, report.skipped, stated)
        good, errors, counts = _check_stream(session.store.conn, ledger, program, period, raws, session.today(), keep=not dry_run)
    finally:
        rows.close()
    report.rows, report.valid, report.total_fen, report.error_count = counts
    errors = sorted(errors + stated, key=lambda e: e.row)
    report.error_count += len(stated)
    report.errors = [{**e.as_dict(), "column": _letter(mapping.get(e.field)), "sheet": report.sheet} for e in errors]
    if dry_run:
        return report
    if report.error_count and not valid_only:
        raise ImportRefused(f"有 {report.error_count} 处错误,未导入任何数据:请修正表格后重新导入,或选择只导入正确的 {report.valid} 行",
                            [FieldError("file", "note", note) for note in report.notes] +
                            [FieldError(f"row {e['row']}", e["code"], f"{where(e)} {e['message']}") for e in report.errors[:50]])
    with session.store.transaction() as db:
        _write_entries(db, session.user.username, ledger, program, period, good, path.name, digest)
        if overrides:
            _remember_map(db, ledger, program, {**remembered, **overrides})
        audit.record(db, session.user.username, "ledger.import", f"{ledger}/{program}/{period}",
                     {"file": path.name, "rows": len(good), "skipped": report.error_count, "total_fen": report.total_fen})
    report.written = len(good)
    return report


def _imported(session: Session, digest: str, ledger: str, program: str, period: str) -> bool:
    return bool(session.store.scalar("SELECT 1 FROM ledger_imports WHERE sha256 = ? AND ledger = ? AND program = ? AND period = ?",
                                     (digest, ledger, program, period)))


def where(error: dict) -> str:
    """工作表“花名册” 第 6 行 C 列: a problem's place as the clerk finds it in Excel."""
    return ((f"工作表“{error['sheet']}” " if error.get("sheet") else "") + f"第 {error['row']} 行"
            + (f" {error['column']} 列" if error.get("column") else ""))


def _map_key(ledger: str, program: str) -> str:
    return f"ledger_map/{ledger}/{program}"


def remembered_map(session: Session, ledger: str, program: str) -> dict[str, str]:
    """The columns the clerk named for this program's last imported file (field label → header)."""
    value = session.store.scalar("SELECT value FROM settings WHERE key = ?", (_map_key(ledger, program),))
    try:
        found = json.loads(value) if value else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _remember_map(db, ledger: str, program: str, names: dict[str, str]) -> None:
    # kept by label (户主姓名), as the clerk and the CLI name fields
    labelled = {rules.FIELD_LABELS.get(rules.field_named(k) or "", k): v for k, v in names.items()}
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               (_map_key(ledger, program), json.dumps(labelled, ensure_ascii=False)))


def _file_digest(path: Path) -> str:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:  # in chunks: the file is never held whole (hashlib.file_digest is 3.11+)
            for chunk in iter(lambda: fh.read(sheets.READ_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError as exc:
        raise ValidationFailed("无法读取表格", [FieldError("file", "unreadable", f"无法读取 {path.name}:{exc.strerror or exc}")]) from None


def _letter(index: int | None) -> str:
    """Excel's column letters for a 0-based index (0 → A, 26 → AA); empty when not a column."""
    if index is None:
        return ""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _find_header(rows, overrides: dict[str, str] | None, name: str) -> tuple[int, list[str], list]:
    """The header among the first ``HEADER_SEARCH_ROWS`` non-blank rows: the one naming the most
    known fields (and the columns the clerk named), the first of equals; a title merged across the
    top, a 填报单位 line or 单位:元 name none. Returns its row number, its cells and the rows read
    after it (to be checked before the rest of the stream)."""
    top = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    if not top:
        raise ValidationFailed("表格是空的", [FieldError("file", "empty", f"{name} 中没有数据")])
    named = set((overrides or {}).values())

    def score(values: list) -> int:
        headers = sheets.header_of(values)
        return rules.header_score(headers) + len(named & set(headers))
    best = max(range(len(top)), key=lambda i: (score(top[i][1]), -i))
    headers = sheets.header_of(top[best][1])
    if best + 1 < len(top):
        # A two-row header: names merged down two rows stand in the upper row only, a group merged
        # across (补贴情况) has its own names (面积, 补贴金额) below. Taken when that names more fields.
        below = sheets.header_of(top[best + 1][1])
        both = [low or high for high, low in itertools.zip_longest(headers, below, fillvalue="")]
        if score(both) > score(top[best][1]):
            return top[best + 1][0], both, top[best + 2:]
    return top[best][0], headers, top[best + 1:]


def read_list(path: Path, ledger: str) -> list[dict]:
    """A township's list file as the raw rows a station will check — the header found under title
    rows, 合计/小计 and signature rows left out — for ``township send-list`` (the station checks the
    rows again when they arrive)."""
    path = Path(path)
    sheets.check_file(path)
    rows = sheets.iter_rows(path)
    try:
        header_row, headers, after = _find_header(rows, None, path.name)
        mapping = _mapping(headers, ledger, None, header_row)
        return [raw for _, raw in _households(itertools.chain(after, rows), mapping, [], [])]
    finally:
        rows.close()


def _households(rows, mapping: dict[str, int], skipped: list[dict], stated: list) -> Iterator[tuple[int, dict]]:
    """Rows as (row number, raw fields), without the form's own rows: a 合计/小计 row or a signature
    line is listed in ``skipped``. A 合计 row whose amount differs from the sum of the amounts
    above it adds one error to ``stated``."""
    at, id_at = mapping.get("amount"), mapping.get("id_number")
    running = Decimal(0)
    for n, row in rows:
        cell = row[at] if at is not None and at < len(row) else None
        # a row with something in its ID column is a household, whatever its remark says (审核:已通过)
        has_id = id_at is not None and id_at < len(row) and row[id_at] not in (None, "")
        kind = None if has_id else rules.form_row(row)
        if kind is None:
            try:
                running += rules.decimal_of(cell) if cell not in (None, "") else 0
            except (InvalidOperation, ValueError):
                pass  # the row's own check reports it
            yield n, {f: (row[i] if i < len(row) else None) for f, i in mapping.items()}
            continue
        if len(skipped) < MAX_REPORTED_ERRORS:
            skipped.append({"row": n, "reason": SKIPPED_REASONS[kind]})
        if kind == "total" and cell not in (None, ""):
            try:
                total = rules.decimal_of(cell)
            except (InvalidOperation, ValueError):
                continue
            if total.quantize(Decimal("0.01")) != running.quantize(Decimal("0.01")):
                stated.append(rules.RowError(n, "amount", "total_mismatch",
                                             f"合计行写的是 {total:,.2f} 元,但上面各户金额相加是 {running:,.2f} 元"
                                             f"(相差 {total - running:,.2f} 元):请与乡镇核对名单"))


def _mapping(headers: list[str], ledger: str, overrides: dict[str, str] | None, header_row: int = 1) -> dict[str, int]:
    """Field → column: guessed from the headers, then as the clerk named them (a field by its
    Chinese label, 户主姓名, or any header name it is known by). Messages never name an internal
    field or a CLI option: the app shows them as they are."""
    mapping = rules.guess_mapping(headers)
    for name, header in (overrides or {}).items():
        field_name = rules.field_named(name)
        if field_name is None:
            raise ValidationFailed("列对应有误", [FieldError("map", "unknown_field",
                                                        f"没有“{name}”这一项;可以对应的有:{'、'.join(rules.FIELD_LABELS.values())}")])
        if header not in headers:
            raise ValidationFailed("列对应有误", [FieldError("map", "no_such_column",
                                                        f"第 {header_row} 行表头中没有名为“{header}”的列")])
        mapping = {f: i for f, i in mapping.items() if i != headers.index(header)}  # the column means one thing
        mapping[field_name] = headers.index(header)
    missing = [f for f in rules.REQUIRED[ledger] if f not in mapping]
    if missing:
        shown = "、".join(h for h in headers if h)[:200]
        raise MissingColumns("找不到必需的列", [FieldError("map", "missing_column",
                                                        f"找不到“{rules.FIELD_LABELS[f]}”列(表头应写作"
                                                        f"“{'”或“'.join(rules.FIELDS[f][:3])}”);表头(第 {header_row} 行)是:{shown}")
                                             for f in missing], missing, [h for h in headers if h])
    return mapping


def check_rows(conn, ledger: str, program: str, period: str, raws, today) -> tuple[list[dict], list]:
    """Every row checked on its own, against the others (same household twice) and against the
    store (household already in this period). Returns the good entries and every error."""
    good, errors, _ = _check_stream(conn, ledger, program, period, raws, today, keep=True, max_errors=None)
    return good, errors


def _check_stream(conn, ledger: str, program: str, period: str, raws, today, keep: bool,
                  max_errors: int | None = MAX_REPORTED_ERRORS) -> tuple[list[dict], list, tuple[int, int, int, int]]:
    """``check_rows`` over an iterable of (row number, raw fields): the good entries (only when
    ``keep``), the first ``max_errors`` errors, and (rows, valid rows, total fen, errors)."""
    # A household is in the period once (subsidies) or once per month (relief), after corrections.
    existing = {r[0] for r in conn.execute(
        "SELECT id_number || CASE WHEN ledger = 'relief' THEN '|' || coalesce(month, '') ELSE '' END AS k FROM ledger_entries "
        "WHERE ledger = ? AND program = ? AND period = ? GROUP BY k HAVING sum(amount_fen) != 0", (ledger, program, period)).fetchall()}
    seen: dict[str, int] = {}
    good, errors = [], []
    n_rows = n_valid = total = n_errors = 0
    for n, raw in raws:
        n_rows += 1
        entry, row_errors = rules.check_row(ledger, raw, n, today)
        if entry is not None:
            key = entry["id_number"] if ledger == "subsidy" else f"{entry['id_number']}|{entry.get('month')}"
            if key in seen:
                row_errors = [rules.RowError(n, "id_number", "duplicate", f"与第 {seen[key]} 行是同一户(身份证号相同)")]
            elif key in existing:
                row_errors = [rules.RowError(n, "id_number", "exists", "该户已在本期台账中(如需改动请用更正)")]
            else:
                seen[key] = n
                n_valid += 1
                total += entry["amount_fen"]
                if keep:
                    entry["row_no"] = n
                    good.append(entry)
        n_errors += len(row_errors)
        if max_errors is None or len(errors) < max_errors:
            errors += row_errors if max_errors is None else row_errors[:max_errors - len(errors)]
    return good, errors, (n_rows, n_valid, total, n_errors)


def _chain_tip(db) -> str:
    """The hash the next entry chains from: the stored head, not whatever row is last, so that
    entries deleted from the end still show as a break after new ones are written."""
    head = anchor.stored_head(db, "ledger")
    return head[1] if head else anchor.last_entry(db, "ledger")[1]


def _write_entries(db, author: str, ledger: str, program: str, period: str, good: list[dict], source: str, digest: str) -> None:
    prev = _chain_tip(db)
    now = audit.now_iso()
    for e in good:
        prev = _append(db, {**e, "id": new_id(), "ledger": ledger, "program": program, "period": period,
                            "kind": "original", "author": author, "created_at": now, "source": f"{source}#{digest[:12]}"}, prev)
    db.execute("INSERT INTO ledger_imports (sha256, ledger, program, period, file_name, rows, imported_at, imported_by) "
               "VALUES (?,?,?,?,?,?,?,?)", (digest, ledger, program, period, source, len(good), now, author))


def apply_township_list(db, session: Session, doc: dict) -> int:
    """A subsidy or relief list sent down by the township, inside the sync transaction: the same
    checks as a file import, all rows or none (a bad list is quarantined by the caller)."""
    ledger, program, period, rows = doc["ledger"], doc["program"], doc["period"], doc["rows"]
    _check_scope(ledger, program, period)
    digest = hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    if db.execute("SELECT 1 FROM ledger_imports WHERE sha256 = ? AND ledger = ? AND program = ? AND period = ?",
                  (digest, ledger, program, period)).fetchone():
        return 0
    if db.execute("SELECT 1 FROM ledger_locks WHERE ledger = ? AND program = ? AND period = ?", (ledger, program, period)).fetchone():
        raise ValidationFailed(f"{program} {period} 已锁定,乡镇下发的名单未导入")
    good, errors = check_rows(db.conn, ledger, program, period, [(n, r) for n, r in enumerate(rows, start=2)], session.today())
    if errors:
        raise ValidationFailed(f"乡镇下发的{program}名单有 {len(errors)} 处错误,未导入:" +
                               ";".join(f"第 {e.row} 行 {e.message}" for e in errors[:5]))
    _write_entries(db, session.user.username, ledger, program, period, good, f"乡镇下发 {doc.get('source', '')}", digest)
    audit.record(db, session.user.username, "ledger.township_list", f"{ledger}/{program}/{period}", {"rows": len(good)})
    return len(good)


def _append(db, e: dict, prev: str) -> str:
    e = {k: e.get(k) for k in rules.CHAINED} | {"source": e.get("source"), "row_no": e.get("row_no")}
    digest = rules.entry_hash(prev, e)
    cols = list(e) + ["prev_hash", "hash"]
    seq = db.execute(f"INSERT INTO ledger_entries ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     (*e.values(), prev, digest)).lastrowid
    anchor.set_head(db, "ledger", seq, digest)  # same transaction: a cut tail no longer matches the head
    outbox.add(db, "ledger_entry", e["id"])  # goes up to the township with the next bundle
    return digest


def correct(session: Session, entry_id: str, reason: str, changes: dict | None = None) -> list[str]:
    """Reverse an entry (no ``changes``) or supersede it with corrected values; both are new,
    visible entries. Allowed in locked periods too: that is what locking leaves possible."""
    if not (reason or "").strip():
        raise ValidationFailed("请填写更正原因", [FieldError("reason", "required", "更正必须写明原因")])
    original = session.store.one(f"SELECT {VIEW_COLUMNS} FROM ledger_entries WHERE id = ?", (entry_id,))
    if original is None:
        raise NotFound("没有找到该台账记录")
    if original["kind"] == "reversal":
        raise ValidationFailed("不能更正冲减记录", [FieldError("entry", "is_reversal", "这是一条冲减记录,请更正原记录")])
    if session.store.scalar("SELECT 1 FROM ledger_entries WHERE corrects = ? AND kind = 'reversal'", (entry_id,)):
        raise ValidationFailed("该记录已被更正", [FieldError("entry", "already_corrected", "该记录已被冲减或替换,请更正最新的那条")])
    new_entry = None
    if changes:
        raw = {k: original[k] for k in ("head_name", "id_number", "village_group", "area", "rate", "bank_card", "phone",
                                        "status", "paid_on", "month", "basis") if original[k] is not None}
        raw["amount"] = format_fen(original["amount_fen"])
        raw.update(changes)
        new_entry, errors = rules.check_row(original["ledger"], raw, 0, session.today())
        if errors:
            raise ValidationFailed("更正内容有误", [FieldError(e.field, e.code, e.message) for e in errors])
    ids = []
    with session.store.transaction() as db:
        prev = _chain_tip(db)
        now = audit.now_iso()
        base = {k: original[k] for k in ("ledger", "program", "period")}
        reversal = {**original, "id": new_id(), "amount_fen": -original["amount_fen"], "kind": "reversal",
                    "corrects": entry_id, "reason": reason.strip(), "author": session.user.username, "created_at": now}
        prev = _append(db, reversal, prev)
        ids.append(reversal["id"])
        if new_entry:
            replacement = {**base, **new_entry, "id": new_id(), "kind": "supersede", "corrects": entry_id,
                           "reason": reason.strip(), "author": session.user.username, "created_at": now}
            _append(db, replacement, prev)
            ids.append(replacement["id"])
        audit.record(db, session.user.username, "ledger.correct", entry_id, {"reason": reason.strip(), "supersede": bool(new_entry)})
    return ids


def lock(session: Session, ledger: str, program: str, period: str) -> None:
    session.require_supervisor("锁定台账")
    _check_scope(ledger, program, period)
    if is_locked(session, ledger, program, period):
        return
    with session.store.transaction() as db:
        db.execute("INSERT INTO ledger_locks (ledger, program, period, locked_by, locked_at) VALUES (?,?,?,?,?)",
                   (ledger, program, period, session.user.username, audit.now_iso()))
        head = db.execute("SELECT hash FROM ledger_entries ORDER BY seq DESC LIMIT 1").fetchone()
        audit.record(db, session.user.username, "ledger.lock", f"{ledger}/{program}/{period}", {"chain_head": head[0] if head else None})


def _where(ledger: str | None, program: str | None, period: str | None, village_group: str | None) -> tuple[str, list]:
    where, params = [], []
    for col, value in (("ledger", ledger), ("program", program), ("period", period), ("village_group", village_group)):
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def entries(session: Session, ledger=None, program=None, period=None, village_group=None, limit=200, offset=0, masked=True) -> list[dict]:
    where, params = _where(ledger, program, period, village_group)
    rows = session.store.query(f"SELECT {VIEW_COLUMNS} FROM ledger_entries{where} ORDER BY seq LIMIT ? OFFSET ?", (*params, limit, offset))
    for r in rows:
        r["amount"] = format_fen(r["amount_fen"])
        if masked:
            r["id_number"], r["bank_card"], r["phone"] = mask_id(r["id_number"]), mask_bank(r["bank_card"]), mask_phone(r["phone"])
    return rows


def totals(session: Session, ledger=None, program=None, period=None, village_group=None,
           by: tuple[str, ...] = ("program", "period", "village_group")) -> list[dict]:
    """Sums to the fen (corrections included) and active entries (户次: an original or superseding
    entry counts one, a reversal takes one away — for subsidies that is households), all from the
    covering index, so a million entries take a fraction of a second."""
    allowed = {"ledger", "program", "period", "village_group"}
    if not set(by) <= allowed:
        raise ValueError(by)
    where, params = _where(ledger, program, period, village_group)
    cols = ", ".join(("ledger",) + tuple(by)) if "ledger" not in by else ", ".join(by)
    rows = session.store.query(f"SELECT {cols}, sum(amount_fen) AS total_fen, "
                               "sum(CASE kind WHEN 'reversal' THEN -1 ELSE 1 END) AS households "
                               f"FROM ledger_entries{where} GROUP BY {cols} ORDER BY {cols}", tuple(params))
    for r in rows:
        r["total"] = format_fen(r["total_fen"])
    return rows


EXPORT_HEADERS = [("program", "项目"), ("period", "期间"), ("head_name", "户主姓名"), ("id_number", "身份证号码"),
                  ("village_group", "村民小组"), ("area", "面积(亩)"), ("rate", "补贴标准(元/亩)"), ("month", "月份"),
                  ("amount", "金额(元)"), ("bank_card", "银行卡号"), ("status", "状态"), ("paid_on", "发放日期"),
                  ("basis", "依据"), ("kind", "记录类型"), ("reason", "更正原因")]
KIND_LABELS = {"original": "原始", "reversal": "冲减", "supersede": "更正"}


def _export_cell(key: str, row: dict):
    """Amounts, areas and rates as numbers (``Decimal``: exact, with their places) so a township
    can sum the export; everything else as text, which ``sheets.write_table`` neutralises."""
    if key == "amount":
        return from_fen(row["amount_fen"])
    if key in ("area", "rate") and row[key] is not None:
        return Decimal(row[key])
    if key == "kind":
        return KIND_LABELS.get(row[key], row[key])
    return row[key] if row[key] is not None else ""


def export(session: Session, path: Path, ledger=None, program=None, period=None, village_group=None, encoding="utf-8-sig") -> int:
    """Any ledger view as .xlsx or .csv — masked: full numbers travel to the township only inside
    encrypted bundles, never in a spreadsheet on a stick."""
    rows = entries(session, ledger, program, period, village_group, limit=10**9)
    data = [[_export_cell(k, r) for k, _ in EXPORT_HEADERS] for r in rows]
    sheets.write_table(Path(path), [h for _, h in EXPORT_HEADERS], data, encoding=encoding)
    with session.store.transaction() as db:
        audit.record(db, session.user.username, "ledger.export", str(Path(path).name), {"rows": len(rows)})
    return len(rows)


def first_broken(db) -> int | None:
    """The first entry whose stored hash or link no longer matches its content (an edit in place that
    left the hashes alone), or None; the walk ``verify_chain`` does, for the township's anchor check."""
    prev, cols = GENESIS, ", ".join(rules.CHAINED)
    for row in db.query(f"SELECT seq, {cols}, prev_hash, hash FROM ledger_entries ORDER BY seq"):
        if row["prev_hash"] != prev or rules.entry_hash(row["prev_hash"], row) != row["hash"]:
            return row["seq"]
        prev = row["hash"]
    return None


def verify_chain(session: Session) -> tuple[int, list[str]]:
    """Walk the chain (edited, deleted, reordered entries), then its head (a cut tail) and the
    head the township acknowledged (a tail cut with the head rewritten to match)."""
    problems, prev, count, last_seq = [], GENESIS, 0, 0
    cols = ", ".join(rules.CHAINED)
    for row in session.store.query(f"SELECT seq, {cols}, prev_hash, hash FROM ledger_entries ORDER BY seq"):
        count += 1
        if row["prev_hash"] != prev:
            problems.append(f"台账第 {row['seq']} 条与前一条接不上(记录被删除或调换)")
        if rules.entry_hash(row["prev_hash"], row) != row["hash"]:
            problems.append(f"台账第 {row['seq']} 条内容与校验值不符(记录被改动)")
        prev, last_seq = row["hash"], row["seq"]
    db = session.store.db
    head = anchor.stored_head(db, "ledger")
    if head is None:
        if count:
            problems.append("台账链头记录缺失")
    elif head != (last_seq, prev):
        problems.append(f"台账链头记为第 {head[0]} 条,而最后一条是第 {last_seq} 条:末尾记录被删除或改动")
    problems += [message for _, message in anchor.check(db, "ledger")]
    return count, problems
