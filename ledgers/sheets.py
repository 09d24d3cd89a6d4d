"""Spreadsheets in and out: .xlsx (openpyxl), the old binary .xls (xlrd) and .csv in UTF-8 or
GBK, as townships send them.

Reading streams rows one at a time within the limits below, so a hostile or broken file (a
declared dimension of a whole sheet, a column bomb, a zip of giant XML, a million-row CSV) is
refused with a Chinese message naming the limit, never a MemoryError or a hang. What a row means
(which row is the header, which column is which) is left to the caller: ``iter_rows`` yields every
non-blank row with its number as the clerk sees it in Excel.

Writing neutralises formula-leading text (the OWASP CSV-injection rule) and writes numbers as
numbers, so an export opened in Excel or WPS never runs anything.
"""
from __future__ import annotations

import codecs
import csv
import itertools
import stat
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from xml.parsers import expat

from station.errors import FieldError, ValidationFailed

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK

# Limits (one place). Rows and columns are what a township list can sensibly hold; the byte limits
# bound what a reader holds in memory at once.
MAX_ROWS = 200_000  # data rows (non-blank, after the header)
MAX_COLUMNS = 200  # columns holding anything; empty cells further right are ignored
MAX_FILE_BYTES = 256 * 1024 * 1024  # the file on disk
MAX_ROW_CHARS = 100_000  # CSV: the text of one record (a column bomb in one line)
XLSX_MAX_ENTRIES = 1_000  # zip members: a real workbook has a few dozen
XLSX_MAX_SHEET_BYTES = 1024 * 1024 * 1024  # one worksheet's XML, unpacked (streamed, so this bounds time)
XLSX_MAX_PART_BYTES = 64 * 1024 * 1024  # any other XML part, unpacked (openpyxl holds these whole)
XLSX_MAX_PART_ELEMENTS = 3_000_000  # XML elements in a part held whole (shared strings: ~1M texts)
XLSX_MAX_CELLS_PER_ROW = 16_384  # Excel's own limit (column XFD): more in one row is a damaged file
XLSX_MAX_ROW_NUMBER = 1_048_576  # Excel's own last row
READ_CHUNK = 1024 * 1024
XLS_MAX_FILE_BYTES = 64 * 1024 * 1024  # xlrd holds a whole .xls in memory; the format holds 65,536 rows anyway
EXACT_FLOAT = 10 ** 15  # a spreadsheet number below this that is whole is an exact integer
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary format (.xls)
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx: a .xlsx renamed to .xls is read as what it is


def _refuse(code: str, message: str, title: str = "表格超出限制") -> ValidationFailed:
    return ValidationFailed(title, [FieldError("file", code, message)])


def _bad_xlsx(name: str) -> ValidationFailed:
    return _refuse("bad_xlsx", f"{name} 不是有效的 Excel(.xlsx)文件,或文件已损坏", "无法读取表格")


def check_file(path: Path) -> int:
    """A regular file of a supported type within ``MAX_FILE_BYTES`` (its size), else a refusal;
    checked before anything opens it (a FIFO would block the reader forever)."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".csv"):
        raise _refuse("bad_type", "请使用 .xlsx、.xls 或 .csv 文件", "不支持的文件类型")
    try:
        info = path.stat()
    except OSError as exc:
        raise _refuse("unreadable", f"无法读取 {path.name}:{exc.strerror or exc}", "无法读取表格") from None
    if not stat.S_ISREG(info.st_mode):  # a directory, or a FIFO that would block the reader forever
        raise _refuse("not_a_file", f"{path.name} 不是普通文件", "无法读取表格")
    size = info.st_size
    limit = XLS_MAX_FILE_BYTES if path.suffix.lower() == ".xls" else MAX_FILE_BYTES
    if size > limit:
        raise _refuse("too_big", f"{path.name} 有 {size / 1024 / 1024:,.0f} MB,超过上限 {limit // 1024 // 1024} MB")
    return size


def iter_rows(path: Path, notes: list[str] | None = None, sheet: str | None = None,
              info: dict | None = None) -> Iterator[tuple[int, list]]:
    """Every non-blank row as (row number as in Excel / line record of the CSV, cell values as the
    file holds them), at most ``MAX_COLUMNS`` wide; refuses a file beyond the limits. What the
    clerk should know about the file as a whole (formulas without results) goes to ``notes``.
    In a workbook, ``sheet`` names the sheet to read (else the one holding the list is found);
    ``info`` receives the sheet read (``sheet``) and all the workbook's sheets (``sheets``)."""
    path = Path(path)
    check_file(path)
    records = _csv_records(path) if path.suffix.lower() == ".csv" else _workbook_records(path, notes, sheet, info)
    data_rows = 0
    try:
        for number, values in records:
            if len(values) > MAX_COLUMNS:
                tail = values[MAX_COLUMNS:]
                # tuple.count runs in C: a row padded to column XFD costs microseconds, not a loop
                if tail.count(None) + tail.count("") != len(tail):
                    raise _refuse("too_many_columns", f"第 {number:,} 行超过 {MAX_COLUMNS} 列的上限:请只保留名单需要的列")
                values = values[:MAX_COLUMNS]
            if values.count(None) + values.count("") == len(values):  # blank row (counted in C: rows are many)
                continue
            data_rows += 1
            if data_rows > MAX_ROWS + 1:  # + the header row
                raise _refuse("too_many_rows", f"表格超过 {MAX_ROWS:,} 行的上限(不含表头):请分成几个文件导入")
            yield number, list(values)
    except OSError as exc:  # removed or unplugged while reading
        raise _refuse("unreadable", f"无法读取 {path.name}:{exc.strerror or exc}", "无法读取表格") from None
    finally:
        records.close()


