"""Who among the township's staff may do what, and which stations' cases they see (pure: tables, no store).

Two roles: 经办人 work the cases; 负责人 also manage stations, publish to stations, see every
station's statistics and manage the staff accounts. The hub's services and the ``township``
command ask ``require`` before acting; the console hides what a role may not do.

Two reaches (a county's hub, sync/hub/county.py): an account belongs to one township (乡镇,
``scope`` its code) or to the whole county (``scope`` None, as every account on a township's own
hub). A township account sees and works only the cases of its township's stations — listing,
reading, deciding, statistics, quarantine — and may not do what reaches every station (the
actions marked county-wide below: managing stations, publishing, accounts, running the server).
The hub asks ``sees``/``listing_township``/``require_station``/``case_not_found`` wherever cases
or stations are read for staff, so the rule is decided here and nowhere else.
"""
from __future__ import annotations

from typing import NamedTuple

from station.errors import NotFound, PermissionDenied

HANDLER, LEAD = "handler", "lead"
ROLES = {HANDLER: "经办人", LEAD: "负责人"}
_BOTH = frozenset({HANDLER, LEAD})
_LEAD = frozenset({LEAD})


class Rule(NamedTuple):
    roles: frozenset[str]  # roles allowed
    name: str  # what it is called in a refusal
    county_wide: bool = False  # reaches every station: not for an account scoped to one township


ACTIONS: dict[str, Rule] = {
    "case.view": Rule(_BOTH, "查看代办件"),
    "case.work": Rule(_BOTH, "受理、退回、办结代办件"),
    "case.import_decisions": Rule(_BOTH, "批量导入办理结果"),
    "import": Rule(_BOTH, "导入U盘数据包"),
    "serve": Rule(_BOTH, "运行同步服务", county_wide=True),
    "quarantine.view": Rule(_BOTH, "查看搁置的记录"),
    "quarantine.retry": Rule(_BOTH, "重试搁置的记录"),
    "quarantine.discard": Rule(_LEAD, "丢弃搁置的记录"),
    "audit.verify": Rule(_BOTH, "校验审计链"),
    "stats.own": Rule(_BOTH, "查看统计"),
    "stats.all": Rule(_LEAD, "查看全部统计"),
    "station.manage": Rule(_LEAD, "登记、重置或停用服务站", county_wide=True),
    "publish": Rule(_LEAD, "向服务站发布清单、日历、名单和公告", county_wide=True),
    "user.manage": Rule(_LEAD, "管理乡镇工作人员账号", county_wide=True),
    "county.manage": Rule(_LEAD, "添加乡镇或划归服务站", county_wide=True),
}


def role_of(label_or_code: str) -> str | None:
    """A role code from its code or its Chinese name (经办人/负责人)."""
    for code, label in ROLES.items():
        if label_or_code in (code, label):
            return code
    return None


def allowed(role: str | None, action: str, scope: str | None = None) -> bool:
    rule = ACTIONS[action]
    return role in rule.roles and not (rule.county_wide and scope is not None)


def require(role: str | None, action: str, scope: str | None = None) -> None:
    rule = ACTIONS[action]
    if role not in rule.roles:
        who = ROLES.get(role or "", "未登记的用户")
        raise PermissionDenied(f"{who}不能{rule.name},请找负责人办理")
    if rule.county_wide and scope is not None:
        raise PermissionDenied(f"乡镇 {scope} 的账号不能{rule.name},请找县级负责人办理")


def reach(scope: str | None) -> str:
    """What an account reaches, for lists and the console's title."""
    return "全县" if scope is None else f"乡镇 {scope}"


def sees(scope: str | None, station_township: str | None) -> bool:
    """Whether an account sees a station's cases: a county-wide one every station's, a township's only
    its own stations' (not a station outside every township)."""
    return scope is None or station_township == scope


def listing_township(scope: str | None, asked: str | None = None) -> str | None:
    """The township a listing or a statistic is limited to: what a county-wide account asked for (None:
    the whole county), and a township account's own whatever it asked (another township: refused)."""
    asked = asked.strip().upper() if asked and asked.strip() else None
    if scope is None:
        return asked
    if asked is not None and asked != scope:
        raise PermissionDenied(f"本账号只能查看乡镇 {scope} 的代办件和统计,不能查看乡镇 {asked} 的")
    return scope


def require_station(scope: str | None, code: str, station_township: str | None) -> None:
    if not sees(scope, station_township):
        raise PermissionDenied(f"服务站 {code} 不属于乡镇 {scope},本账号不能查看或办理它的代办件")


def case_not_found(ref: str, scope: str | None) -> NotFound:
    """The refusal for a case that is not there or not the account's to see: the same words for
    both, so a township account cannot learn which of another township's numbers exist."""
    if scope is None:
        return NotFound(f"没有找到代办件 {ref}")
    return NotFound(f"没有找到代办件 {ref}(本账号只能查看乡镇 {scope} 的代办件)")
