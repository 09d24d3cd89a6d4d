"""The console application: login, navigation between its screens, errors shown in Chinese."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from station.errors import StationError
from sync.hub.service import Hub, HubHome


@dataclass
class ConsoleConfig:
    data_dir: Path
    today: Callable[[], date] = date.today
    # Log in without the screen (TOWNSHIP_USER / TOWNSHIP_PASSPHRASE, tests and benchmarks).
    user: str | None = None
    passphrase: str | None = None
    # Where sticks are looked for besides removable drives (tests; a township's shared folder).
    stick_folders: list[Path] = field(default_factory=list)
    watch_sticks: bool = True
    stick_poll_s: float = 3.0
    # When the console started (the hub state line); fixed in tests so snapshots are stable.
    started: datetime | None = None
    # The wall clock for the hub state line's uptime (fixed in snapshot tests).
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    # How a scan is shown (None: the system's viewer).
    viewer: Callable[[Path], None] | None = None


class ConsoleApp(App):
    CSS_PATH = "console.tcss"
    TITLE = "乡镇便民服务中心 · 工作台"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("f1", "help", "帮助", id="help"),
        Binding("f2", "go('overview')", "总览", id="go-overview"),
        Binding("f3", "go('queue')", "待办", id="go-queue"),
        Binding("f4", "go('bulk')", "批量", id="go-bulk"),
        Binding("f5", "go('stats')", "统计", id="go-stats"),
        Binding("f6", "go('quarantine')", "搁置", id="go-quarantine"),
        Binding("f7", "go('sticks')", "U盘", id="go-sticks"),
        Binding("f8", "go('publish')", "发布", id="go-publish"),
        Binding("f9", "go('staff')", "账号", id="go-staff"),
        Binding("ctrl+q", "quit", "退出", id="quit"),
    ]

    def __init__(self, config: ConsoleConfig):
        super().__init__()
        self.config = config
        self.home = HubHome(config.data_dir)
        self.hub: Hub | None = None
        self.started = config.started or datetime.now(timezone.utc)
        self._sticks_seen: set[tuple[str, int]] = set()

    def on_mount(self) -> None:
        from sync.hub.console.screens import LoginScreen
        if self.config.watch_sticks:
            self.set_interval(self.config.stick_poll_s, self.poll_sticks)
        if self.config.user and self.config.passphrase:
            try:
                self.logged_in(self.home.unlock(self.config.user, self.config.passphrase))
                return
            except StationError as exc:
                self.notify(exc.title, title="自动登录失败", severity="error")
        try:
            users = self.home.users()
        except StationError as exc:
            self.exit(message=exc.title)
            return
        self.push_screen(LoginScreen(users))

    def logged_in(self, hub: Hub) -> None:
        from sync.hub import staff_policy
        from sync.hub.console.screens import OverviewScreen
        self.hub = hub
        member = hub.store.staff_member(hub.user) or {}
        reach = f" · {staff_policy.reach(hub.township)}" if hub.township else ""  # a township account on a county's hub
        self.sub_title = f"{hub.name} · {member.get('display_name', hub.user)}({staff_policy.ROLES.get(hub.role or '', '')}){reach}"
        if len(self.screen_stack) > 1:
            self.switch_screen(OverviewScreen())
        else:
            self.push_screen(OverviewScreen())

    def today(self) -> date:
        return self.config.today()

    def action_help(self) -> None:
        """F1: every key of the screen underneath, in Chinese (the key line shows only what fits)."""
        from station.tui.screens.help import HelpScreen, screen_keys, screen_title
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(screen_keys(self.screen), screen_title(self.screen) or self.TITLE,
                                    hint="下方按键行只列出放得下的按键,全部按键见上表。Esc 关闭。"))

    def get_key_display(self, binding: Binding) -> str:
        """Keys as on the keyboard: F1, Ctrl+S, Esc (not f1, ^s, esc)."""
        from station.tui.keys import key_label
        return binding.key_display or key_label(binding.key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go" and self.hub is None:
            return False
        if action == "go" and parameters and parameters[0] in ("publish", "staff"):
            return self.hub.allowed({"publish": "publish", "staff": "user.manage"}[parameters[0]])  # hidden from 经办人
        return True

    def stick_folders(self) -> list[Path]:
        """Folders watched like sticks: the config's, and the one set on the hub (设置)."""
        folders = list(self.config.stick_folders)
        setting = self.hub.store.setting("console_stick_folder") if self.hub else None
        if setting:
            folders.append(Path(setting))
        return folders

    def poll_sticks(self) -> None:
        if self.hub is not None:
            self.run_worker(self._look_for_sticks, thread=True, exclusive=True, group="stick-poll", exit_on_error=False)

    def _look_for_sticks(self) -> None:
        from sync.hub.console.sticks import find_sticks
        found = {(str(root), n) for root, n in find_sticks(self.stick_folders())}
        new = found - self._sticks_seen
        self._sticks_seen = found
        if new:
            self.call_from_thread(self._stick_arrived, sorted(new))

    def _stick_arrived(self, new: list[tuple[str, int]]) -> None:
        from sync.hub.console.sticks import StickScreen
        if isinstance(self.screen, StickScreen):
            self.screen.action_refresh()
        else:
            self.notify("、".join(f"{root}({n} 个数据包)" for root, n in new) + ":按 F7 导入", title="发现U盘", timeout=10)

    def stick_done(self, root: Path) -> None:
        """Imported: the stick's files changed (acks written); notice it again only when it changes."""
        from sync.hub.console.sticks import bundle_count
        self._sticks_seen.add((str(root), bundle_count(root)))

    def action_go(self, where: str) -> None:
        from sync.hub.console.publish import PublishScreen
        from sync.hub.console.screens import OverviewScreen, QueueScreen
        from sync.hub.console.staff import StaffScreen
        from sync.hub.console.sticks import StickScreen
        from sync.hub.console.work import BulkScreen, QuarantineScreen, StatsScreen
        targets = {"overview": OverviewScreen, "queue": QueueScreen, "sticks": StickScreen, "publish": PublishScreen,
                   "bulk": BulkScreen, "stats": StatsScreen, "quarantine": QuarantineScreen, "staff": StaffScreen}
        if isinstance(self.screen, targets[where]):
            return
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if where != "overview":
            self.push_screen(targets[where]())

    def open_case(self, number: str) -> None:
        from sync.hub.console.screens import CaseScreen
        self.push_screen(CaseScreen(number))

    def open_file(self, path: Path) -> None:
        from sync.hub.console.screens import system_viewer
        (self.config.viewer or system_viewer)(path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.show_error(event.worker.error)

    def show_error(self, error: BaseException | None) -> None:
        if isinstance(error, StationError):
            details = "\n".join(d.message for d in error.details)
            self.notify(details or error.title, title=error.title if details else "操作未完成", severity="error", timeout=8)
        else:
            self.log.error(repr(error))
            self.notify("发生意外错误,操作未完成。请重试;如反复出现请联系技术人员。", title="意外错误", severity="error", timeout=10)

    def on_unmount(self) -> None:
        if self.hub is not None:
            self.hub.store.close()
            self.hub = None


def make_app(config: ConsoleConfig) -> ConsoleApp:
    return ConsoleApp(config)
