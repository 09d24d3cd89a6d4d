"""A CJK font for the PDF: a TrueType font found on the machine, embedded, so the page prints the
same on any reader and printer; when no font on the machine covers the text, printing is refused.

Order: ``STATION_FONT`` (a .ttf/.ttc path, for a font the station chooses), then the fonts
that Windows, Linux distributions and macOS ship — the Windows ones first, and on Windows from
the system's own font folder — (or, with ``STATION_FONT_DIRS``, every .ttf/.ttc in those folders
instead). OpenType fonts with CFF outlines (e.g. Noto CJK .otf) cannot be embedded by reportlab
and are skipped.

A font is never trusted by its name: Droid Sans Fallback, for one, has the CJK ideographs but
no digits, Latin letters or brackets, and a receipt printed with it has no case number, date
or phone. Each candidate's cmap is checked for ``REQUIRED`` before it is chosen, and after a
document is built every character it actually drew (``recording``) is checked against the
chosen font (``check_drawn``): a rare character in a name is found there, not on paper. There
is no built-in fallback: reportlab's STSong-Light is not embedded and printed ``·`` as a box.
"""
from __future__ import annotations

import contextvars
import os
import sys
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from station.errors import PrintFailed

_WINDOWS_FONTS = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
WINDOWS = [str(_WINDOWS_FONTS / n) for n in ("simsun.ttc", "msyh.ttc", "simhei.ttf", "msyh.ttf")]
CANDIDATES = WINDOWS + [
    # Linux
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    # macOS
    "/Library/Fonts/Arial Unicode.ttf", "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
]

# What every printout prints: digits, ASCII letters and punctuation (case numbers, dates, phones,
# masked IDs), the full-width punctuation of Chinese text, and the CJK of the documents' fixed wording.
REQUIRED = ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            "()[]:;,.-/*_%+×…·~"
            "(),。:;、【】“”"
            "代办事项受理回执存根件号申请人身份证办理收件日期结期限已材料尚缺容告知书委托签字按手印台账"
            "补贴救助公示名单户主村民小组面积金额元亩银行卡状态类型更正原因合计本页第共打印站长盖章一二三四五六七八九十")


class FontMissing(PrintFailed):
    """No font on this machine can print the document's text: refused, never printed blank."""

    code = "font_missing"


@dataclass(frozen=True)
class FontChoice:
    name: str
    path: str | None
    embedded: bool
    warning: str | None


def install_hint() -> str:
    """Which font to install, in the clerk's words, for this kind of machine."""
    if os.name == "nt":
        return f"请确认 {_WINDOWS_FONTS} 中有宋体(simsun.ttc)或微软雅黑(msyh.ttc),缺少时从系统安装盘或设置中补装"
    if sys.platform == "darwin":
        return "请安装含中文的字体(如 Arial Unicode)"
    return "请安装文泉驿微米黑字体(软件包 fonts-wqy-microhei),安装后重新打印"


def _name_for(path: str) -> str:
    # one registered name per file: reportlab never replaces a name once registered, so a name
    # shared by two files would keep drawing with the first
    return f"VSCJK-{zlib.crc32(os.fsencode(path)):08x}"


def _load(path: str, name: str = "VSCJK") -> TTFont | None:
    try:
        return _Recording(name, path, subfontIndex=0) if path.lower().endswith(".ttc") else _Recording(name, path)
    except Exception:  # not TrueType outlines, unreadable, or not a font at all
        return None


def missing_glyphs(path: str, text: str = REQUIRED) -> str | None:
    """The characters of ``text`` the font at ``path`` has no glyph for ("" when it has them all);
    None when the file cannot be used at all."""
    font = _load(path)
    return None if font is None else _lacking(font, text)


def _lacking(font: TTFont, text) -> str:
    cmap = font.face.charToGlyph
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace() and cmap.get(ord(ch), 0) == 0))


def _why(path: str, lacking: str) -> str:
    kinds = [label for label, chars in (("数字", "0123456789"), ("英文字母", "AZaz"), ("括号等标点", "()[]:,.-/"))
             if any(c in lacking for c in chars)]
    return f"{Path(path).name} 缺少{'、'.join(kinds) or '部分汉字'}(如 {lacking[:12]})"


