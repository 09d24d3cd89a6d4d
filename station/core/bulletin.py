"""The 九个一 (nine ones) of a village station, and the checklist that says which are in place.

Paper 002 §3.8: 一块牌子 a sign · 一个场所 a room · 一套制度 rules · 一本台账 a ledger · 一个电话 a phone ·
一名以上代办员 clerks · 一个公示栏 a notice board · 一套办事须知 service instructions · 一站式办结 one-stop
completion. Pure: the profile and a few facts from the store go in, the checklist comes out.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RULES = {
    "首问负责制": "群众来站办事,首位接待的代办员负责到底,直至事项办结并告知结果,不得推诿。",
    "一次性告知制": "材料不全的,一次性书面告知须补齐的全部材料,不得让群众多次往返。",
    "限时办结制": "自受理之日起按承诺时限(工作日)办结;超期的,由站长督办并向群众说明原因。",
    "代办员责任制": "代办员免费代办,如实登记、妥善保管群众材料,及时送达办理结果,不得收取任何费用。",
    "容缺受理制": "非关键材料缺失的,经群众书面承诺限期补齐,可先行受理。",
    "好差评制度": "一事一评;差评件由站长核实、整改并回访。",
}

NINE = ("sign", "room", "rules", "ledger", "phone", "clerks", "board", "instructions", "one_stop")
LABELS = {"sign": "一块牌子", "room": "一个场所", "rules": "一套制度", "ledger": "一本台账", "phone": "一个电话",
          "clerks": "一名以上代办员", "board": "一个公示栏", "instructions": "一套办事须知", "one_stop": "一站式办结"}


@dataclass(frozen=True)
class Facts:
    """What the store knows that the profile does not say."""

    clerks_active: int
    ledger_entries: int
    infra_projects: int
    notices_published: int
    catalog_items: int


@dataclass(frozen=True)
class CheckItem:
    key: str
    label: str
    ok: bool
    missing: str | None


def checklist(profile: dict, facts: Facts) -> list[CheckItem]:
    def item(key: str, ok: bool, missing: str) -> CheckItem:
        return CheckItem(key, LABELS[key], ok, None if ok else missing)
    rules = profile.get("rules") or {}
    on_duty = [c for c in profile.get("clerks_on_duty") or [] if str(c).strip()]
    return [
        item("sign", bool(profile.get("name")), "未填写服务站正式名称(牌子)"),
        item("room", bool(profile.get("address")) and bool(profile.get("hours")), "未填写服务站地址或办公时间"),
        item("rules", all((rules.get(k) or "").strip() for k in ("首问负责制", "一次性告知制", "限时办结制", "代办员责任制")),
             "制度不全:首问负责、一次性告知、限时办结、代办员责任须齐全"),
        item("ledger", facts.ledger_entries + facts.infra_projects > 0, "尚未建立任何台账(补贴、救助或基础设施)"),
        item("phone", bool(profile.get("phone")), "未填写服务站电话"),
        item("clerks", facts.clerks_active >= 1 and len(on_duty) >= 1, "没有登记在岗代办员"),
        item("board", facts.notices_published >= 1, "公示栏还没有发布任何公示或公告"),
        item("instructions", facts.catalog_items >= 1, "没有办事须知(事项清单为空)"),
        item("one_stop", bool((profile.get("one_stop") or "").strip()), "未说明一站式办结的做法"),
    ]
