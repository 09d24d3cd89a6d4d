"""Finding a catalog item as a clerk types: Chinese characters, the item code, or pinyin initials.

``dbsq`` finds 最低生活保障申请 (initials zdshbzsq contain d…b…s…q in order), the way clerks
abbreviate 低保申请. Ranking: name substring, then code, then initials substring, then initials
as an in-order subsequence (fewer gaps first). Pure; pypinyin is imported when first needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from station.core.models import CatalogItem


@lru_cache(maxsize=4096)
def initials(text: str) -> str:
    from pypinyin import Style, lazy_pinyin  # ~0.15 s to import: only when the intake screen needs it
    return "".join(p[:1] for p in lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda s: list(s.lower()))).lower()


def _subsequence_gaps(needle: str, hay: str) -> int | None:
    """How many letters are skipped to find ``needle`` in order in ``hay``; None if it isn't there."""
    pos, gaps, started = 0, 0, False
    for ch in needle:
        found = hay.find(ch, pos)
        if found < 0:
            return None
        if started:
            gaps += found - pos
        started, pos = True, found + 1
    return gaps


def text_score(query: str, text: str) -> int | None:
    """How well ``query`` (Chinese or pinyin initials) names ``text``, ranked as for catalog items; None: not at all."""
    q, name = query.strip().lower(), text.lower()
    if not q:
        return 0
    if q in name:
        return 1000 - name.index(q)
    if not q.isascii():
        return None
    ini = initials(text)
    if q in ini:
        return 800 - ini.index(q)
    gaps = _subsequence_gaps(q, ini)
    return None if gaps is None else 500 - 10 * gaps


@dataclass(frozen=True)
class Match:
    item: CatalogItem
    score: int


def find_items(items: tuple[CatalogItem, ...] | list[CatalogItem], query: str, limit: int = 30) -> list[CatalogItem]:
    q = query.strip().lower()
    if not q:
        return list(items)[:limit]
    matches = []
    for order, item in enumerate(items):
        score = None
        if q in item.name.lower():
            score = 1000 - item.name.lower().index(q)
        elif q in item.code.lower():
            score = 900
        elif q.isascii():
            ini = initials(item.name)
            if q in ini:
                score = 800 - ini.index(q)
            else:
                gaps = _subsequence_gaps(q, ini)
                if gaps is not None:
                    score = 500 - 10 * gaps
        if score is not None:
            matches.append((-score, order, item))
    return [m[2] for m in sorted(matches, key=lambda m: (m[0], m[1]))[:limit]]
