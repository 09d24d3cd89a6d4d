"""The station's screen walker over the township console: every screen and form at 80x24 and
120x40, with F1 over each, must show no English word, no key a terminal cannot send, no key a
focused field takes first, every form a 取消 button and Esc that closes it — and the key line
must keep F1 帮助 visible, since at 80 columns it cannot show every key."""
from __future__ import annotations

import pytest

from sync.hub.service import HubHome
from tests.console.conftest import console, settle
from tests.sync.conftest import HUB_PASS
from tests.tui import walker

# (name, keys from 总览, open this case first, the screen class expected on top)
STOPS = [
    ("总览", (), None, "OverviewScreen"),
    ("设置", ("s",), None, "SettingsForm"),
    ("待办", ("f3",), None, "QueueScreen"),
    ("办件", (), "case", "CaseScreen"),
    ("退回补正", ("t",), "case", "ReturnForm"),
    ("办理结果", ("d",), "case", "DecideForm"),
    ("批量", ("f4",), None, "BulkScreen"),
    ("统计", ("f5",), None, "StatsScreen"),
    ("搁置", ("f6",), None, "QuarantineScreen"),
    ("丢弃", ("f6", "x"), None, "DiscardForm"),
    ("U盘", ("f7",), None, "StickScreen"),
    ("发布", ("f8",), None, "PublishScreen"),
    ("发布公告", ("f8", "n"), None, "NoticeForm"),
    ("下发文件", ("f8", "u"), None, "FileForm"),
    ("账号", ("f9",), None, "StaffScreen"),
    ("添加工作人员", ("f9", "a"), None, "StaffForm"),
]


async def _walk(world, size) -> list[str]:
    with HubHome(world.hub_dir).unlock("admin", HUB_PASS) as hub:
        with hub.store.transaction():  # something to discard on 搁置
            hub.store.quarantine("XX0101", 41, "attachment", "事件所属的代办件在乡镇不存在", {"id": "a", "case_id": "c"})
    found: list[str] = []
    data = {"admin", "JZ01"} | set(walker._WORD.findall(str(world.tmp)))
    app = console(world)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)

        def check(where: str) -> None:
            found.extend(f"{size[0]}x{size[1]} {where}: {p}" for p in walker.problems(app, data))
            footer = walker.screen_text(app).splitlines()[-1]
            if not app.screen.is_modal and not footer.lstrip().startswith("F1 帮助"):
                found.append(f"{size[0]}x{size[1]} {where}: 按键行不是以 F1 帮助 开头:{footer.strip()[:30]}")

        async def go(keys, case) -> None:
            while len(app.screen_stack) > 2:
                app.pop_screen()
                await settle(pilot)
            await pilot.press("f2")
            await settle(pilot)
            if case:
                app.open_case(world.numbers["XX0101"][1])
                await settle(pilot)
            for key in keys:
                await pilot.press(key)
                await settle(pilot)

        for name, keys, case, expect in STOPS:
            await go(keys, case)
            assert type(app.screen).__name__ == expect, f"{name}: {type(app.screen).__name__}"
            check(name)
            if app.screen.is_modal:
                dialog = app.screen
                await pilot.press("escape")
                await settle(pilot)
                if app.screen is dialog:
                    found.append(f"{size[0]}x{size[1]} {name}: Esc 没有关闭对话框")
                await go(keys, case)
                continue  # the app's keys (F1 among them) are off in a form; its own keys are on it
            await pilot.press("f1")
            await settle(pilot)
            assert type(app.screen).__name__ == "HelpScreen", f"{name}: F1 opened {type(app.screen).__name__}"
            check(f"{name} · F1")
            await pilot.press("escape")
            await settle(pilot)
    return found


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_console_screen_in_chinese_with_f1_and_keys_a_terminal_sends(world, size):
    found = await _walk(world, size)
    assert not found, "\n".join(found)
