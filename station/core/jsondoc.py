"""One JSON document from outside (a file, standard input), parsed within the core's limits.

Refuses, with a Chinese ``ValidationFailed`` naming the limit or the place of the error:
documents over ``limits.MAX_JSON_DOCUMENT_BYTES``, bytes that are not UTF-8, nesting deeper than
``limits.MAX_JSON_DEPTH`` (checked by a scan before parsing, so the parser's recursion is never
reached), and anything ``json`` rejects (syntax, numbers with thousands of digits). What the
document must contain is left to the caller's own checks.
"""
from __future__ import annotations

import json

from station.core import limits
from station.errors import FieldError, ValidationFailed


def _refuse(name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{name} 不是可用的 JSON 文件", [FieldError("document", code, message)])


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (stops counting past the limit)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limits.MAX_JSON_DEPTH:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_document(data: bytes | str, name: str) -> object:
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > limits.MAX_JSON_DOCUMENT_BYTES:
        raise _refuse(name, "too_large", f"文件过大:超过 {limits.MAX_JSON_DOCUMENT_BYTES // 1024} KB 的上限")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _refuse(name, "not_utf8", f"第 {exc.start + 1} 个字节起不是 UTF-8 文字,请用 UTF-8 编码保存") from None
    else:
        text = data
    if nesting_depth(text) > limits.MAX_JSON_DEPTH:
        raise _refuse(name, "too_deep", f"嵌套超过 {limits.MAX_JSON_DEPTH} 层的上限")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("JSON 格式错误", [FieldError("document", "bad_json",
                               f"第 {exc.lineno} 行第 {exc.colno} 列:{_reason(exc.msg)}")]) from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise _refuse(name, "bad_number", "文件中有无法识别的数字(位数过多)") from None


_REASONS = {"Expecting value": "此处应有一个值", "Extra data": "多余的内容", "Unterminated string starting at": "字符串没有结束",
            "Expecting ',' delimiter": "缺少逗号", "Expecting ':' delimiter": "缺少冒号",
            "Expecting property name enclosed in double quotes": "键名应使用双引号",
            "Invalid control character at": "字符串中有控制字符", "Invalid \\escape": "无效的转义符",
            "Invalid \\uXXXX escape": "无效的 \\u 转义符"}


def _reason(msg: str) -> str:
    """``json``'s English reason in Chinese (the clerk reads it); unknown ones kept as they are."""
    return _REASONS.get(msg, msg)
