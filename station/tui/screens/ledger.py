"""台账: list with filters and totals, import wizard with its validation report, correction,
lock (站长), export. Every write goes through ``ledgers.service``."""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, Static

from station.errors import StationError
from station.tui.base import Dialog, FormScreen, StationScreen, error_label, say, show_field_errors
from station.tui.columns import SCROLLBAR, Column, fit, pick, set_columns
from station.tui.compact import Button, Footer, Input, Select

LEDGER_OPTIONS = [("涉农补贴", "subsidy"), ("民政救济", "relief")]


# At 80 columns: 户主, 身份证, 金额, 状态, 组, 原因; 面积, 标准, 类型 when there is room.
ENTRY_COLUMNS = [Column("户主", 8, 1), Column("身份证", 18, 2), Column("组", 5, 5), Column("面积", 7, 7), Column("标准", 8, 8),
                 Column("金额(元)", 11, 3), Column("状态", 6, 4), Column("类型", 4, 9), Column("原因", 16, 6, min_width=8)]


class LedgerScreen(StationScreen):
    """台账"""

    BINDINGS = [("escape", "app.go('today')", "返回"), ("ctrl+o", "import_file", "导入名单"), ("ctrl+k", "correct", "更正"),
                ("ctrl+e", "export", "导出"), ("ctrl+l", "lock", "锁定本期"), ("ctrl+t", "infra", "基础设施台账"),
                ("ctrl+r", "print('ledger')", "打印台账"), ("ctrl+g", "print('posting')", "打印公示名单")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="ledger-filters"):
            yield Select(LEDGER_OPTIONS, value="subsidy", allow_blank=False, id="l-ledger")
            yield Input(placeholder="项目", id="l-program")
            yield Input(placeholder="期间", id="l-period")
            yield Input(placeholder="村民小组", id="l-group")
        yield Static("", id="ledger-totals", classes="status-line")
        yield DataTable(id="ledger-entries", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.shown = set_columns(self.query_one("#ledger-entries", DataTable), ENTRY_COLUMNS, self.app.size.width)
        self.reload()

    def on_resize(self, event) -> None:
        if getattr(self, "shown", None) is not None and [i for i, _ in fit(ENTRY_COLUMNS, event.size.width - SCROLLBAR)] != self.shown:
            self.on_mount()

    def scope(self) -> dict:
        def text(sel):
            return self.query_one(sel, Input).value.strip() or None
        return {"ledger": self.query_one("#l-ledger", Select).value, "program": text("#l-program"),
                "period": text("#l-period"), "village_group": text("#l-group")}

    @on(Input.Changed)
    @on(Select.Changed)
    def reload(self) -> None:
        self._load(self.scope())

    @work(thread=True, exclusive=True, exit_on_error=False, group="ledger")
    def _load(self, scope: dict) -> None:
        from ledgers import service
        rows = service.entries(self.session, limit=500, **scope)
        sums = service.totals(self.session, by=("program", "period"), **scope)
        self.app.call_from_thread(self._show, rows, sums)

    def _show(self, rows: list[dict], sums: list[dict]) -> None:
        from ledgers.service import KIND_LABELS
        table = self.query_one("#ledger-entries", DataTable)
        table.clear()
        for r in rows:
            table.add_row(*pick([r["head_name"], r["id_number"], r["village_group"] or "", r["area"] or "", r["rate"] or "", r["amount"],
                                 r["status"], KIND_LABELS[r["kind"]], r["reason"] or ""], self.shown), key=r["id"])
        lines = [f"{s['program']} {s['period']}:{s['households']} 户次,合计 {s['total']} 元" for s in sums]
        self.query_one("#ledger-totals", Static).update(";".join(lines) or "没有记录(Ctrl+O 导入乡镇名单)")

    def _selected(self) -> str | None:
        table = self.query_one("#ledger-entries", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "lock":
            return self.session.user.is_supervisor
        return True

    def action_infra(self) -> None:
        from station.tui.screens.infra import InfraScreen
        self.app.push_screen(InfraScreen())

    def action_import_file(self) -> None:
        self.app.push_screen(ImportWizard(self.scope()), lambda done: done and self.reload())

    def action_correct(self) -> None:
        entry = self._selected()
        if entry:
            self.app.push_screen(CorrectionForm(entry), lambda done: done and self.reload())

    def action_export(self) -> None:
        self.app.push_screen(ExportForm(self.scope()))

    def action_print(self, kind: str) -> None:
        from station.tui.printing import print_document
        scope = self.scope()
        if not scope["program"] or not scope["period"]:
            self.notify("请先在上方填写项目和期间,再打印", title="打印", severity="warning")
            return
        village_group = scope["village_group"] if kind == "ledger" else None
        print_document(self, kind, "", ledger=scope["ledger"], program=scope["program"], period=scope["period"],
                       village_group=village_group)

    def action_lock(self) -> None:
        from ledgers import service
        scope = self.scope()
        try:
            service.lock(self.session, scope["ledger"], scope["program"] or "", scope["period"] or "")
        except StationError as exc:
            self.app.show_error(exc)
            return
        self.notify(f"{scope['program']} {scope['period']} 已锁定:此后只能更正", title="已锁定")


class ImportWizard(Dialog[bool]):
    """File → check (validation report) → import all, or only the valid rows, or cancel."""

    BINDINGS = [("escape", "dismiss(False)", "取消")]

    def __init__(self, scope: dict):
        super().__init__()
        self.scope = scope
        self.report = None
        self.picked: dict[str, str] = {}
        self.sheet: str | None = None  # the worksheet the clerk chose (None: the one holding the list)
        self.sheets_shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="import-wizard"):
            yield Static("导入乡镇名单(.xlsx、.xls 或 .csv)", classes="dialog-title")
            yield Select(LEDGER_OPTIONS, value=self.scope["ledger"], allow_blank=False, id="w-ledger")
            yield Input(value=self.scope.get("program") or "", placeholder="项目,如 耕地地力保护补贴", id="program")
            yield error_label("program")
            yield Input(value=self.scope.get("period") or "", placeholder="期间,如 2026", id="period")
            yield error_label("period")
            yield Input(placeholder="文件路径,如 E:\\补贴名单.xlsx", id="file")
            yield error_label("file")
            yield Vertical(id="sheet-choice")  # filled when the workbook has several sheets
            yield error_label("map")
            yield Vertical(id="column-choices")  # filled when a required column is not found
            yield Button("检查", id="check", variant="primary")
            yield Static("", id="report")
            with Horizontal(classes="row"):
                yield Button("全部导入", id="all", disabled=True)
                yield Button("只导入正确的行", id="valid", disabled=True)

    def _args(self):
        return (Path(self.query_one("#file", Input).value.strip()), self.query_one("#w-ledger", Select).value,
                self.query_one("#program", Input).value.strip(), self.query_one("#period", Input).value.strip())

    @on(Button.Pressed, "#check")
    def _check(self) -> None:
        path = self._args()[0]
        if not path.is_file():
            show_field_errors(self, [])
            say(self.query_one("#err-file", Label), "找不到该文件")
            return
        self._run(dry_run=True, valid_only=False, overrides=self._overrides())

    @on(Button.Pressed, "#all")
    def _all(self) -> None:
        self._run(dry_run=False, valid_only=False, overrides=self._overrides())

    @on(Button.Pressed, "#valid")
    def _valid(self) -> None:
        self._run(dry_run=False, valid_only=True, overrides=self._overrides())

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _run(self, dry_run: bool, valid_only: bool, overrides: dict[str, str]) -> None:
        from ledgers import service
        path, ledger, program, period = self._args()
        try:
            report = service.import_file(self.app.session, path, ledger, program, period, overrides,
                                         dry_run=dry_run, valid_only=valid_only, sheet=self.sheet)
        except StationError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._reported, report, dry_run)

    def _overrides(self) -> dict[str, str]:
        """The columns the clerk picked for fields the file's headers did not name (kept while the
        file stays the same: a later check may ask for another)."""
        self.picked.update({str(choice.id)[4:]: str(choice.value) for choice in self.query("#column-choices Select")
                            if not choice.is_blank()})
        return dict(self.picked)

    @on(Input.Changed, "#file")
    async def _new_file(self) -> None:
        self.picked = {}
        self.sheet = None
        await self._offer_sheets([], None)

    async def _offer_sheets(self, sheets: list[str], current: str | None) -> None:
        """A choice list of the workbook's sheets (the one read selected), when it has several."""
        if sheets == self.sheets_shown:
            return
        self.sheets_shown = list(sheets)
        box = self.query_one("#sheet-choice", Vertical)
        await box.remove_children()
        if len(sheets) > 1:
            await box.mount(Static("工作簿有多个工作表,读取哪一个?"),
                            Select([(t, t) for t in sheets], value=current, allow_blank=False, id="w-sheet"))

    @on(Select.Changed, "#w-sheet")
    def _sheet_chosen(self, event: Select.Changed) -> None:
        read = self.report.sheet if self.report is not None else None
        if isinstance(event.value, str) and event.value != (self.sheet or read):
            self.sheet = event.value
            self.picked = {}  # another sheet, other headers
            self.query_one("#column-choices", Vertical).remove_children()
            self._run(dry_run=True, valid_only=False, overrides={})

    async def _offer_columns(self, exc) -> None:
        from ledgers import rules
        self._overrides()
        box = self.query_one("#column-choices", Vertical)
        await box.remove_children()
        for name in exc.missing:
            box.mount(Static(f"“{rules.FIELD_LABELS[name]}”是表格中的哪一列?"))
            box.mount(Select([(h, h) for h in exc.headers], prompt="请选择列", id=f"map-{name}"))

    async def _failed(self, exc: StationError) -> None:
        from ledgers.service import MissingColumns
        if isinstance(exc, MissingColumns):
            await self._offer_sheets(getattr(exc, "sheets", []), getattr(exc, "sheet", None))
            await self._offer_columns(exc)
        # Only the short field messages go beside their inputs; the rest (a missing column with the
        # file's headers, a limit) in the report area, which wraps instead of cutting them off.
        left = show_field_errors(self, [d for d in exc.details if d.field in ("program", "period")])
        left += [d for d in exc.details if d.field not in ("program", "period")]
        self.query_one("#report", Static).update(exc.title + "".join(f"\n{d.message}" for d in left[:10]))

    def _reported(self, report, dry_run: bool) -> None:
        show_field_errors(self, [])
        self.report = report
        if report.already_imported:
            self.query_one("#report", Static).update("该文件已导入过本期台账,未重复导入。")
            return
        if not dry_run:
            self.app.notify(f"已导入 {report.written} 行,合计 {report.as_dict()['total']} 元", title="导入完成")
            self.dismiss(True)
            return
        from ledgers import rules, service
        self.call_later(self._offer_sheets, report.sheets, report.sheet)
        lines = [(f"工作表“{report.sheet}”," if report.sheet else "") + f"表头在第 {report.header_row} 行;列对应:" +
                 ",".join(f"{rules.FIELD_LABELS[k]}←{v}" for k, v in report.mapping.items()),
                 f"共 {report.rows} 行:正确 {report.valid} 行(合计 {report.as_dict()['total']} 元),错误 {report.error_count} 处"]
        lines += [f"注意:{note}" for note in report.notes]
        lines += [f"{service.where(e)}:{e['message']}" for e in report.errors[:12]]
        if report.error_count > 12:
            lines.append(f"……另有 {report.error_count - 12} 处未列出(请先修正以上各处后再检查)")
        lines += [f"第 {s['row']} 行:{s['reason']}" for s in report.skipped[:6]]
        self.query_one("#report", Static).update("\n".join(lines))
        self.query_one("#all", Button).disabled = bool(report.error_count) or not report.valid
        valid = self.query_one("#valid", Button)
        valid.disabled = not (report.error_count and report.valid)
        valid.label = f"只导入正确的 {report.valid} 行"


