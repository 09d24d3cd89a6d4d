"""Who among the township's staff may do what (pure: one table, no store).

Two roles: 经办人 work the cases; 负责人 also manage stations, publish to stations, see every
station's statistics and manage the staff accounts. The hub's services and the ``township``
command ask ``require`` before acting; the console hides what a role may not do.
"""
from __future__ import annotations

from station.errors import PermissionDenied

HANDLER, LEAD = "handler", "lead"
ROLES = {HANDLER: "经办人", LEAD: "负责人"}
_BOTH = frozenset({HANDLER, LEAD})
_LEAD = frozenset({LEAD})

# action → (roles allowed, what it is called in a refusal)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "case.view": (_BOTH, "查看代办件"),
    "case.work": (_BOTH, "受理、退回、办结代办件"),
    "case.import_decisions": (_BOTH, "批量导入办理结果"),
    "import": (_BOTH, "导入U盘数据包"),
    "serve": (_BOTH, "运行同步服务"),
    "quarantine.view": (_BOTH, "查看搁置的记录"),
    "quarantine.retry": (_BOTH, "重试搁置的记录"),
    "quarantine.discard": (_LEAD, "丢弃搁置的记录"),
    "audit.verify": (_BOTH, "校验审计链"),
    "stats.own": (_BOTH, "查看统计"),
    "stats.all": (_LEAD, "查看全部统计"),
    "station.manage": (_LEAD, "登记、重置或停用服务站"),
    "publish": (_LEAD, "向服务站发布清单、日历、名单和公告"),
    "user.manage": (_LEAD, "管理乡镇工作人员账号"),
}


def role_of(label_or_code: str) -> str | None:
    """A role code from its code or its Chinese name (经办人/负责人)."""
    for code, label in ROLES.items():
        if label_or_code in (code, label):
            return code
    return None


def allowed(role: str | None, action: str) -> bool:
    return role in ACTIONS[action][0]


def require(role: str | None, action: str) -> None:
    if not allowed(role, action):
        who = ROLES.get(role or "", "未登记的用户")
        raise PermissionDenied(f"{who}不能{ACTIONS[action][1]},请找负责人办理")
