"""The app's 备份 action: from the keyboard and the command palette, a worker with progress, the
result in Chinese, and the Today screen's reminder. A real demo station, a real folder as the stick."""
from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Label, Static

from station.services import backup, settings
from station.tui.screens.backup import BackupScreen
from station.tui.screens.settings import SettingsScreen
from station.tui.screens.today import TodayScreen
from tests.tui.conftest import app_for, settle


def text(widget) -> str:
    return str(widget.render())


async def test_backup_from_the_keyboard_then_today_says_when(station_dir, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    app = app_for(station_dir, watch_sticks=False, background_sync=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        line = app.screen.query_one("#backup-line", Static)
        assert "从未备份" in text(line) and "Ctrl+B" in text(line) and line.has_class("warning")
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert isinstance(app.screen, BackupScreen)
        app.screen.query_one("#backup-target").value = str(tmp_path / "not-plugged-in")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "请选择U盘" in text(app.screen.query_one("#err-backup-target", Label))
        assert not (tmp_path / "not-plugged-in").exists()
        app.screen.query_one("#backup-target").value = str(stick)
        seen = []
        app.screen._progress = (lambda original: lambda stage, done, total: (seen.append(stage), original(stage, done, total)))(
            app.screen._progress)
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        result = text(app.screen.query_one("#backup-result", Static))
        assert "备份完成" in result and "代办件 40 件" in result, result
        assert "copy" in seen and "verify" in seen
        [generation] = (stick / "村站备份-XX0101").iterdir()
        assert backup.check(generation)["created_by"] == "daiban"
        assert app.session.store.scalar("SELECT user FROM audit WHERE action = 'backup.create'") == "daiban"
        assert settings.get(app.session, "backup_folder") == str(stick)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        line = app.screen.query_one("#backup-line", Static)
        assert "上次在今天" in text(line) and not line.has_class("warning")


async def test_a_failed_backup_is_reported_and_leaves_nothing(station_dir, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "村站备份-XX0101").write_text("a file where the backup folder should go")
    app = app_for(station_dir, watch_sticks=False, background_sync=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        app.screen.query_one("#backup-target").value = str(stick)
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=5)
        result = app.screen.query_one("#backup-result", Static)
        assert "备份失败" in text(result) and "无法写入U盘" in text(result) and result.has_class("failed")
        assert [p.name for p in stick.iterdir()] == ["村站备份-XX0101"]
        assert settings.last_backup_at(app.session) is None


async def test_backup_is_in_the_command_palette_and_settings(station_dir, tmp_path):
    app = app_for(station_dir, user="zhanzhang", watch_sticks=False, background_sync=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "备份到U盘" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert CommandPalette.is_open(app)
        await pilot.press(*"备份")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BackupScreen)
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        screen = app.screen
        screen.query_one("#backup_remind_days").value = "0"
        screen.query_one("#backup_remind_days").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "1 至 90" in text(screen.query_one("#err-backup_remind_days", Label))
        screen.query_one("#backup_remind_days").value = "3"
        await pilot.press("enter")
        await pilot.pause()
        assert settings.backup_remind_days(app.session) == 3
        screen.query_one("#backup_keep").value = "2"
        screen.query_one("#backup_keep").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert settings.backup_keep(app.session) == 2
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert isinstance(app.screen, BackupScreen)
        assert "保留 2 份" in text(app.screen.query_one("#backup-last", Static))
