"""A CJK font for the PDF: embed a TrueType font found on the machine, so the page prints the
same on any reader and printer; fall back to reportlab's built-in STSong-Light (not embedded:
the reader must supply it) with a warning.

Order: ``STATION_FONT`` (a .ttf/.ttc path, for a font the station chooses), then the fonts
that Windows, Linux distributions and macOS ship (or, with ``STATION_FONT_DIRS``, every
.ttf/.ttc in those folders instead). OpenType fonts with CFF outlines (e.g. Noto CJK .otf)
cannot be embedded by reportlab and are skipped.

A font is never trusted by its name: Droid Sans Fallback, for one, has the CJK ideographs but
no digits, Latin letters or brackets, and a receipt printed with it has no case number, date
or phone. Each candidate's cmap is checked for ``REQUIRED`` before it is used; when none
covers it, the built-in STSong-Light CID font (which prints all of it) is used with a warning.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

CANDIDATES = [
    # Windows
    r"C:\Windows\Fonts\simsun.ttc", r"C:\Windows\Fonts\msyh.ttc", r"C:\Windows\Fonts\simhei.ttf",
    r"C:\Windows\Fonts\msyh.ttf",
    # Linux
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    # macOS
    "/Library/Fonts/Arial Unicode.ttf", "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
]
FALLBACK = "STSong-Light"

# What every printout prints: digits, ASCII letters and punctuation (case numbers, dates, phones,
# masked IDs), the full-width punctuation of Chinese text, and the CJK of the documents' fixed wording.
REQUIRED = ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            "()[]:;,.-/*_%+×…·~"
            "(),。:;、【】“”"
            "代办事项受理回执存根件号申请人身份证办理收件日期结期限已材料尚缺容告知书委托签字按手印台账"
            "补贴救助公示名单户主村民小组面积金额元亩银行卡状态类型更正原因合计本页第共打印站长盖章一二三四五六七八九十")


@dataclass(frozen=True)
class FontChoice:
    name: str
    path: str | None
    embedded: bool
    warning: str | None


def _load(path: str) -> TTFont | None:
    try:
        return TTFont("VSCJK", path, subfontIndex=0) if path.lower().endswith(".ttc") else TTFont("VSCJK", path)
    except Exception:  # not TrueType outlines, unreadable, or not a font at all
        return None


def missing_glyphs(path: str, text: str = REQUIRED) -> str | None:
    """The characters of ``text`` the font at ``path`` has no glyph for ("" when it has them all);
    None when the file cannot be used at all."""
    font = _load(path)
    if font is None:
        return None
    cmap = font.face.charToGlyph
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace() and cmap.get(ord(ch), 0) == 0))


def _try(path: str, skipped: list[str]) -> bool:
    """Register the font at ``path`` if it is usable and complete; note why not in ``skipped``."""
    font = _load(path)
    if font is None:
        return False
    cmap = font.face.charToGlyph
    lacking = "".join(dict.fromkeys(ch for ch in REQUIRED if cmap.get(ord(ch), 0) == 0))
    if lacking:
        kinds = [label for label, chars in (("数字", "0123456789"), ("英文字母", "AZaz"), ("括号等标点", "()[]:,.-/"))
                 if any(c in lacking for c in chars)]
        skipped.append(f"{Path(path).name} 缺少{'、'.join(kinds) or '部分汉字'}(如 {lacking[:12]})")
        return False
    pdfmetrics.registerFont(font)
    return True


def candidates() -> list[str]:
    """Font files to try, in order: the folders of ``STATION_FONT_DIRS`` if set, else ``CANDIDATES``."""
    dirs = [d for d in os.environ.get("STATION_FONT_DIRS", "").split(os.pathsep) if d]
    if not dirs:
        return list(CANDIDATES)
    return [str(f) for d in dirs if Path(d).is_dir()
            for f in sorted(Path(d).iterdir()) if f.suffix.lower() in (".ttf", ".ttc") and f.is_file()]


@lru_cache(maxsize=1)
def cjk_font() -> FontChoice:
    """Register and return the font every document uses (once per process)."""
    configured = os.environ.get("STATION_FONT")
    warning = None
    skipped: list[str] = []
    if configured:
        if Path(configured).is_file() and _try(configured, skipped):
            return FontChoice("VSCJK", configured, True, None)
        warning = (f"指定的字体 {configured} 无法使用(须为 TrueType .ttf/.ttc"
                   + (f",且含数字、字母和标点:{skipped[0]}" if skipped else "") + ")")
        skipped.clear()
    for path in candidates():
        if Path(path).is_file() and _try(path, skipped):
            return FontChoice("VSCJK", path, True, warning)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    notes = [warning] if warning else []
    notes += [f"已跳过字体 {'、'.join(skipped)},用它打印会缺字"] if skipped else []
    return FontChoice(FALLBACK, None, False, "".join(n + ";" for n in notes)
                      + "未找到可嵌入的中文字体,改用内置宋体(STSong-Light):少数阅读器或打印机可能显示不全。"
                      "可安装文泉驿微米黑(fonts-wqy-microhei),或用 STATION_FONT 指定字体文件。")
