"""A CJK font for the PDF: embed a TrueType font found on the machine, so the page prints the
same on any reader and printer; fall back to reportlab's built-in STSong-Light (not embedded:
the reader must supply it) with a warning.

Order: ``STATION_FONT`` (a .ttf/.ttc path, for a font the station chooses), then the fonts
that Windows, Linux distributions and macOS ship. OpenType fonts with CFF outlines (e.g. Noto
CJK .otf) cannot be embedded by reportlab and are skipped.
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


@dataclass(frozen=True)
class FontChoice:
    name: str
    path: str | None
    embedded: bool
    warning: str | None


def _try(path: str) -> str | None:
    try:
        font = TTFont("VSCJK", path, subfontIndex=0) if path.lower().endswith(".ttc") else TTFont("VSCJK", path)
    except Exception:  # not TrueType outlines, unreadable, or not a font at all
        return None
    pdfmetrics.registerFont(font)
    return "VSCJK"


@lru_cache(maxsize=1)
def cjk_font() -> FontChoice:
    """Register and return the font every document uses (once per process)."""
    configured = os.environ.get("STATION_FONT")
    warning = None
    if configured:
        if Path(configured).is_file() and _try(configured):
            return FontChoice("VSCJK", configured, True, None)
        warning = f"指定的字体 {configured} 无法使用(须为 TrueType .ttf/.ttc)"
    for path in CANDIDATES:
        if Path(path).is_file() and _try(path):
            return FontChoice("VSCJK", path, True, warning)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FontChoice(FALLBACK, None, False, (warning + ";" if warning else "")
                      + "未找到可嵌入的中文字体,改用内置宋体(STSong-Light):少数阅读器或打印机可能显示不全。"
                      "可安装文泉驿微米黑,或用 STATION_FONT 指定字体文件。")
