"""Ledger rules, pure: which column is which, what a valid row is, and the hash chain.

Errors are data: every bad row is reported with its row number, the field and the reason in
Chinese, so the clerk sees the whole validation report before anything is written.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from station.core.identity import check_phone, parse_id
from station.core.money import to_fen, yuan

LEDGERS = {"subsidy": "涉农补贴", "relief": "民政救济"}
STATUSES = ("公示中", "已发放", "退回")
AREA_Q, RATE_Q = Decimal("0.01"), Decimal("0.0001")
# Amounts beyond these are almost certainly a typing or unit mistake (元 vs 分, 亩 vs 平方米).
ABSURD_FEN = {"subsidy": 200_000 * 100, "relief": 20_000 * 100}
ABSURD_AREA = Decimal(10_000)
ABSURD_RATE = Decimal(10_000)
TOLERANCE_FEN = 1  # amount may differ from area × rate by rounding to the fen, no more

FIELDS = {
    "head_name": ("户主姓名", "户主", "姓名", "农户姓名", "救助对象", "对象姓名", "户主名称"),
    "id_number": ("身份证号码", "身份证号", "公民身份号码", "身份证", "证件号码"),
    "village_group": ("村民小组", "组别", "小组", "村组", "所在组", "组"),
    "area": ("面积", "补贴面积", "计税面积", "承包面积", "面积亩", "耕地面积"),
    "rate": ("补贴标准", "标准", "单价", "每亩补贴", "补贴标准元亩", "每亩标准"),
    "amount": ("补贴金额", "金额", "发放金额", "救助金额", "金额元", "月保障金", "保障金额"),
    "bank_card": ("银行卡号", "一卡通账号", "卡号", "账号", "银行账号", "社保卡号"),
    "phone": ("联系电话", "电话", "手机号", "手机"),
    "status": ("状态", "发放状态"),
    "paid_on": ("发放日期", "支付日期", "日期"),
    "month": ("月份", "发放月份", "救助月份"),
    "basis": ("计算依据", "依据", "保障依据", "救助原因", "备注"),
}
REQUIRED = {"subsidy": ("head_name", "id_number", "amount"), "relief": ("head_name", "id_number", "amount", "month")}


def _norm(header: str) -> str:
    return re.sub(r"[\s()()\[\]【】/::*]", "", str(header or ""))


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """Field → column index, from the township's Chinese headers (exact names first, then contains)."""
    normal = [_norm(h) for h in headers]
    mapping: dict[str, int] = {}
    taken: set[int] = set()
    for exact in (True, False):
        for field, names in FIELDS.items():
            if field in mapping:
                continue
            for i, h in enumerate(normal):
                if i in taken or not h:
                    continue
                if any((h == _norm(n)) if exact else (_norm(n) in h) for n in names):
                    mapping[field] = i
                    taken.add(i)
                    break
    return mapping


def field_named(name: str) -> str | None:
    """The field a clerk means by ``name``: its Chinese label or any header name it is known by
    (户主姓名, 户主, 金额 …), or the internal name itself (kept for scripts)."""
    if name in FIELDS:
        return name
    key = _norm(name)
    for field, label in FIELD_LABELS.items():
        if key and key == _norm(label):
            return field
    for field, names in FIELDS.items():
        if key and any(key == _norm(n) for n in names):
            return field
    return None


def header_score(headers: list[str]) -> int:
    """How many known fields a row's cells name exactly (after normalising): a title, a 填报单位
    line or a data row names none or one; the header names several."""
    normal = {_norm(h) for h in headers if h}
    return sum(1 for names in FIELDS.values() if normal & {_norm(n) for n in names})


# Rows that are part of the form, not households: totals and the signature line at the bottom.
TOTAL_WORDS = ("合计", "总计", "共计")
SUBTOTAL_WORDS = ("小计",)
SIGNATURE_WORDS = ("制表人", "审核人", "填表人", "负责人", "经办人", "制表", "审核", "复核人")


def form_row(values: list) -> str | None:
    """'total', 'subtotal' or 'signature' when a row is one of those, else None. Only text cells
    count, compared without spaces (``合  计``); a signature cell starts with its word and a colon
    or stands alone, so a household's name is never taken for one."""
    for value in values:
        if not isinstance(value, str):
            continue
        text = re.sub(r"\s", "", value)
        if not text:
            continue
        head = re.split(r"[::]", text, maxsplit=1)[0]
        if head in TOTAL_WORDS or text.startswith(TOTAL_WORDS) and len(text) <= 8:
            return "total"
        if head in SUBTOTAL_WORDS or text.startswith(SUBTOTAL_WORDS) and len(text) <= 8:
            return "subtotal"
        if head in SIGNATURE_WORDS or (text.startswith(SIGNATURE_WORDS) and re.search(r"[::]", text)):
            return "signature"
    return None


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


def decimal_of(value) -> Decimal:
    """Exact decimal from a cell: text as written; a spreadsheet number through its shortest repr
    (what the clerk typed), never through float arithmetic."""
    if isinstance(value, bool):
        raise InvalidOperation
    if isinstance(value, float):
        value = repr(value)
    # full-width digits and points (４０６．８５), a ¥ in front, 元 or 亩 behind, thousands grouped
    # by commas (1,220.55) are how amounts are typed; anything else is not a number
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = re.sub(r"\s*[元亩]$", "", re.sub(r"^¥\s*", "", text))
    if "," in text:
        if not re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text):
            raise InvalidOperation
        text = text.replace(",", "")
    return Decimal(text)


EXACT_DIGITS = 15  # what a spreadsheet number holds: more digits than this are already lost
LOST_DIGITS = "被存成了数字,只保留了前 {digits} 位,后面几位已经丢失:请乡镇把该列设置为“文本”格式后重新填写并发送"


