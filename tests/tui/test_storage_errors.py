"""Storage failures in the app: the clerk reads what happened and what to do, in Chinese —
at the unlock screen and when saving — never "wrong key" for a full disk, never a silent
failure. A real demo station on a real small tmpfs, filled."""
from __future__ import annotations

import shutil

from textual.widgets import Label, SelectionList

from station.services import cases, demo
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.unlock import UnlockScreen
from tests.store.media import fill, small_disk
from tests.tui.conftest import app_for, demo_copy, settle
from tests.tui.test_flows import text, type_into


def _on_small_disk(tmp_path, mnt):
    source = demo_copy(tmp_path, cases=10)
    target = mnt / "station"
    shutil.copytree(source, target)
    return target


def _messages(app) -> str:
    return "\n".join(f"{n.title or ''} {n.message}" for n in app._notifications)


async def test_unlock_with_almost_no_space_says_disk_full(tmp_path):
    with small_disk(tmp_path / "fs", size_kb=16384) as mnt:
        station = _on_small_disk(tmp_path, mnt)
        fill(mnt, leave=8192)
        app = app_for(station, user=None)
        async with app.run_test(size=(100, 30)) as pilot:
            assert isinstance(app.screen, UnlockScreen)
            await pilot.press(*demo.DEMO_PASSPHRASE, "enter")
            await settle(pilot)
            shown = text(app.screen.query_one("#unlock-error", Label))
            assert "磁盘空间已满" in shown and "密钥" not in shown
            assert app.session is None


async def test_saving_an_intake_on_a_full_disk_says_so_and_keeps_the_form(tmp_path):
    with small_disk(tmp_path / "fs", size_kb=16384) as mnt:
        station = _on_small_disk(tmp_path, mnt)
        app = app_for(station)
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(pilot)
            before = cases.count_cases(app.session)
            await pilot.press("f3")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, IntakeScreen)
            some = cases.list_cases(app.session, limit=1)[0]["resident_name"]
            await type_into(pilot, "#resident-search", some)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            await type_into(pilot, "#item-search", "dbsq")
            await pilot.press("enter")
            await settle(pilot)
            materials = screen.query_one("#materials", SelectionList)
            for name in ("申请人居民身份证", "户口簿", "最低生活保障申请书", "家庭经济状况核对授权书"):
                materials.select(name)
            filler = fill(mnt)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert screen.saved is None and app.screen is screen
            shown = _messages(app)
            assert "磁盘空间已满" in shown and "密钥" not in shown and "请按红字提示" not in shown
            assert not screen.query_one("#save").disabled  # the clerk can save again once space is freed
            filler.unlink()
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert screen.saved is not None
            assert cases.count_cases(app.session) == before + 1