def read_table(path: Path) -> tuple[list[str], list[list]]:
    """Header row and data rows (blank rows dropped); cell values as the file holds them. Holds the
    whole table: for small files and tools; imports stream with ``iter_rows``."""
    rows = [values for _, values in iter_rows(path)]
    if not rows:
        raise ValidationFailed("表格是空的", [FieldError("file", "empty", f"{Path(path).name} 中没有数据")])
    return header_of(rows[0]), rows[1:]


def header_of(values: list) -> list[str]:
    return [str(h or "").strip() for h in values]


# --- CSV ---------------------------------------------------------------------------------------

def csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such, else GBK/GB18030 — decided
    by a streaming pass, so a GBK byte deep in the file is found before any row is read."""
    decoders = {enc: codecs.getincrementaldecoder(enc)() for enc in ENCODINGS}
    with open(path, "rb") as fh:
        while decoders:
            chunk = fh.read(READ_CHUNK)
            for enc in list(decoders):
                try:
                    decoders[enc].decode(chunk, final=not chunk)
                except UnicodeDecodeError:
                    del decoders[enc]
            if not chunk:
                break
    for enc in ENCODINGS:
        if enc in decoders:
            return enc
    raise ValidationFailed("无法读取表格", [FieldError("file", "bad_encoding", f"{path.name} 既不是 UTF-8 也不是 GBK 编码")])


class _BoundedLines:
    """Lines for ``csv.reader``, never more than ``MAX_ROW_CHARS`` for one record (a quoted field
    may span lines): ``readline(limit)`` keeps a file without line breaks from being read whole."""

    def __init__(self, fh):
        self.fh = fh
        self.record_chars = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.fh.readline(MAX_ROW_CHARS + 1)
        if not line:
            raise StopIteration
        self.record_chars += len(line)
        if self.record_chars > MAX_ROW_CHARS:
            raise _refuse("row_too_long", f"表格中有一行超过 {MAX_ROW_CHARS:,} 个字符的上限,文件可能已损坏或不是名单")
        return line


def _csv_records(path: Path) -> Iterator[tuple[int, list]]:
    encoding = csv_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        lines = _BoundedLines(fh)
        reader = csv.reader(lines)
        number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _refuse("bad_csv", f"{path.name} 第 {number + 1:,} 行无法解析({exc})", "无法读取表格") from None
            number += 1
            lines.record_chars = 0
            yield number, record


# --- XLS (the old binary format) --------------------------------------------------------------

def _workbook_records(path: Path, notes: list[str] | None = None, sheet: str | None = None,
                      info: dict | None = None) -> Iterator[tuple[int, tuple]]:
    """By what the file is, not what it is called: townships rename files both ways."""
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == OLE_MAGIC:
        if path.stat().st_size > XLS_MAX_FILE_BYTES:
            raise _refuse("too_big", f"{path.name} 超过 .xls 文件的上限 {XLS_MAX_FILE_BYTES // 1024 // 1024} MB")
        return _xls_records(path, notes, sheet, info)
    if path.suffix.lower() == ".xls" and not magic.startswith(ZIP_MAGIC):
        raise ValidationFailed("无法读取表格", [FieldError("file", "bad_xls", f"{path.name} 不是有效的 Excel(.xls)文件,或文件已损坏")])
    return _xlsx_records(path, notes, sheet, info)


def _xls_value(cell, datemode: int):
    import xlrd
    kind, value = cell.ctype, cell.value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_NUMBER:
        # .xls holds every number as a float: a whole one that is exact is the integer typed
        return int(value) if value.is_integer() and abs(value) < EXACT_FLOAT else value
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#错误")
    return value


class _XlsSheet:
    """An xlrd sheet as ``_list_sheet`` looks at openpyxl's: a title and its rows, values only."""

    def __init__(self, book, index: int):
        self.book, self.sheet = book, book.sheet_by_index(index)
        self.title = self.sheet.name

    def reset_dimensions(self) -> None:
        pass

    def iter_rows(self, values_only: bool = True):
        for rx in range(self.sheet.nrows):
            yield [_xls_value(c, self.book.datemode) for c in self.sheet.row(rx)[:MAX_COLUMNS]]


