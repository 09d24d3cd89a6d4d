"""Township staff accounts: roles from one policy table, enforced by the hub's services and the CLI."""
import os
import subprocess
import sys

import pytest

from station.errors import AlreadyExists, AuthFailed, PermissionDenied, ValidationFailed
from sync.hub import staff, staff_policy
from sync.hub.service import HubHome
from tests.sync.conftest import HUB_PASS, ROOT

HANDLER_PASS = "jingban-pass-77"

# Written out independently of the policy module: what a 经办人 may not do, and what reaches every
# station of a county's hub (so an account scoped to one township may not do it).
LEAD_ONLY = {"station.manage", "publish", "user.manage", "stats.all", "quarantine.discard", "county.manage"}
COUNTY_WIDE = {"serve", "station.manage", "publish", "user.manage", "county.manage"}


@pytest.mark.parametrize("action", sorted(staff_policy.ACTIONS))
def test_policy_table(action):
    assert staff_policy.allowed(staff_policy.LEAD, action)
    assert staff_policy.allowed(staff_policy.HANDLER, action) == (action not in LEAD_ONLY)
    assert not staff_policy.allowed(None, action) and not staff_policy.allowed("county", action)
    # the same account scoped to township A: what reaches every station is refused, the rest as before
    assert staff_policy.allowed(staff_policy.LEAD, action, "A") == (action not in COUNTY_WIDE)
    assert staff_policy.allowed(staff_policy.HANDLER, action, "A") == (action not in LEAD_ONLY | COUNTY_WIDE)
    if action in COUNTY_WIDE:
        with pytest.raises(PermissionDenied, match="乡镇 A 的账号不能.*请找县级负责人办理"):
            staff_policy.require(staff_policy.LEAD, action, "A")


# (account's township, station's township, sees its cases)
SEES = [(None, None, True), (None, "A", True), (None, "B", True),
        ("A", "A", True), ("A", "B", False), ("A", None, False)]


@pytest.mark.parametrize("scope,station_township,expected", SEES)
def test_which_stations_an_account_sees(scope, station_township, expected):
    assert staff_policy.sees(scope, station_township) == expected
    if expected:
        staff_policy.require_station(scope, "XX0101", station_township)
    else:
        with pytest.raises(PermissionDenied, match=f"服务站 XX0101 不属于乡镇 {scope}"):
            staff_policy.require_station(scope, "XX0101", station_township)


# (account's township, township asked for, listing limited to; or the refusal)
LISTINGS = [(None, None, None), (None, "b", "B"), (None, " ", None), ("A", None, "A"), ("A", "a", "A"),
            ("A", "B", PermissionDenied)]


@pytest.mark.parametrize("scope,asked,expected", LISTINGS)
def test_what_a_listing_is_limited_to(scope, asked, expected):
    if expected is PermissionDenied:
        with pytest.raises(PermissionDenied, match="本账号只能查看乡镇 A 的代办件和统计,不能查看乡镇 B 的"):
            staff_policy.listing_township(scope, asked)
    else:
        assert staff_policy.listing_township(scope, asked) == expected


def test_a_case_outside_the_township_reads_as_not_found():
    assert str(staff_policy.case_not_found("XX0102-2026-0001", None)) == "没有找到代办件 XX0102-2026-0001"
    assert "本账号只能查看乡镇 A 的代办件" in str(staff_policy.case_not_found("XX0102-2026-0001", "A"))
    assert staff_policy.reach(None) == "全县" and staff_policy.reach("A") == "乡镇 A"


def test_policy_names_every_lead_only_action():
    assert LEAD_ONLY <= set(staff_policy.ACTIONS)
    with pytest.raises(PermissionDenied, match="经办人不能登记、重置或停用服务站"):
        staff_policy.require(staff_policy.HANDLER, "station.manage")


@pytest.fixture
def home(tmp_path, hub_db):
    h = HubHome(tmp_path / "hub")
    h.init("JZ01", "旧州镇便民服务中心", "admin", HUB_PASS, db=hub_db)[0].store.close()
    return h


def audit_rows(hub, action):
    return hub.store.s.query("SELECT user, target, detail FROM audit WHERE action = ? ORDER BY seq", (action,))


def test_first_user_is_lead_and_adds_a_handler_who_cannot_manage(home):
    with home.unlock("admin", HUB_PASS) as hub:
        assert hub.role == staff_policy.LEAD
        staff.add(hub, "zhangsan", "张三", "经办人", HANDLER_PASS)
        with pytest.raises(AlreadyExists):
            staff.add(hub, "zhangsan", "张三", "经办人", HANDLER_PASS)
        assert [(r["username"], r["role_label"], r["active"]) for r in staff.members(hub)] == \
            [("admin", "负责人", 1), ("zhangsan", "经办人", 1)]
        assert [(r["user"], r["target"]) for r in audit_rows(hub, "user.add")] == [("admin", "zhangsan")]
    with home.unlock("zhangsan", HANDLER_PASS) as hub:
        assert hub.role == staff_policy.HANDLER
        for attempt in (lambda: hub.add_station("XX0101", "石板村"), lambda: hub.revoke("XX0101"),
                        lambda: hub.publish_notice("公告", "停水", "明天停水", "2026-11-20", "2026-11-30"),
                        lambda: hub.publish("calendar", {"year": 2027, "holidays": ["2027-01-01"]}),
                        lambda: staff.add(hub, "lisi", "李四", "经办人", HANDLER_PASS)):
            with pytest.raises(PermissionDenied):
                attempt()
        assert hub.store.stations() == [] and len(staff.members(hub)) == 2