def digits_lost(value) -> bool:
    """A long number (ID, bank card) that a spreadsheet stored as a number and so rounded to 15
    significant digits: a float of 16 digits or more, or text in scientific notation
    (5.20402E+17, as a CSV saved from Excel holds it). An exact ``int`` has lost nothing."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return abs(value) >= 10 ** EXACT_DIGITS
    if isinstance(value, str):
        return re.fullmatch(r"\s*\d+(\.\d+)?[eE]\+?\d+\s*", value) is not None
    return False


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check_row(ledger: str, raw: dict, row_no: int, today: date) -> tuple[dict | None, list[RowError]]:
    """One spreadsheet row → a clean entry, or every reason it is not one."""
    errors: list[RowError] = []

    def err(field, code, message):
        errors.append(RowError(row_no, field, code, message))
    values = {k: _text(v) for k, v in raw.items()}
    for field in REQUIRED[ledger]:
        if not values.get(field):
            err(field, "missing", f"缺少{FIELD_LABELS[field]}")
    entry: dict = {"head_name": values.get("head_name", ""), "village_group": values.get("village_group") or None,
                   "basis": values.get("basis") or None}
    for field in ("id_number", "bank_card"):
        if values.get(field) and digits_lost(raw[field]):
            err(field, "stored_as_number", FIELD_LABELS[field] + LOST_DIGITS.format(digits=EXACT_DIGITS))
            values[field] = ""  # checked no further: the same row would say "wrong check digit" too
    if values.get("id_number"):
        info = parse_id(values["id_number"], "id_number", today)
        if hasattr(info, "message"):
            err("id_number", info.code, info.message)
        else:
            entry["id_number"] = info.number
    amount = None
    if values.get("amount"):
        try:
            amount = to_fen(yuan(decimal_of(raw["amount"])))
            if decimal_of(raw["amount"]) != decimal_of(raw["amount"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
                err("amount", "precision", "金额最多两位小数(分)")
        except (InvalidOperation, ValueError):
            err("amount", "not_a_number", f"金额“{values['amount']}”不是数字")
    if amount is not None:
        if amount < 0:
            err("amount", "negative", "金额不能为负数(冲减请用更正)")
        elif amount == 0:
            err("amount", "zero", "金额为0")
        elif amount > ABSURD_FEN[ledger]:
            err("amount", "absurd", f"金额 {amount / 100:,.2f} 元明显过大,请核对单位(元/分)")
        entry["amount_fen"] = amount
    for field, quantum, limit in (("area", AREA_Q, ABSURD_AREA), ("rate", RATE_Q, ABSURD_RATE)):
        if values.get(field):
            try:
                number = decimal_of(raw[field])
            except (InvalidOperation, ValueError):
                err(field, "not_a_number", f"{FIELD_LABELS[field]}“{values[field]}”不是数字")
                continue
            if number <= 0 or number > limit:
                err(field, "absurd", f"{FIELD_LABELS[field]} {number} 不合理")
            elif number != number.quantize(quantum):
                err(field, "precision", f"{FIELD_LABELS[field]}小数位过多")
            else:
                entry[field] = str(number.quantize(quantum))
    if ledger == "subsidy" and "area" in entry and "rate" in entry and amount is not None:
        expected = to_fen(Decimal(entry["area"]) * Decimal(entry["rate"]))
        if abs(expected - amount) > TOLERANCE_FEN:
            err("amount", "mismatch", f"金额 {amount / 100:.2f} 元 ≠ 面积 {entry['area']} 亩 × 标准 {entry['rate']} 元/亩 = {expected / 100:.2f} 元")
    if values.get("bank_card"):
        card = values["bank_card"].replace(" ", "")
        if not card.isdigit() or not 12 <= len(card) <= 19:
            err("bank_card", "bad_card", "银行卡号应为12至19位数字")
        else:
            entry["bank_card"] = card
    if values.get("phone"):
        phone = check_phone(values["phone"], "phone")
        if hasattr(phone, "message"):
            err("phone", phone.code, phone.message)
        else:
            entry["phone"] = phone
    status = values.get("status") or "公示中"
    if status not in STATUSES:
        err("status", "bad_status", f"状态应为:{'、'.join(STATUSES)}")
    entry["status"] = status
    if values.get("paid_on"):
        try:
            entry["paid_on"] = (raw["paid_on"] if isinstance(raw["paid_on"], date) else date.fromisoformat(values["paid_on"][:10])).isoformat()[:10]
        except ValueError:
            err("paid_on", "bad_date", "发放日期格式应为 年-月-日")
    if ledger == "relief" and values.get("month"):
        if not re.fullmatch(r"\d{4}-\d{2}", values["month"][:7]) or not 1 <= int(values["month"][5:7]) <= 12:
            err("month", "bad_month", "月份格式应为 2026-11")
        else:
            entry["month"] = values["month"][:7]
    return (None, errors) if errors else (entry, [])


FIELD_LABELS = {"head_name": "户主姓名", "id_number": "身份证号码", "village_group": "村民小组", "area": "面积(亩)",
                "rate": "补贴标准(元/亩)", "amount": "金额(元)", "bank_card": "银行卡号", "phone": "联系电话",
                "status": "状态", "paid_on": "发放日期", "month": "月份", "basis": "依据"}

CHAINED = ("id", "ledger", "program", "period", "id_number", "head_name", "village_group", "phone", "area", "rate",
           "amount_fen", "bank_card", "status", "paid_on", "month", "basis", "kind", "corrects", "reason", "author", "created_at")


def entry_hash(prev: str, entry: dict) -> str:
    body = json.dumps([prev] + [entry.get(k) for k in CHAINED], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
