"""Users and passwords from 设置: a clerk changes their own password (old + new twice, strength told
as typed); the supervisor adds a user, changes a role, stops and restores one, resets a password.
Every check logs in for real against the station's keys.json afterwards, and reads the audit."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable, Label

from station.errors import AuthFailed
from station.services import demo
from station.services.session import StationHome
from station.tui.screens.accounts import AddUserForm, PasswordForm
from station.tui.screens.case_detail import Confirm
from station.tui.screens.settings import SettingsScreen
from tests.tui.conftest import TODAY, app_for, settle

GOOD = "hehua-luotuo-erhu-38"
GOOD2 = "yumi-xigua-pipa-71"


def login(station_dir, user: str, passphrase: str):
    StationHome(station_dir).unlock(user, passphrase, today=lambda: TODAY).close()


def label(screen, field: str) -> str:
    return str(screen.query_one(f"#err-{field}", Label).content)


async def fill(pilot, values: dict[str, str]) -> None:
    for selector, value in values.items():
        pilot.app.screen.query_one(selector).value = value
    await pilot.pause()


def users_table(screen) -> dict[str, tuple[str, str]]:
    table = screen.query_one("#users-table", DataTable)
    return {str(table.get_row_at(i)[0]): (str(table.get_row_at(i)[2]), str(table.get_row_at(i)[3])) for i in range(table.row_count)}


def pick(screen, username: str) -> None:
    table = screen.query_one("#users-table", DataTable)
    table.move_cursor(row=[str(table.get_row_at(i)[0]) for i in range(table.row_count)].index(username))


async def test_a_clerk_changes_their_own_password(station_dir):
    app = app_for(station_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#change-my-password").press()
        await settle(pilot)
        form = app.screen
        assert isinstance(form, PasswordForm)
        await fill(pilot, {"#new-password": "daiban123"})
        assert "太容易被猜到" in label(form, "passphrase") and "登录名" in label(form, "passphrase")  # told as typed
        await fill(pilot, {"#new-password": GOOD})
        assert "强度足够" in label(form, "passphrase")
        await fill(pilot, {"#old-password": demo.DEMO_PASSPHRASE, "#new-password-again": GOOD2})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form and "不一致" in label(form, "again")
        await fill(pilot, {"#old-password": "not-my-password", "#new-password-again": GOOD})
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        assert app.screen is form and "原密码不正确" in label(form, "old")
        await fill(pilot, {"#old-password": demo.DEMO_PASSPHRASE})
        form.query_one("#save-password").press()
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#change-my-password").press()
        await settle(pilot)
        await pilot.press("escape")  # Esc cancels
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        actions = app.session.store.query("SELECT action, target FROM audit WHERE action = 'user.passwd'")
    assert actions == [{"action": "user.passwd", "target": "daiban"}]
    login(station_dir, "daiban", GOOD)
    with pytest.raises(AuthFailed):
        login(station_dir, "daiban", demo.DEMO_PASSPHRASE)


async def test_the_supervisor_adds_promotes_stops_restores_and_resets(station_dir):
    clerk = app_for(station_dir)
    async with clerk.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert not clerk.screen.query_one("#users-section").display  # no user management for a clerk…
        assert clerk.screen.query_one("#change-my-password").display  # …but their own password
    app = app_for(station_dir, user="zhanzhang")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#add-user").press()
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AddUserForm)
        await fill(pilot, {"#username": "Xiao Li", "#display_name": "李晓", "#new-password": GOOD, "#new-password-again": GOOD})
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        assert app.screen is form and "登录名须以小写字母开头" in label(form, "username")
        await fill(pilot, {"#username": "xiaoli"})
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        assert app.screen is screen
        assert users_table(screen)["xiaoli"] == ("代办员", "在用")
        # promote, then back: the demotion changes the key and brings a new recovery code
        pick(screen, "xiaoli")
        screen.query_one("#role-user").press()
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await settle(pilot, rounds=6)
        assert users_table(screen)["xiaoli"] == ("站长", "在用")
        pick(screen, "xiaoli")
        key = app.session.db_key
        screen.query_one("#role-user").press()
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, rounds=8)
        assert users_table(screen)["xiaoli"] == ("代办员", "在用") and app.session.db_key != key
        await pilot.press("escape")  # the new recovery code's dialog
        await settle(pilot)
        # stop xiaoli (existing button), then restore with a new password
        pick(screen, "xiaoli")
        screen.query_one("#deactivate-user").press()
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, rounds=8)
        assert users_table(screen)["xiaoli"] == ("代办员", "已停用")
        pick(screen, "xiaoli")
        screen.query_one("#activate-user").press()
        await settle(pilot)
        assert isinstance(app.screen, PasswordForm)
        await fill(pilot, {"#new-password": GOOD2, "#new-password-again": GOOD2})
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        assert users_table(screen)["xiaoli"] == ("代办员", "在用")
        # reset the clerk's forgotten password
        pick(screen, "daiban")
        screen.query_one("#reset-user").press()
        await settle(pilot)
        assert isinstance(app.screen, PasswordForm) and not app.screen.query("#old-password")
        await fill(pilot, {"#new-password": GOOD, "#new-password-again": GOOD})
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        assert app.screen is screen
        audit = [(r["action"], r["target"]) for r in app.session.store.query(
            "SELECT action, target FROM audit WHERE action LIKE 'user.%' AND target IN ('xiaoli', 'daiban') ORDER BY seq")]
    assert audit[0] == ("user.add", "daiban")  # the demo station's own set-up
    assert audit[1:] == [("user.add", "xiaoli"), ("user.role", "xiaoli"), ("user.role", "xiaoli"), ("user.deactivate", "xiaoli"),
                     ("user.activate", "xiaoli"), ("user.passwd", "daiban")]
    login(station_dir, "xiaoli", GOOD2)
    login(station_dir, "daiban", GOOD)


async def test_the_supervisor_sees_the_recovery_code_again_audited(station_dir):
    from textual.widgets import Static

    from station.tui.screens.settings import RecoveryCodeScreen
    app = app_for(station_dir, user="zhanzhang")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        app.screen.query_one("#show-recovery").press()
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, RecoveryCodeScreen)
        code = str(app.screen.query_one("#new-recovery-code", Static).content)
        hint = " ".join(str(w.content) for w in app.screen.query(".hint"))
        assert "station" not in hint and "查看恢复码" in hint
        assert app.session.store.scalar("SELECT count(*) FROM audit WHERE action = 'recovery.reveal'") == 1
    # the code shown is the real one: it sets a new passphrase for the supervisor
    StationHome(station_dir).recover(code, "zhanzhang", GOOD).close()
    login(station_dir, "zhanzhang", GOOD)