def candidates() -> list[str]:
    """Font files to try, in order: the folders of ``STATION_FONT_DIRS`` if set, else ``CANDIDATES``."""
    dirs = [d for d in os.environ.get("STATION_FONT_DIRS", "").split(os.pathsep) if d]
    if not dirs:
        return list(CANDIDATES)
    return [str(f) for d in dirs if Path(d).is_dir()
            for f in sorted(Path(d).iterdir()) if f.suffix.lower() in (".ttf", ".ttc") and f.is_file()]


def survey(text: str = REQUIRED) -> list[tuple[str, str | None]]:
    """Every candidate file present on the machine and what it lacks of ``text`` ("" = nothing;
    None = not a usable TrueType font), for ``station doctor``."""
    configured = os.environ.get("STATION_FONT")
    paths = ([configured] if configured else []) + candidates()
    return [(p, missing_glyphs(p, text)) for p in dict.fromkeys(paths) if Path(p).is_file()]


def _refusal(skipped: list[str], lacking: str = "") -> FontMissing:
    what = f"缺少“{lacking[:20]}”等字" if lacking else "缺少数字、字母或汉字"
    found = f"(本机找到的字体:{';'.join(skipped)})" if skipped else "(本机未找到可用的中文字体)"
    return FontMissing(f"不能打印:本机字体{what},打印出来会缺字{found}。{install_hint()}。")


@lru_cache(maxsize=1)
def cjk_font() -> FontChoice:
    """Register and return the font every document uses (once per process); ``FontMissing``
    when no font on the machine has digits, letters, punctuation and the documents' wording."""
    return _choose(REQUIRED)


def _choose(text: str) -> FontChoice:
    configured = os.environ.get("STATION_FONT")
    warning = None
    skipped: list[str] = []
    paths = candidates()
    if configured:
        font = _load(configured, _name_for(configured)) if Path(configured).is_file() else None
        lacking = None if font is None else _lacking(font, text)
        if font is not None and not lacking:
            pdfmetrics.registerFont(font)
            return FontChoice(font.fontName, configured, True, None)
        warning = (f"指定的字体 {configured} 无法使用(须为 TrueType .ttf/.ttc"
                   + (f",且含数字、字母和标点:{_why(configured, lacking)}" if lacking else "") + "),已改用本机其他字体")
    for path in paths:
        font = _load(path, _name_for(path)) if Path(path).is_file() else None
        if font is None:
            continue
        lacking = _lacking(font, text)
        if lacking:
            skipped.append(_why(path, lacking))
            continue
        pdfmetrics.registerFont(font)
        return FontChoice(font.fontName, path, True, warning)
    raise _refusal(skipped)


# --- what a document actually drew ----------------------------------------------------------
_DRAWN: contextvars.ContextVar[set | None] = contextvars.ContextVar("drawn", default=None)
_OVERRIDE: contextvars.ContextVar[FontChoice | None] = contextvars.ContextVar("font", default=None)


class _Recording(TTFont):
    """A TrueType font that notes every character drawn with it while ``recording`` is on
    (reportlab draws all text of a TrueType font through ``splitString``)."""

    def splitString(self, text, doc, encoding="utf-8"):  # noqa: N802 - reportlab's name
        drawn = _DRAWN.get()
        if drawn is not None:
            drawn.update(text if isinstance(text, str) else text.decode(encoding))
        return super().splitString(text, doc, encoding)


def current() -> FontChoice:
    """The font documents are built with now: the one ``using`` set, else ``cjk_font()``."""
    return _OVERRIDE.get() or cjk_font()


@contextmanager
def recording():
    """Collect the characters drawn while the block runs (in this thread/context)."""
    drawn: set[str] = set()
    token = _DRAWN.set(drawn)
    try:
        yield drawn
    finally:
        _DRAWN.reset(token)


@contextmanager
def using(choice: FontChoice):
    token = _OVERRIDE.set(choice)
    try:
        yield choice
    finally:
        _OVERRIDE.reset(token)


def lacking_drawn(choice: FontChoice, drawn) -> str:
    """Which drawn characters ``choice`` has no glyph for."""
    font = pdfmetrics.getFont(choice.name)
    return _lacking(font, sorted(drawn))


@lru_cache(maxsize=32)
def covering(text: str) -> FontChoice:
    """A font that covers ``REQUIRED`` and ``text`` (a name with a rare character), registered
    under its own name; ``FontMissing`` naming the characters when the machine has none."""
    try:
        return _choose(REQUIRED + text)
    except FontMissing:
        skipped = [_why(p, lacking) for p, lacking in survey(REQUIRED + text) if lacking]
        raise _refusal(skipped, text) from None
