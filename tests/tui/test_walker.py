"""Every screen of the app at 80x24 and 120x40: no English on screen, no key a terminal cannot send.

The walk follows ``tests/tui/walker.SCREENS`` (add new screens there) and, over each stop, opens
F1 and the command palette too. It runs as the supervisor so every action is enabled.
"""
from __future__ import annotations

import pytest
from textual.binding import Binding

from ledgers import infra
from ledgers import service as ledger_service
from station.services import bulletin, cases, demo
from station.services.session import StationHome
from station.tui.app import StationApp
from tests.ledgers.test_ledgers import row, xlsx
from tests.tui import walker
from tests.tui.conftest import TODAY, app_for, demo_copy, settle


def _prepare(tmp_path):
    """A demo station with something in every ledger, notice and project list (the demo has none)."""
    station_dir = demo_copy(tmp_path)
    with StationHome(station_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY) as s:
        ledger_service.import_file(s, xlsx(tmp_path / "名单.xlsx", [row(1), row(2)]), "subsidy", "耕地地力保护补贴", "2026")
        bulletin.new_notice(s, "公告", "村务公开", "本月村务收支见附表。")
        infra.create(s, "村道硬化", "一事一议", "50000.00", "石板建筑队")
        users = list(StationHome(station_dir).keyring().users())
    return station_dir, users


def _ids(app) -> dict:
    s = app.session
    rated = cases.list_cases(s, status="rated", limit=1)[0]
    return {"session": s, "rated_case": rated["number"], "resident": rated["resident_id"],
            "open_case": cases.list_cases(s, status="accepted", limit=1)[0]["number"]}


async def _home(pilot) -> None:
    app = pilot.app
    while len(app.screen_stack) > 2:
        app.pop_screen()
        await pilot.pause()
    await settle(pilot)


async def _walk(tmp_path, size, stops=None) -> list[str]:
    station_dir, users = _prepare(tmp_path)
    # Logins, the demo's passphrase, the recovery code shown, the data folder's path.
    data = set(users) | {"shiban", "demo", "ABCD", "EFGH", "JKLM", "NPQR"} | set(walker._WORD.findall(str(station_dir)))
    found: list[str] = []

    def check(app, where: str) -> None:
        found.extend(f"{size[0]}x{size[1]} {where}: {p}" for p in walker.problems(app, data))

    app = app_for(station_dir, user=None, background_sync=False, watch_sticks=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        check(app, "登录")
        app.screen.query_one("#unlock-user").highlighted = users.index("zhanzhang")
        await pilot.press(*demo.DEMO_PASSPHRASE, "enter")
        await settle(pilot, 5)
        ids = _ids(app)
        for stop in stops or walker.SCREENS:
            await _home(pilot)
            await stop.go(pilot, ids)
            await settle(pilot)
            assert type(app.screen).__name__ == stop.expect, f"{stop.name}: {type(app.screen).__name__}"
            check(app, stop.name)
            if stop.expect == "LockScreen":
                continue  # nothing but the passphrase while locked
            if app.screen.is_modal:  # Esc leaves every dialog
                dialog = app.screen
                await pilot.press("escape")
                await settle(pilot)
                if app.screen is dialog:
                    found.append(f"{size[0]}x{size[1]} {stop.name}: Esc 没有关闭对话框")
                await stop.go(pilot, ids)
                await settle(pilot)
            await pilot.press("f1")
            await settle(pilot)
            check(app, f"{stop.name} · F1")
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("ctrl+p")
            await settle(pilot)
            check(app, f"{stop.name} · 命令面板")
            await pilot.press("escape")
            await settle(pilot)
    return found


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_screen_in_chinese_with_keys_a_terminal_sends(tmp_path, size):
    found = await _walk(tmp_path, size)
    assert not found, "\n".join(found)


async def test_walker_reports_an_english_builtin_put_back(tmp_path, monkeypatch):
    """The checker is not blind: a built-in English binding back in the app shows up, on screen and as a key."""
    monkeypatch.setattr(StationApp, "BINDINGS", [Binding("ctrl+i", "help", "Focus Next")] + StationApp.BINDINGS)
    StationApp._merged_bindings = StationApp._merge_bindings()
    try:
        found = await _walk(tmp_path, (120, 40), stops=walker.SCREENS[:1])
    finally:
        monkeypatch.undo()
        StationApp._merged_bindings = StationApp._merge_bindings()
    assert any("英文:Focus" in p and "F1" in p for p in found), found
    assert any("ctrl+i(Focus Next)" in p for p in found), found


async def test_walker_reports_textual_builtins_when_not_filtered(tmp_path, monkeypatch):
    """Take away the filter that keeps Textual's own bindings out of F1 and Ctrl+P: the walk fails."""
    from station.tui import keys
    monkeypatch.setattr(keys, "_declared_in_station", lambda node, binding: True)
    found = await _walk(tmp_path, (120, 40), stops=walker.SCREENS[2:3])  # 代办件: a table and input fields
    assert any("代办件 · F1: 英文:" in p for p in found), found
    assert any("代办件 · 命令面板: 英文:" in p for p in found), found


def test_english_words_ignores_key_names_and_data():
    assert walker.english_words("F1 帮助 Ctrl+P 命令 Esc 返回 PDF USB PgUp", {"daiban"}) == []
    assert walker.english_words("daiban 登录 Cursor up · Scroll Left", {"daiban"}) == ["Cursor", "Scroll", "Left"]
