"""公示栏与九个一: the checklist, the board (current, upcoming, ended, archived, drafts), the notice
editor, publishing with a posting period, objections and their answers, the profile (站长)."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Label, Static, TextArea

from station.errors import StationError
from station.tui.base import FormScreen, StationScreen, error_label
from station.tui.columns import SCROLLBAR, Column, fit, pick, set_columns
from station.tui.compact import Button, Footer, Input, Select
from station.tui.printing import print_document

GROUPS = [("current", "正在公示"), ("upcoming", "即将公示"), ("ended", "待归档"), ("drafts", "草稿"), ("archived", "已归档")]


BOARD_COLUMNS = [Column("分组", 8, 4), Column("类型", 4, 5), Column("标题", 34, 1, min_width=14), Column("公示期", 23, 2),
                 Column("异议", 10, 3)]


class BulletinScreen(StationScreen):
    """公示栏与九个一"""

    BINDINGS = [("escape", "app.go('today')", "返回"), ("ctrl+n", "new", "新公告"), ("ctrl+g", "from_ledger", "由台账生成公示"),
                ("ctrl+u", "publish", "发布"), ("ctrl+o", "objections", "异议"), ("ctrl+a", "archive", "归档"),
                ("ctrl+r", "print_notice", "打印公示"), ("ctrl+t", "print_poster", "打印九个一"), ("ctrl+e", "profile", "修改站务信息")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("", id="checklist")
        yield DataTable(id="board", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.shown = set_columns(self.query_one("#board", DataTable), BOARD_COLUMNS, self.app.size.width)
        self.reload()

    def on_resize(self, event) -> None:
        if getattr(self, "shown", None) is not None and [i for i, _ in fit(BOARD_COLUMNS, event.size.width - SCROLLBAR)] != self.shown:
            self.on_mount()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="bulletin")
    def _load(self) -> None:
        from station.services import bulletin
        items, board = bulletin.check(self.session), bulletin.board(self.session)
        late = bulletin.overdue_objections(self.session)
        self.app.call_from_thread(self._show, items, board, late)

    def _show(self, items, board, late=()) -> None:
        done = sum(i.ok for i in items)
        lines = [f"九个一:{done}/9 已具备"] + [("✓ " if i.ok else "✗ ") + i.label + ("" if i.ok else f"——{i.missing}") for i in items if not i.ok]
        lines += [f"异议超期未答复:{o['title']} · {o['who']}(应于 {o['answer_due']} 前答复)" for o in late]
        self.query_one("#checklist", Static).update("\n".join(lines))
        table = self.query_one("#board", DataTable)
        table.clear()
        for key, label in GROUPS:
            for r in board[key]:
                period = f"{r['posting_from']}~{r['posting_to']}" if r["posting_from"] else "—"
                objections = f"{r['objections']}(未答{r['open_objections'] or 0})" if r["objections"] else "—"
                table.add_row(*pick([label, r["kind"], r["title"], period, objections], self.shown), key=r["id"])

    def _selected(self) -> str | None:
        table = self.query_one("#board", DataTable)
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "profile":
            return self.session.user.is_supervisor
        return True

    def _run(self, fn, done_message: str) -> None:
        try:
            fn()
        except StationError as exc:
            self.app.show_error(exc)
            return
        self.notify(done_message, title="已保存")
        self.reload()

    def action_new(self) -> None:
        self.app.push_screen(NoticeForm(), lambda ok: ok and self.reload())

    def action_from_ledger(self) -> None:
        self.app.push_screen(FromLedgerForm(), lambda ok: ok and self.reload())

    def action_publish(self) -> None:
        nid = self._selected()
        if nid:
            self.app.push_screen(PublishForm(nid), lambda ok: ok and self.reload())

    def action_objections(self) -> None:
        nid = self._selected()
        if nid:
            self.app.push_screen(ObjectionsForm(nid), lambda _: self.reload())

    def action_archive(self) -> None:
        from station.services import bulletin
        nid = self._selected()
        if nid:
            self._run(lambda: bulletin.archive(self.session, nid), "已归档")

    def action_print_notice(self) -> None:
        nid = self._selected()
        if nid:
            print_document(self, "board", nid)

    def action_print_poster(self) -> None:
        print_document(self, "poster", "")

    def action_profile(self) -> None:
        self.app.push_screen(ProfileForm(), lambda ok: ok and self.reload())


class _Form(FormScreen):
    @on(Button.Pressed, "#save")
    def _pressed(self) -> None:
        self.action_save()


class NoticeForm(_Form):
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("写公告或公示(先存为草稿,发布时填公示期)", classes="dialog-title")
            yield Select([("公告", "公告"), ("公示", "公示")], value="公告", allow_blank=False, id="kind")
            yield Input(placeholder="标题", id="title")
            yield error_label("title")
            yield TextArea(id="body")
            yield error_label("body")
            yield Button("保存草稿 (Ctrl+S)", id="save", variant="primary")

    def action_save(self) -> None:
        from station.services import bulletin
        self.save_with(lambda: bulletin.new_notice(self.app.session, self.query_one("#kind", Select).value,
                                                   self.query_one("#title", Input).value, self.query_one("#body", TextArea).text))


class FromLedgerForm(_Form):
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("由台账生成公示(身份证、银行卡号自动脱敏)", classes="dialog-title")
            yield Select([("涉农补贴", "subsidy"), ("民政救济", "relief")], value="subsidy", allow_blank=False, id="ledger")
            yield Input(placeholder="项目,如 耕地地力保护补贴", id="program")
            yield error_label("program")
            yield Input(placeholder="期间,如 2026", id="period")
            yield error_label("period")
            yield Button("生成草稿 (Ctrl+S)", id="save", variant="primary")

    def action_save(self) -> None:
        from ledgers.posting import draft_notice
        self.save_with(lambda: draft_notice(self.app.session, self.query_one("#ledger", Select).value,
                                            self.query_one("#program", Input).value.strip(), self.query_one("#period", Input).value.strip()))


class PublishForm(_Form):
    def __init__(self, notice_id: str):
        super().__init__()
        self.notice_id = notice_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            days = self.app.session.rules().posting_min_days
            yield Static(f"发布:填写公示期(公示不少于{days}天)", classes="dialog-title")
            yield Label("开始日期")
            yield Input(placeholder="例:2026-11-20", id="from")
            yield Label("截止日期")
            yield Input(placeholder="例:2026-11-26", id="to")
            yield error_label("posting_period")
            yield Button("发布 (Ctrl+S)", id="save", variant="primary")

    def action_save(self) -> None:
        from station.services import bulletin
        self.save_with(lambda: bulletin.publish(self.app.session, self.notice_id, self.query_one("#from", Input).value.strip() or None,
                                                self.query_one("#to", Input).value.strip() or None))


class ObjectionsForm(_Form):
    BINDINGS = [("escape", "dismiss(False)", "关闭"), ("ctrl+s", "save", "登记异议"), ("ctrl+y", "answer", "答复所选")]

    def __init__(self, notice_id: str):
        super().__init__()
        self.notice_id = notice_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="objections"):
            yield Static("异议(须在公示期内登记;全部答复后才能归档)", classes="dialog-title")
            yield DataTable(id="objection-list", cursor_type="row")
            yield Input(placeholder="提出人", id="who")
            yield error_label("who")
            yield Input(placeholder="异议内容", id="what")
            yield error_label("what")
            yield error_label("on")
            yield Input(placeholder="对所选异议的答复", id="answer")
            yield error_label("answer")
            yield Button("登记异议 (Ctrl+S)", id="save", variant="primary")

    def on_mount(self) -> None:
        table = self.query_one("#objection-list", DataTable)
        for label, width in (("日期", 10), ("提出人", 8), ("异议", 20), ("答复", 20)):
            table.add_column(label, width=width)
        self._fill()

    def _fill(self) -> None:
        from station.services import bulletin
        table = self.query_one("#objection-list", DataTable)
        table.clear()
        for o in bulletin.notice(self.app.session, self.notice_id)["objection_list"]:
            table.add_row(o["on_day"], o["who"], o["what"], o["answer"] or f"(未答复,{o['answer_due'] or '—'}前)", key=o["id"])

    def action_save(self) -> None:
        from station.services import bulletin
        if self.attempt(lambda: bulletin.add_objection(self.app.session, self.notice_id, self.query_one("#who", Input).value,
                                                       self.query_one("#what", Input).value)):
            self._fill()

    def action_answer(self) -> None:
        from station.services import bulletin
        table = self.query_one("#objection-list", DataTable)
        if not table.row_count:
            return
        oid = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if self.attempt(lambda: bulletin.answer_objection(self.app.session, oid, self.query_one("#answer", Input).value)):
            self._fill()


class ProfileForm(_Form):
    FIELDS = [("name", "服务站名称(牌子)"), ("address", "地址"), ("hours", "办公时间"), ("market_day_hours", "赶集日时间"),
              ("phone", "服务电话"), ("one_stop", "一站式办结说明")]

    def compose(self) -> ComposeResult:
        from station.services import bulletin
        profile = bulletin.profile(self.app.session)
        with Vertical(classes="dialog"):
            yield Static("站务信息(九个一)", classes="dialog-title")
            for key, label in self.FIELDS:
                yield Label(label)
                yield Input(value=profile.get(key) or "", id=key)
                yield error_label(key)
            yield Label("在岗代办员(用、分隔)")
            yield Input(value="、".join(profile.get("clerks_on_duty") or []), id="clerks_on_duty")
            yield Button("保存 (Ctrl+S)", id="save", variant="primary")

    def action_save(self) -> None:
        from station.services import bulletin
        changes = {k: self.query_one(f"#{k}", Input).value.strip() for k, _ in self.FIELDS}
        changes["clerks_on_duty"] = [c.strip() for c in self.query_one("#clerks_on_duty", Input).value.split("、") if c.strip()]
        self.save_with(lambda: bulletin.set_profile(self.app.session, **changes))