class CorrectionForm(FormScreen):
    def __init__(self, entry_id: str):
        super().__init__()
        self.entry_id = entry_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("更正台账记录(原记录保留,更正留痕)", classes="dialog-title")
            yield Label("更正原因(必填)")
            yield Input(id="reason")
            yield error_label("reason")
            yield Label("新金额(元),不填则为冲减(作废该记录)")
            yield Input(id="amount", restrict=r"[0-9.]*")
            yield error_label("amount")
            yield Button("保存 (Ctrl+S)", id="save", variant="primary")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from ledgers import service
        amount = self.query_one("#amount", Input).value.strip()
        self.save_with(lambda: service.correct(self.app.session, self.entry_id, self.query_one("#reason", Input).value,
                                               {"amount": amount, "area": "", "rate": ""} if amount else None))


class ExportForm(Dialog[None]):
    BINDINGS = [("escape", "dismiss", "取消")]

    def __init__(self, scope: dict):
        super().__init__()
        self.scope = scope

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("导出台账(号码已脱敏)", classes="dialog-title")
            yield Input(placeholder="保存为,如 E:\\台账.xlsx 或 台账.csv", id="file")
            yield error_label("file")
            yield Button("导出", id="go", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        from ledgers import service
        try:
            n = service.export(self.app.session, Path(self.query_one("#file", Input).value.strip()), **self.scope)
        except (StationError, OSError) as exc:
            say(self.query_one("#err-file", Label), getattr(exc, "title", None) or f"无法写入:{exc}")
            return
        self.app.notify(f"已导出 {n} 行", title="导出完成")
        self.dismiss()