def _xls_records(path: Path, notes: list[str] | None = None, wanted: str | None = None,
                 info: dict | None = None) -> Iterator[tuple[int, list]]:
    import xlrd
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        sheets = [_XlsSheet(book, i) for i in range(book.nsheets)]
    except Exception:  # xlrd raises many kinds for a damaged file: to a clerk all "not a valid file"
        raise ValidationFailed("无法读取表格", [FieldError("file", "bad_xls", f"{path.name} 不是有效的 Excel(.xls)文件,或文件已损坏")]) from None
    try:
        sheet = _list_sheet(sheets, notes, wanted, info).sheet
    except ValidationFailed:
        raise
    except Exception:  # xlrd raises many kinds for a damaged file: to a clerk all "not a valid file"
        raise ValidationFailed("无法读取表格", [FieldError("file", "bad_xls", f"{path.name} 不是有效的 Excel(.xls)文件,或文件已损坏")]) from None
    try:
        for rx in range(sheet.nrows):
            cells = sheet.row(rx)[:XLSX_MAX_CELLS_PER_ROW]
            yield rx + 1, [_xls_value(c, book.datemode) for c in cells]
    finally:
        book.release_resources()


# --- XLSX --------------------------------------------------------------------------------------

def _check_zip_directory(path: Path) -> None:
    """Refuse a zip whose central directory alone would fill memory (``zipfile`` builds an object
    per member before we can look): read its end record the way ``zipfile`` finds it."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 16) - 22))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise _bad_xlsx(path.name)
    entries = int.from_bytes(tail[at + 10:at + 12], "little")
    directory = int.from_bytes(tail[at + 12:at + 16], "little")
    zip64 = at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07"
    if zip64 or entries > XLSX_MAX_ENTRIES or directory > XLSX_MAX_ENTRIES * 1024:
        raise _refuse("too_many_parts", f"{path.name} 内部的文件数超过 {XLSX_MAX_ENTRIES:,} 个,不像是一份名单")


class _Scan:
    """One streaming pass of expat over an XML part: no DTDs or entities (billion laughs), bounded
    elements for parts held whole, bounded cells per row and row numbers for worksheets."""

    def __init__(self, name: str, worksheet: bool):
        self.name, self.worksheet = name, worksheet
        self.elements = self.cells = self.chars = 0
        # formula cells with no cached value (a file written by a program, never opened in Excel):
        # openpyxl reads them as empty, so the clerk is told why
        self.uncached, self.first_uncached = 0, ""
        self.cell_ref, self.formula, self.value, self.in_value = "", False, False, False

    def text(self, data: str) -> None:
        # one row's text, as for a CSV record: a single giant inline string is a memory bomb too
        self.chars += len(data)
        if self.in_value and data.strip():
            self.value = True
        if self.chars > MAX_ROW_CHARS:
            raise _refuse("row_too_long", f"表格中有一行超过 {MAX_ROW_CHARS:,} 个字符的上限,文件可能已损坏或不是名单")

    def start(self, tag: str, attrs: dict) -> None:
        local = tag.rpartition("}")[2]
        if not self.worksheet:
            self.elements += 1
            if self.elements > XLSX_MAX_PART_ELEMENTS:
                raise _refuse("too_many_parts", f"{self.name} 内容过多(超过 {XLSX_MAX_PART_ELEMENTS:,} 项),不像是一份名单")
        elif local == "c":
            self.cell_ref, self.formula, self.value = attrs.get("r", ""), False, False
            self.cells += 1
            if self.cells > XLSX_MAX_CELLS_PER_ROW:
                raise _refuse("too_many_columns", f"{self.name} 中有一行超过 Excel 的 {XLSX_MAX_CELLS_PER_ROW} 列,文件已损坏")
        elif local == "f":
            self.formula = True
        elif local == "v":
            self.in_value = True
        elif local == "row":
            self.cells = self.chars = 0
            r = attrs.get("r")
            if r is not None:
                try:
                    number = float(r)
                except ValueError:
                    raise _bad_xlsx(self.name) from None
                if not 1 <= number <= XLSX_MAX_ROW_NUMBER:
                    raise _refuse("too_many_rows", f"{self.name} 中的行号 {r[:20]} 超出 Excel 的 {XLSX_MAX_ROW_NUMBER:,} 行,文件已损坏")

    def end(self, tag: str) -> None:
        local = tag.rpartition("}")[2]
        if local == "v":
            self.in_value = False
        elif local == "c" and self.formula and not self.value:
            self.uncached += 1
            self.first_uncached = self.first_uncached or self.cell_ref[:12]

    def run(self, stream) -> None:
        parser = expat.ParserCreate(namespace_separator="}")

        def no_dtd(*_):
            raise _bad_xlsx(self.name)
        parser.StartDoctypeDeclHandler = no_dtd
        parser.EntityDeclHandler = no_dtd
        parser.StartElementHandler = self.start
        if self.worksheet:
            parser.CharacterDataHandler = self.text
            parser.EndElementHandler = self.end
        try:
            parser.ParseFile(stream)
        except expat.ExpatError:
            raise _bad_xlsx(self.name) from None


def _check_parts(path: Path, notes: list[str] | None = None) -> None:
    try:
        book = zipfile.ZipFile(path)
    except Exception:  # BadZipFile, OSError, ValueError, struct and zlib errors: all "not a workbook"
        raise _bad_xlsx(path.name) from None
    uncached, first = 0, ""
    with book:
        for info in book.infolist():
            name = info.filename
            if not name.lower().endswith((".xml", ".rels")):
                continue
            worksheet = name.startswith("xl/worksheets/")
            limit = XLSX_MAX_SHEET_BYTES if worksheet else XLSX_MAX_PART_BYTES
            if info.file_size > limit:
                raise _refuse("too_big", f"{path.name} 解压后过大(其中 {name} 超过 {limit // 1024 // 1024} MB)")
            try:
                # zipfile stops at the declared size and checks the CRC, so the size above is a true bound
                with book.open(info) as stream:
                    scan = _Scan(path.name, worksheet)
                    scan.run(stream)
            except ValidationFailed:
                raise
            except Exception:  # zipfile, zlib and expat raise many kinds for a damaged member
                raise _bad_xlsx(path.name) from None
            uncached, first = uncached + scan.uncached, first or scan.first_uncached
    if uncached and notes is not None:
        notes.append(f"表格中有 {uncached:,} 个公式没有保存计算结果(如 {first} 格),读出来是空的:"
                     "请在 Excel 或 WPS 中打开此文件、保存一次后再导入")


SHEET_SEARCH_ROWS = 10  # rows looked at in each sheet to find the one holding the list


def _list_sheet(worksheets: list, notes: list[str] | None, wanted: str | None = None, info: dict | None = None):
    """The sheet holding the list: the one named ``wanted`` (the clerk's choice), else the one whose
    top rows name the most known columns (the first of equals), so a 填表说明 sheet in front is
    passed over; the report says which was read, and ``info`` gets its title and all titles."""
    from ledgers.rules import header_score
    titles = [str(w.title) for w in worksheets]
    if info is not None:
        info["sheets"] = titles
    if wanted is not None and wanted not in titles:
        raise ValidationFailed("找不到工作表", [FieldError("sheet", "no_such_sheet",
                                                      f"工作簿中没有名为“{wanted}”的工作表;有:{'、'.join(titles)[:200]}")])
    if len(worksheets) == 1 or wanted is not None:
        chosen = worksheets[titles.index(wanted)] if wanted is not None else worksheets[0]
        if info is not None:
            info["sheet"] = str(chosen.title)
        if notes is not None and len(worksheets) > 1:
            notes.append(f"工作簿有 {len(worksheets)} 个工作表,读取的是“{chosen.title}”(其余未导入)")
        return chosen

    def score(sheet) -> int:
        sheet.reset_dimensions()  # as below: never trust the declared size
        try:
            top = itertools.islice(sheet.iter_rows(values_only=True), SHEET_SEARCH_ROWS)
            return max((header_score(header_of(list(values[:MAX_COLUMNS]))) for values in top), default=0)
        except ValidationFailed:
            raise
        except Exception:
            return 0  # a damaged sheet we would not read: the chosen one is checked as it is read
    scores = [score(sheet) for sheet in worksheets]
    best = scores.index(max(scores))
    if info is not None:
        info["sheet"] = titles[best]
    if notes is not None:
        notes.append(f"工作簿有 {len(worksheets)} 个工作表,读取的是“{worksheets[best].title}”(其余未导入)")
    return worksheets[best]


def _xlsx_records(path: Path, notes: list[str] | None = None, wanted: str | None = None,
                  info: dict | None = None) -> Iterator[tuple[int, tuple]]:
    _check_zip_directory(path)
    _check_parts(path, notes)
    import openpyxl
    # through a handle: openpyxl refuses a path by its name, and a .xlsx renamed .xls is still one
    handle = open(path, "rb")
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises whatever its parsers meet; to a clerk all of it is "not a valid file"
        handle.close()
        if isinstance(exc, ValidationFailed):
            raise
        raise _bad_xlsx(path.name) from None
    try:
        if not book.worksheets:
            raise _bad_xlsx(path.name)
        sheet = _list_sheet(book.worksheets, notes, wanted, info)
        # The declared dimension is whatever the file says (A1:XFD1048576 in a bomb): without it,
        # openpyxl pads neither rows nor columns beyond the cells actually present.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except ValidationFailed:
                raise
            except Exception:
                raise _bad_xlsx(path.name) from None
            number += 1
            yield number, values
    finally:
        book.close()
        handle.close()


# --- writing -----------------------------------------------------------------------------------

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may take as a formula


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula, made inert with a leading single quote (OWASP)."""
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def _number_format(value: Decimal) -> str:
    places = max(0, -value.as_tuple().exponent) if isinstance(value.as_tuple().exponent, int) else 2
    return "0." + "0" * places if places else "0"


def write_table(path: Path, headers: list[str], rows: list[list], encoding: str = "utf-8-sig") -> None:
    """Write .xlsx or .csv by the file's extension (CSV with a BOM so Excel reads UTF-8; or GBK).

    ``Decimal`` and ``int`` cells are numbers (in .xlsx with a fixed-decimals format such as 0.00;
    in .csv plain decimal text, a negative amount as ``-12.50``); every text cell is neutralised."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        import openpyxl
        from openpyxl.cell import WriteOnlyCell
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("台账")

        def cell(value):
            if isinstance(value, bool) or value is None:
                value = "" if value is None else str(value)
            if isinstance(value, (Decimal, int)):
                c = WriteOnlyCell(sheet, value=value)
                c.number_format = _number_format(value) if isinstance(value, Decimal) else "0"
                return c
            c = WriteOnlyCell(sheet, value=neutralise(str(value)))
            c.data_type = "s"  # a string, whatever it looks like: never a formula
            return c
        sheet.append([cell(h) for h in headers])
        for r in rows:
            sheet.append([cell(v) for v in r])
        book.save(path)
    elif path.suffix.lower() == ".csv":
        def text(value) -> str:
            if value is None:
                return ""
            if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                return f"{value:f}" if isinstance(value, Decimal) else str(value)  # numbers are not text: never quoted
            return neutralise(str(value))
        with open(path, "w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([text(h) for h in headers])
            writer.writerows([text(v) for v in r] for r in rows)
    else:
        raise ValidationFailed("不支持的导出类型", [FieldError("file", "bad_type", "导出文件名应以 .xlsx 或 .csv 结尾")])
