"""Today (今日): what needs the clerk now. Counts refresh every few seconds and on return."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Static

from station.services import backup_age as backups
from station.services import bulletin, cases, syncstate
from station.tui.base import StationScreen
from station.tui.compact import Footer

REFRESH_S = 15
PER_CATEGORY = 8  # rows per category; the rest are one "更多…" line away, in the case list
# (count key, words on the row, the case list's filters for it): oldest due date first in each.
CATEGORIES = [("overdue", "已超期", {"overdue": True}), ("due_soon", "即将到期", {"due_soon": True}),
              ("results_to_deliver", "待送达", {"status": "decided"}), ("follow_ups_open", "差评待回访", {"follow_up_open": True})]
# The table's order: overdue first, then what the rules chase, then the rest.
ORDER = [(key, why) for key, why, _ in CATEGORIES[:1]] + [("gaps_late", "容缺超期"), ("follow_ups_late", "回访整改超期")] + \
    [(key, why) for key, why, _ in CATEGORIES[1:]]
CARDS = [("received_today", "今日收件"), ("due_soon", "即将到期"), ("overdue", "已超期"),
         ("results_to_deliver", "待送达结果"), ("follow_ups_open", "差评待回访")]


class TodayScreen(StationScreen):
    """今日概览"""

    BINDINGS = [("enter", "open", "打开"), ("r", "refresh", "刷新"), ("u", "app.go('usb')", "U盘"), ("s", "app.sync_now", "同步"),
                ("l", "app.go('ledger')", "台账"), ("b", "app.go('bulletin')", "公示栏"),
                ("g", "enrol", "登记到乡镇")]
    enrolled = True  # until the first load says otherwise: never offer enrolment to an enrolled station

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="cards"):
            for key, label in CARDS:
                yield Static(f"{label}\n—", id=f"card-{key}", classes="card")
        yield Static("需要关注的代办件(超期、即将到期、待送达、差评回访整改):", classes="section")
        yield DataTable(id="attention", cursor_type="row", zebra_stripes=True)
        yield Static("", id="calendar-warning", classes="warning")
        yield Static("", id="sync-line", classes="status-line")
        yield Static("", id="backup-line", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#attention", DataTable)
        table.add_column("件号", width=18, key="number")
        table.add_column("群众", width=8)
        table.add_column("事项", width=20)
        table.add_column("情况", width=12)
        table.add_column("期限", width=10)
        self.set_interval(REFRESH_S, self.action_refresh)

    def on_screen_resume(self) -> None:
        # Also the first load: Textual resumes a screen when it is pushed or switched to. Loading in
        # on_mount too ran every query twice at start.
        self.action_refresh()

    def action_refresh(self) -> None:
        if self.session is not None:
            self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="today")
    def _load(self) -> None:
        s = self.session
        if getattr(self, "_unrated_checked", None) != s.today():
            cases.close_unrated(s)  # once a day: the rules may close the rating window of unrated cases
            self._unrated_checked = s.today()
        counts = cases.counts_for_today(s)
        rows = [(key, why, r) for key, why, filters in CATEGORIES
                for r in cases.list_cases(s, order="due", limit=PER_CATEGORY, **filters)]
        # Chased by the rules, listed whole (they are few, and have no case-list filter of their own).
        rows += [("gaps_late", "容缺超期", {**r, "due_on": str(r["gap_promise"])}) for r in cases.overdue_gaps(s)]
        rows += [("follow_ups_late", "、".join(r["late"]) + "超期",
                  {**r, "due_on": str(r["rectify_due"] if "整改" in r["late"] else r["revisit_due"])})
                 for r in cases.overdue_follow_ups(s)]
        late = bulletin.overdue_objections(s)
        if late:  # not cases, so a line under the table rather than rows in it
            counts = {**counts, "calendar_warning": "\n".join(filter(None, [
                counts["calendar_warning"], f"公示异议超期未答复 {len(late)} 条(F10 公示栏)"]))}
        state = syncstate.status(s)
        sync = syncstate.describe(state)
        if not state["hub"]:
            sync += "按 G 登记到乡镇。"
        self.app.call_from_thread(self._show, counts, rows, sync, backups.last_age(s), bool(state["hub"]))

    def _show(self, counts: dict, rows: list, sync: str, backup_age: backups.BackupAge, enrolled: bool = True) -> None:
        if enrolled != self.enrolled:
            self.enrolled = enrolled
            self.refresh_bindings()
        for key, label in CARDS:
            card = self.query_one(f"#card-{key}", Static)
            card.update(f"{label}\n{counts[key]}")
            card.set_class(key in ("overdue", "follow_ups_open") and counts[key] > 0, "alarm")
        table = self.query_one("#attention", DataTable)
        keep = table.cursor_row
        table.clear()
        seen = set()
        for key, why in ORDER:
            shown = 0
            for _, row_why, r in (row for row in rows if row[0] == key):
                shown += 1
                if r["number"] in seen:
                    continue
                seen.add(r["number"])
                table.add_row(r["number"], r["resident_name"], r["item_name"], row_why, r["due_on"] or "待补齐", key=r["number"])
            if counts.get(key, 0) > shown:  # nothing hidden without saying so: the rest are in the case list
                table.add_row("更多…", "", f"还有 {counts[key] - shown} 件{why}", why, "回车查看", key=f"more:{key}")
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        self.query_one("#calendar-warning", Static).update(counts["calendar_warning"] or "")
        self.query_one("#sync-line", Static).update("同步:" + sync)
        line = self.query_one("#backup-line", Static)
        line.update(describe_age(backup_age))
        line.set_class(backup_age.due, "warning")  # a disk that dies takes everything since the last one

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "enrol":  # offered (and in the footer) only while the station is not enrolled
            return not self.enrolled
        return True

    def action_enrol(self) -> None:
        self.app.action_enrol()

    @on(DataTable.RowSelected, "#attention")
    def _row(self, event: DataTable.RowSelected) -> None:
        self._open(event.row_key.value)

    def action_open(self) -> None:
        table = self.query_one("#attention", DataTable)
        if table.row_count:
            self._open(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _open(self, key: str) -> None:
        if key.startswith("more:"):
            from station.tui.screens.cases import CaseListScreen
            _, why, filters = next(c for c in CATEGORIES if c[0] == key.removeprefix("more:"))
            self.app.push_screen(CaseListScreen(preset=filters, preset_label=why))
        else:
            self.app.open_case(key)


def describe_age(age: backups.BackupAge) -> str:
    """The Today screen's line about backups (and the backup screen's)."""
    if age.days is None:
        return "备份:本站从未备份。请插上U盘,按 Ctrl+B 把本站数据备份到U盘"
    ago = "今天" if age.days == 0 else "昨天" if age.days == 1 else f"{age.days} 天前"
    text = f"备份:上次在{ago}({age.at:%Y-%m-%d %H:%M})"
    if age.due:
        text += f",已超过 {age.remind_days} 天。请插上U盘,按 Ctrl+B 备份"
    return text
