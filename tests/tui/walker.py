"""The screen walker: every screen and dialog of the app, and what is wrong on each.

``SCREENS`` is the list to extend when a screen is added: a name, how to get there from 今日
(an async function of the pilot), and the screen class expected on top. ``problems`` reads
what is drawn and the bindings that are active, and says in one line each what a clerk would
trip over: an English word, a key a terminal cannot send, a key a focused field takes first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Awaitable, Callable

from textual.app import App
from textual.screen import Screen
from textual.widgets import Button

from station.tui.keys import UNREACHABLE, _declared_in_station, is_command_key

# Key names and abbreviations a clerk meets on the keyboard or on paper.
ALLOWED = {"ctrl", "esc", "tab", "enter", "shift", "alt", "del", "ins", "home", "end", "pgup", "pgdn",
           "pdf", "usb", "csv", "xlsx", "xls",
           "dbsq"}  # the intake form's example of pinyin initials (dbsq → 最低生活保障申请)

_WORD = re.compile(r"[A-Za-z]{3,}")


def english_words(text: str, data: set[str] = frozenset()) -> list[str]:
    """ASCII words of three or more letters that are neither allowed key names nor data."""
    data = {d.lower() for d in data}
    return [w for w in _WORD.findall(text) if w.lower() not in ALLOWED and w.lower() not in data]


def screen_text(app: App) -> str:
    """What the terminal shows for the screen on top, line by line."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def binding_problems(screen: Screen) -> list[str]:
    """Our bindings on ``screen`` (or the app) that no terminal can send, or that a focusable field
    under them takes for itself first (Ctrl+E in an Input moves the cursor instead of exporting).
    Every binding counts, whatever has the focus now: the clerk may be in any field."""
    out, app = [], screen.app
    fields = [w for w in screen.query("*") if w.focusable]
    for node in [app, screen, *screen.query("*")]:
        for key, bindings in node._bindings.key_to_bindings.items():
            for b in bindings:
                if not _declared_in_station(node, b) or app._check_action_state(b.action, node) is False:
                    continue
                if key in UNREACHABLE:
                    out.append(f"{key}({b.description}) 在终端里就是 {UNREACHABLE[key]},永远收不到")
                if b.priority or not is_command_key(key) or (node is app and screen.is_modal):
                    continue  # letters and Enter belong to the field; the app's own keys are off in dialogs
                for w in fields:
                    if w is node or (node is not app and node not in w.ancestors):
                        continue  # the field's own binding, or a key the field never sees
                    theirs = w._bindings.key_to_bindings.get(key, [])
                    if any(not _declared_in_station(w, t) for t in theirs):
                        out.append(f"{key}({b.description}) 在 {type(w).__name__} 里被输入框先拿走")
                        break
    return out


def dialog_problems(screen: Screen) -> list[str]:
    """A dialog (any modal but the lock screen and the palette) needs a visible 取消/关闭 button."""
    if not screen.is_modal or type(screen).__name__ in ("LockScreen", "StationPalette"):
        return []
    buttons = [b for b in screen.query(Button) if b.display and str(b.label).startswith(("取消", "关闭"))]
    return [] if buttons else ["对话框没有 取消/关闭 按钮"]


def problems(app: App, data: set[str] = frozenset()) -> list[str]:
    found = [f"英文:{w}" for w in english_words(screen_text(app), data)]
    return found + binding_problems(app.screen) + dialog_problems(app.screen)


@dataclass
class Stop:
    name: str
    go: Callable[..., Awaitable[None]]  # async (pilot, ids) -> None, starting from 今日
    expect: str  # the class name of the screen that must then be on top


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)


def _press(*keys: str):
    async def go(pilot, ids):
        await pilot.press(*keys)
    return go


def _action(*steps):
    """Run in turn: actions of the screen on top (keys are checked separately, so they may change),
    ``key:x`` presses, or ``fn(app, ids)``."""
    async def go(pilot, ids):
        from tests.tui.conftest import settle
        for step in steps:
            if callable(step):
                step(pilot.app, ids)
            elif step.startswith("key:"):
                await pilot.press(step[4:])
            else:
                await pilot.app.run_action(step, pilot.app.screen)
            await settle(pilot)
    return go


def _push(make):
    async def go(pilot, ids):
        pilot.app.push_screen(make(ids))
    return go


def _confirm(ids):
    from station.tui.screens.case_detail import Confirm
    return Confirm("确定撤回此件?")


def _event_form(ids):
    from station.core.cases import EventType
    from station.services import cases
    from station.tui.screens.case_detail import EventForm
    state, _ = cases.load(ids["session"], ids["open_case"])
    return EventForm(ids["open_case"], EventType.RATED, state)


SCREENS: list[Stop] = [
    Stop("今日", _press(), "TodayScreen"),
    Stop("收件", _press("f3"), "IntakeScreen"),
    Stop("代办件", _press("f4"), "CaseListScreen"),
    Stop("代办件详情", _action(lambda app, ids: app.open_case(ids["rated_case"])), "CaseDetailScreen"),
    Stop("办理中的件", _action(lambda app, ids: app.open_case(ids["open_case"])), "CaseDetailScreen"),
    Stop("记事表单", _action(lambda app, ids: app.open_case(ids["open_case"]), "key:t"), "EventForm"),
    Stop("评价表单", _push(_event_form), "EventForm"),
    Stop("确认框", _push(_confirm), "Confirm"),
    Stop("查群众", _press("f5"), "ResidentSearchScreen"),
    Stop("群众页", _action(lambda app, ids: app.open_resident(ids["resident"])), "ResidentScreen"),
    Stop("查看完整号码", _action(lambda app, ids: app.open_resident(ids["resident"]), "reveal"), "RevealForm"),
    Stop("台账", _press("f6"), "LedgerScreen"),
    Stop("导入名单", _action("app.go('ledger')", "import_file"), "ImportWizard"),
    Stop("更正", _action("app.go('ledger')", "correct"), "CorrectionForm"),
    Stop("导出台账", _action("app.go('ledger')", "export"), "ExportForm"),
    Stop("基础设施台账", _action("app.go('ledger')", "infra"), "InfraScreen"),
    Stop("新项目", _action("app.go('ledger')", "infra", "new"), "ProjectForm"),
    Stop("记录进度", _action("app.go('ledger')", "infra", "progress"), "StepForm"),
    Stop("U盘", _press("f7"), "UsbScreen"),
    Stop("公示栏", _press("f10"), "BulletinScreen"),
    Stop("新公告", _action("app.go('bulletin')", "new"), "NoticeForm"),
    Stop("由台账生成公示", _action("app.go('bulletin')", "from_ledger"), "FromLedgerForm"),
    Stop("发布", _action("app.go('bulletin')", "publish"), "PublishForm"),
    Stop("异议", _action("app.go('bulletin')", "objections"), "ObjectionsForm"),
    Stop("站务信息", _action("app.go('bulletin')", "profile"), "ProfileForm"),
    Stop("设置", _press("f9"), "SettingsScreen"),
    Stop("恢复码", _push(lambda ids: __import__("station.tui.screens.settings", fromlist=["x"]).RecoveryCodeScreen(
        "ABCD-EFGH-JKLM-NPQR")), "RecoveryCodeScreen"),
    Stop("备份", _press("ctrl+b"), "BackupScreen"),
    Stop("锁屏", _press("ctrl+l"), "LockScreen"),
]
# Over every stop above the walk also opens F1 (HelpScreen) and Ctrl+P (the palette).
