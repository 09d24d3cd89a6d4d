"""Shared page furniture: A4 frames, Chinese paragraph styles, signature lines, text fitting."""
from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from printouts import fonts

PORTRAIT = A4
LANDSCAPE = landscape(A4)
MARGIN = 15 * mm
GRID = colors.HexColor("#444444")
LIGHT = colors.HexColor("#EEEEEE")


def font() -> str:
    return fonts.current().name


def style(size: float = 10.5, leading: float | None = None, align: int = 0, bold: bool = False) -> ParagraphStyle:
    """A paragraph style that wraps Chinese text at any character (wordWrap CJK)."""
    return ParagraphStyle(f"vs-{size}-{align}-{bold}", fontName=font(), fontSize=size, leading=leading or size * 1.45,
                          alignment=align, wordWrap="CJK", textColor=colors.black)


def fit(text: str, width: float, size: float) -> str:
    """Cut ``text`` so it fits ``width`` points in the CJK font, marking the cut with …."""
    text = text or ""
    name = font()
    if stringWidth(text, name, size) <= width:
        return text
    while text and stringWidth(text + "…", name, size) > width:
        text = text[:-1]
    return text + "…"


def esc(text) -> str:
    """Escape for reportlab's paragraph mini-markup."""
    return str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
