"""Spreadsheets in and out: .xlsx (openpyxl) and .csv in UTF-8 or GBK, as townships send them."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from station.errors import FieldError, ValidationFailed

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK


def read_table(path: Path) -> tuple[list[str], list[list]]:
    """Header row and data rows (blank rows dropped); cell values as the file holds them."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:
            raise ValidationFailed("无法读取表格", [FieldError("file", "bad_xlsx", f"{path.name} 不是有效的 Excel(.xlsx)文件")]) from None
        try:
            rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    elif suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ENCODINGS:
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed("无法读取表格", [FieldError("file", "bad_encoding", f"{path.name} 既不是 UTF-8 也不是 GBK 编码")])
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    else:
        raise ValidationFailed("不支持的文件类型", [FieldError("file", "bad_type", "请使用 .xlsx 或 .csv 文件(.xls 请先在 Excel 中另存为 .xlsx)")])
    rows = [r for r in rows if any(c not in (None, "") for c in r)]
    if not rows:
        raise ValidationFailed("表格是空的", [FieldError("file", "empty", f"{path.name} 中没有数据")])
    return [str(h or "").strip() for h in rows[0]], rows[1:]


def write_table(path: Path, headers: list[str], rows: list[list], encoding: str = "utf-8-sig") -> None:
    """Write .xlsx or .csv by the file's extension (CSV with a BOM so Excel reads UTF-8; or GBK)."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        import openpyxl
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("台账")
        sheet.append(headers)
        for r in rows:
            sheet.append(r)
        book.save(path)
    elif path.suffix.lower() == ".csv":
        with open(path, "w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            writer.writerows(rows)
    else:
        raise ValidationFailed("不支持的导出类型", [FieldError("file", "bad_type", "导出文件名应以 .xlsx 或 .csv 结尾")])
