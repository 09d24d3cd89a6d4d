"""The infrastructure ledger: budget, progress, payments (never over budget), acceptance."""
import pytest

from ledgers import infra
from station.core.ids import short
from station.core.models import Role
from station.errors import PermissionDenied, ValidationFailed
from station.services import users


def test_project_life(session, home):
    pid = infra.create(session, "石板村三组通组公路硬化", "一事一议财政奖补", "185000.00", "旧州镇建筑队")
    with pytest.raises(ValidationFailed, match="超出预算"):
        infra.pay(session, pid, "200000", "旧州镇建筑队")
    infra.progress(session, pid, 40, "路基完成")
    p = infra.pay(session, pid, "74000.00", "旧州镇建筑队")
    assert p.paid_fen == 7_400_000 and p.as_dict()["remaining"] == "111,000.00" and p.status == "building"
    with pytest.raises(ValidationFailed, match="原因"):
        infra.pay(session, pid, "-1000", "旧州镇建筑队")
    p = infra.pay(session, pid, "-1000", "旧州镇建筑队", reason="重复登记冲减")
    assert p.paid_fen == 7_300_000 and len(p.payments) == 2  # the wrong payment stays, reversed
    with pytest.raises(ValidationFailed, match="未完工"):
        infra.accept(session, pid, "合格")
    infra.progress(session, short(pid), 100, "全部完工")  # the short id a listing shows works too
    users.add(session, "daiban", "杨光明", Role.CLERK, "clerk-pass-1")
    with home.unlock("daiban", "clerk-pass-1") as clerk:
        with pytest.raises(PermissionDenied):
            infra.accept(clerk, pid, "合格")
    p = infra.accept(session, pid, "经乡镇组织验收,质量合格")
    assert p.status == "accepted" and p.as_dict()["status_label"] == "已验收"
    with pytest.raises(ValidationFailed):
        infra.progress(session, pid, 90)
    assert [x.name for x in infra.projects(session)] == ["石板村三组通组公路硬化"]
    assert session.store.scalar("SELECT count(*) FROM outbox WHERE kind = 'infra_event'") == 6
