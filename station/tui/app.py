"""The application: unlocking, locking when idle, navigation, the command palette, errors.

Screens are pushed on top of the Today screen; F2–F9 always go "home, then there", so a
clerk can never get lost more than one Esc deep.

Until the passphrase has been through the KDF this module has loaded only Textual and the key
ring (``station.store.keys``): Scrypt takes 64 MiB for a moment, and the store's libraries, the
domain models and the screens are loaded after it has given that memory back, so the two never
add up (the app's peak stays at whichever is larger).
"""
from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from station.errors import AuthFailed, StationError
from station.store.keys import station_ring
from station.tui.base import StationScreen
from station.tui.config import AppConfig
from station.tui.keys import promote
from station.tui.palette import StationCommands

if TYPE_CHECKING:
    from station.services.session import Session, StationHome

STICK_POLL_S = 5.0


def _freeze_startup_objects() -> None:
    """Leave what start-up made (modules, classes, the domain models' schemas, styles, screens) out
    of every later garbage collection. They live as long as the process, yet each full collection
    walked them all on the UI thread: 70-140 ms pauses while paging the case list. Once per
    process (a second login, or the next app in a test run, would freeze what the first left)."""
    if gc.get_freeze_count() == 0:
        gc.freeze()


class StationApp(App):
    CSS_PATH = "station.tcss"
    TITLE = "村便民服务站"
    ENABLE_COMMAND_PALETTE = False  # the built-in binding is labelled in English; ours is below
    COMMANDS = {StationCommands}  # our actions only, found by Chinese or pinyin initials
    # Only F1 is priority: F2–F10 must not pull a half-filled dialog away (app keys are off in dialogs).
    BINDINGS = [
        Binding("f1", "help", "帮助", id="help", priority=True),  # in dialogs and fields too
        Binding("ctrl+p", "palette", "命令", id="palette"),
        Binding("f2", "go('today')", "今日", id="go-today"),
        Binding("f3", "go('intake')", "收件", id="go-intake"),
        Binding("f4", "go('cases')", "代办件", id="go-cases"),
        Binding("f5", "go('residents')", "查群众", id="go-residents"),
        Binding("f9", "go('settings')", "设置", id="go-settings", show=False),
        Binding("f8", "sync_now", "同步", id="sync-now", show=False),
        Binding("f7", "go('usb')", "U盘", id="go-usb", show=False),
        Binding("f6", "go('ledger')", "台账", id="go-ledger", show=False),
        Binding("f10", "go('bulletin')", "公示栏", id="go-bulletin", show=False),
        Binding("ctrl+b", "go('backup')", "备份到U盘", id="go-backup", show=False),
        Binding("ctrl+l", "lock", "锁屏", id="lock", show=False),
        Binding("ctrl+q", "quit", "退出", id="quit", show=False),
    ]

    def __init__(self, config: AppConfig):
        super().__init__()
        self.config = config
        self._home: StationHome | None = None
        self.session: Session | None = None
        self.locked = False
        self.last_activity = time.monotonic()
        self.pending_scans: list[Path] = []
        self.background_sync = None
        self._stick_seen: set = set()
        self.idle_minutes: int | None = None  # the station's setting, read on unlocking
        self._watcher = None

    @property
    def home(self) -> StationHome:
        """The station's folder, as the services open it (loads the store's libraries: not before the KDF)."""
        if self._home is None:
            from station.services.session import StationHome
            self._home = StationHome(self.config.data_dir)
        return self._home

    # --- start, unlock, lock --------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_interval(1.0, self._check_idle)
        self.set_interval(STICK_POLL_S, self.poll_sticks)
        if self.config.user and self.config.passphrase:
            try:  # its KDF was started by ``make_app`` before Textual loaded (station.store.prederive)
                self.show_unlocked(self.open_session(self.config.user, self.config.passphrase))
                return
            except StationError as exc:
                self.notify(exc.title, title="自动登录失败", severity="error")
        try:
            users = station_ring(self.config.data_dir).users()
        except StationError as exc:
            self.exit(message=exc.title)
            return
        from station.tui.screens.unlock import UnlockScreen  # not loaded when an auto-login goes straight to 今日
        self.push_screen(UnlockScreen(users, self.config.hint))

    def open_session(self, username: str, passphrase: str) -> Session:
        """Unlock the store. Safe to call from a worker thread (the KDF is deliberately slow)."""
        try:
            ring = station_ring(self.config.data_dir)
            opened = ring.open(username, passphrase)  # Scrypt's 64 MiB, given back before the rest loads
            return self.home.open_unlocked(ring, username, opened, today=self.config.today)
        except OSError as exc:  # keys.json on a full or read-only disk: said on the unlock screen
            from station.store import failures as storage_failures
            raise storage_failures.translate(exc, Path(self.config.data_dir)) or exc from None

    def show_unlocked(self, session: Session) -> None:
        from station.services import settings as settings_service
        from station.tui.screens.today import TodayScreen
        self.session = session
        # Read once here: the idle timer runs every second on the UI thread and must not
        # wait for a worker's query.
        self.idle_minutes = settings_service.idle_lock_minutes(session)
        self.last_activity = time.monotonic()
        self.sub_title = f"{session.station_name} · {session.user.display_name}({session.user.role.label})"
        if len(self.screen_stack) > 1:
            self.switch_screen(TodayScreen())
        else:
            self.push_screen(TodayScreen())
        self.start_scan_watch()
        self._start_background_sync()
        self.call_after_refresh(_freeze_startup_objects)

    def _start_background_sync(self) -> None:
        if not self.config.background_sync or self.session is None:
            return
        self.run_worker(self._find_hub, thread=True, exclusive=True, group="find-hub", exit_on_error=False)

    def _find_hub(self) -> None:
        """Where this station syncs: a store read, and sync's modules loaded (~30 ms), so off the UI
        thread while 今日 is being drawn."""
        from station.services import cases
        session = self.session
        if session is None or not cases.is_enrolled(session):
            return  # sync's modules are not even loaded for a station that has no hub
        from sync import client
        peer = client.hub(session)
        if peer is None or not peer["url"]:
            return  # not enrolled, or a USB-only station
        self.call_from_thread(self._run_background_sync, session, peer["url"])

    def _run_background_sync(self, session: Session, url: str) -> None:
        if session is not self.session or self.background_sync is not None:
            return  # locked out or another user came in meanwhile
        from station.tui.background_sync import BackgroundSync
        self.background_sync = BackgroundSync(session, url, lambda: self.call_from_thread(self._sync_changed))
        self.background_sync.start()

    def poll_sticks(self) -> None:
        """Notice a stick coming back from the township and take its answers in (off the UI thread)."""
        if self.session is None or self.locked or not self.config.watch_sticks:
            return
        self.run_worker(self._take_acks, thread=True, exclusive=True, group="sticks", exit_on_error=False)

    def _take_acks(self) -> None:
        from sync import usb
        session = self.session
        if session is None:
            return
        roots = list(usb.removable_drives())
        from station.services import settings as settings_service
        folder = settings_service.get(session, "usb_folder")
        if folder:
            roots.append(Path(folder))
        for root in roots:
            files = usb.ack_files(root, session.station_code)  # regular files only, never through a link
            seen = set()
            for f in files:
                try:
                    seen.add((f, os.lstat(f).st_mtime))
                except OSError:  # pulled out while we looked
                    continue
            if not files or seen <= self._stick_seen:
                continue
            self._stick_seen |= seen
            from station.tui.screens.usb import describe_ack
            result = usb.import_acks(session, root)
            self.call_from_thread(self.notify, describe_ack(result), title=f"U盘({root})", timeout=10)
            self.call_from_thread(self._sync_changed)

    def _sync_changed(self) -> None:
        refresh = getattr(self.screen, "action_refresh", None)
        if refresh is not None:
            refresh()

    def action_sync_now(self) -> None:
        if self.background_sync is None:
            if self.session is not None and not self.enrolled():
                self.action_enrol()  # the way out of "not enrolled" is offered, not described
                return
            self.notify("本站用U盘与乡镇交换数据(未登记联网地址);请在U盘页导出。", title="同步")
            return
        self.background_sync.now()
        self.notify("正在与乡镇同步…", title="同步", timeout=3)

    def enrolled(self) -> bool:
        from station.tui.screens.enrol import enrolled
        return self.session is not None and enrolled(self.session) is not None

    def action_enrol(self) -> None:
        """登记到乡镇: the code from the township, then its address or the file on a stick."""
        from station.tui.screens.enrol import EnrolScreen
        if self.session is None or isinstance(self.screen, EnrolScreen):
            return

        def done(ok: bool | None) -> None:
            if ok:
                self._sync_changed()
        self.push_screen(EnrolScreen(), done)

    def _stop_background_sync(self) -> None:
        if self.background_sync is not None:
            self.background_sync.stop()
            self.background_sync = None
        self._stick_seen: set = set()

    def verify_passphrase(self, username: str, passphrase: str) -> None:
        key = station_ring(self.config.data_dir).unlock(username, passphrase)
        if self.session is None or key != self.session.db_key:
            raise AuthFailed("密码不正确")

    def idle_limit(self) -> float:
        if self.config.idle_lock_seconds is not None:
            return self.config.idle_lock_seconds
        return 60.0 * self.idle_minutes if self.session else float("inf")

    def _check_idle(self) -> None:
        if self.session and not self.locked and time.monotonic() - self.last_activity > self.idle_limit():
            self.action_lock()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)) and not getattr(event, "is_forwarded", False):
            self.last_activity = time.monotonic()
        await super().on_event(event)

    def action_lock(self) -> None:
        from station.tui.screens.unlock import LockScreen
        if self.session is None or self.locked:
            return
        self.locked = True

        def unlocked(_: bool | None) -> None:
            self.locked = False
            self.last_activity = time.monotonic()
        self.push_screen(LockScreen(self.session.user.username, self.session.user.display_name), unlocked)

    def switch_user(self) -> None:
        from station.tui.screens.unlock import UnlockScreen
        self._stop_scan_watch()
        self._stop_background_sync()
        if self.session:
            self.session.close()
            self.session = None
        self.locked = False
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.sub_title = ""
        self.push_screen(UnlockScreen(station_ring(self.config.data_dir).users(), self.config.hint))

    def on_unmount(self) -> None:
        self._stop_scan_watch()
        self._stop_background_sync()
        if self.session:
            self.session.close()
            self.session = None

    # --- navigation -----------------------------------------------------------------------
    def push_screen(self, screen, *args, **kwargs):
        if isinstance(screen, Screen):
            promote(screen)  # a screen's Ctrl/F keys work even while a field has the focus
        return super().push_screen(screen, *args, **kwargs)

    def switch_screen(self, screen):
        if isinstance(screen, Screen):
            promote(screen)
        return super().switch_screen(screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Nothing but help (and quit) before unlocking or while locked.
        if action in ("go", "lock", "palette", "sync_now", "enrol") and (self.session is None or self.locked):
            return False
        return True

    def action_go(self, where: str) -> None:
        from station.tui.screens.backup import BackupScreen
        from station.tui.screens.bulletin import BulletinScreen
        from station.tui.screens.cases import CaseListScreen
        from station.tui.screens.intake import IntakeScreen
        from station.tui.screens.ledger import LedgerScreen
        from station.tui.screens.residents import ResidentSearchScreen
        from station.tui.screens.settings import SettingsScreen
        from station.tui.screens.today import TodayScreen
        from station.tui.screens.usb import UsbScreen
        targets = {"intake": IntakeScreen, "cases": CaseListScreen, "residents": ResidentSearchScreen,
                   "settings": SettingsScreen, "usb": UsbScreen, "ledger": LedgerScreen,
                   "bulletin": BulletinScreen, "backup": BackupScreen}
        if where != "today" and isinstance(self.screen, targets[where]):
            return

        def go(leave: bool = True) -> None:
            if not leave:
                return
            while len(self.screen_stack) > 2 and not isinstance(self.screen, TodayScreen):
                self.pop_screen()
            if where != "today":
                self.push_screen(targets[where]())
        self._ask_before_losing("离开", go)

    def unsaved_work(self) -> str | None:
        """What is typed and not saved on the screens that going back to 今日 would close."""
        from station.tui.screens.today import TodayScreen
        for screen in reversed(self.screen_stack):
            if isinstance(screen, TodayScreen):
                break
            what = screen.unsaved_work() if isinstance(screen, StationScreen) else None
            if what:
                return what
        return None

    def _ask_before_losing(self, verb: str, then) -> None:
        """Do ``then`` at once when nothing typed would be lost; otherwise ask first (Esc keeps it)."""
        what = self.unsaved_work()
        if what is None:
            then()
            return
        from station.tui.screens.case_detail import Confirm
        self.push_screen(Confirm(f"{what},{verb}将丢弃已填写的内容。\n仍要{verb}吗?"), then)

    async def action_quit(self) -> None:
        self._ask_before_losing("退出", lambda leave=True: self.exit() if leave else None)

    def open_case(self, number: str) -> None:
        from station.tui.screens.case_detail import CaseDetailScreen
        self.push_screen(CaseDetailScreen(number))

    def open_resident(self, resident_id: str) -> None:
        from station.tui.screens.residents import ResidentScreen
        self.push_screen(ResidentScreen(resident_id))

    # --- help and the command palette -----------------------------------------------------
    def action_help(self) -> None:
        from station.tui.screens.help import HelpScreen, screen_keys, screen_title
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(screen_keys(self.screen), screen_title(self.screen)))

    def action_palette(self) -> None:
        from station.tui.palette import StationPalette
        if not CommandPalette.is_open(self):
            self.push_screen(StationPalette(id="--command-palette", placeholder="输入操作名称或拼音首字母查找,回车执行…"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action reachable from this screen, in Chinese (only the app's own, no English built-ins)."""
        from station.tui.keys import key_label, own_bindings
        for key, b, node in own_bindings(screen):
            if b.action == "palette":
                continue

            async def run(action=b.action, node=node) -> None:
                await self.run_action(action, node)
            yield SystemCommand(b.description, f"快捷键 {key_label(key)}", run)

    def get_key_display(self, binding: Binding) -> str:
        """Keys in the footer as on the keyboard: F1, Ctrl+P, Esc (not f1, ^p, esc)."""
        from station.tui.keys import key_label
        return binding.key_display or key_label(binding.key)

    def action_help_quit(self) -> None:
        """Ctrl+C: Textual says how to quit in English; we say it in Chinese."""
        self.notify("退出请按 Ctrl+Q(退出前请先保存)", title="退出")

    # --- errors from workers --------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.show_error(event.worker.error)

    def show_error(self, error: BaseException | None) -> None:
        if error is not None and not isinstance(error, StationError):
            # A storage failure that reached a worker raw (disk full, read-only, locked, damaged)
            # gets its own message and what to do, not "unexpected error".
            from station.store import failures as storage_failures
            error = storage_failures.translate(error, Path(self.config.data_dir)) or error
        if isinstance(error, StationError):
            details = "\n".join(d.message for d in error.details)
            self.notify(details or error.title, title=error.title if details else "操作未完成", severity="error", timeout=8)
        else:
            self.log.error(repr(error))
            self.notify("发生意外错误,操作未完成,数据没有改动。请重试;如反复出现请联系乡镇技术人员。",
                        title="意外错误", severity="error", timeout=10)

    # --- scanned materials ----------------------------------------------------------------
    def start_scan_watch(self) -> None:
        if not self.config.watch_scans or self.session is None:
            return
        from station.services import settings as settings_service
        folder = settings_service.scan_folder(self.session)
        if folder is None or not folder.is_dir():
            return
        from station.tui.scanwatch import ScanWatcher
        self._stop_scan_watch()
        self._watcher = ScanWatcher(folder, lambda p: self.call_from_thread(self.scan_arrived, p))
        self._watcher.start()

    def _stop_scan_watch(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def scan_arrived(self, path: Path) -> None:
        """A new file from the scanner: offer it to the case on screen, or keep it for later."""
        if path not in self.pending_scans:
            self.pending_scans.append(path)
        handler = getattr(self.screen, "offer_scan", None)
        if handler is not None:
            handler(path)
        else:
            self.notify(f"{path.name}:打开要附加的代办件后按 A 附加", title="发现新扫描件", timeout=8)