def test_deactivated_user_cannot_log_in_until_activated_with_a_new_passphrase(home):
    with home.unlock("admin", HUB_PASS) as hub:
        staff.add(hub, "zhangsan", "张三", "经办人", HANDLER_PASS)
        with pytest.raises(PermissionDenied):
            staff.deactivate(hub, "admin")
        staff.deactivate(hub, "zhangsan")
    with pytest.raises(AuthFailed, match="已停用"):
        home.unlock("zhangsan", HANDLER_PASS)
    assert "zhangsan" not in home.users()
    with home.unlock("admin", HUB_PASS) as hub:
        staff.activate(hub, "zhangsan", "another-pass-88")
        assert [r["user"] for r in audit_rows(hub, "user.deactivate") + audit_rows(hub, "user.activate")] == ["admin", "admin"]
    with pytest.raises(AuthFailed):
        home.unlock("zhangsan", HANDLER_PASS)
    home.unlock("zhangsan", "another-pass-88").store.close()


def test_the_last_lead_stays_a_lead(home):
    with home.unlock("admin", HUB_PASS) as hub:
        with pytest.raises(ValidationFailed, match="无法更改角色"):
            staff.set_role(hub, "admin", "经办人")
        staff.add(hub, "wangwu", "王五", "负责人", HANDLER_PASS)
        staff.set_role(hub, "admin", "经办人")
        assert hub.store.staff_member("admin")["role"] == staff_policy.HANDLER
    with home.unlock("wangwu", HANDLER_PASS) as hub:
        with pytest.raises(ValidationFailed, match="最后一位"):
            staff.set_role(hub, "wangwu", "经办人")


def test_a_hub_from_before_staff_accounts_makes_its_keyring_users_leads(home):
    with home.unlock("admin", HUB_PASS) as hub:
        with hub.store.transaction():
            hub.store.s.conn.execute("DELETE FROM staff")  # as a hub migrated from before the staff table
    with home.unlock("admin", HUB_PASS) as hub:
        assert hub.role == staff_policy.LEAD
        assert [r["user"] for r in audit_rows(hub, "user.seed")] == ["admin"]  # entered as 负责人 now, audited


def township(home, *args, user="admin", passphrase=HUB_PASS, new=None):
    env = {**os.environ, "TOWNSHIP_USER": user, "TOWNSHIP_PASSPHRASE": passphrase}
    if new:
        env["TOWNSHIP_NEW_PASSPHRASE"] = new
    return subprocess.run([sys.executable, "-m", "sync.hub.cli", *args, "--data-dir", str(home.dir)],
                          cwd=ROOT, capture_output=True, text=True, env=env)


def test_cli_user_commands_and_a_handler_refused_station_add(home, tmp_path):
    r = township(home, "user", "add", "zhangsan", "--name", "张三", "--role", "经办人", new=HANDLER_PASS)
    assert r.returncode == 0, r.stderr
    assert "已添加经办人 张三" in r.stdout
    r = township(home, "user", "list")
    assert "zhangsan" in r.stdout and "经办人" in r.stdout and "负责人" in r.stdout
    r = township(home, "station", "add", "--code", "XX0101", "--name", "石板村", "--out", str(tmp_path / "e.json"),
                 user="zhangsan", passphrase=HANDLER_PASS)
    assert r.returncode == 6 and "经办人不能登记" in r.stderr and "Traceback" not in r.stderr
    r = township(home, "user", "role", "zhangsan", "--role", "负责人")
    assert r.returncode == 0, r.stderr
    r = township(home, "station", "add", "--code", "XX0101", "--name", "石板村", "--out", str(tmp_path / "e.json"),
                 user="zhangsan", passphrase=HANDLER_PASS)
    assert r.returncode == 0, r.stderr
    r = township(home, "user", "deactivate", "zhangsan")
    assert r.returncode == 0, r.stderr
    r = township(home, "case", "list", user="zhangsan", passphrase=HANDLER_PASS)
    assert r.returncode == 5 and "已停用" in r.stderr
    r = township(home, "user", "activate", "zhangsan", new="brand-new-pass-5")
    assert r.returncode == 0, r.stderr
    assert township(home, "case", "list", user="zhangsan", passphrase="brand-new-pass-5").returncode == 0
