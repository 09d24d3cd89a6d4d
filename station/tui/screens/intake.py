"""Intake (收件登记): resident, service, materials, 容缺, proxy, home visit, note — then save.

Find the resident as you type (name fragment, ID or phone tail) or register a new one; the
identity number is checked as it is typed. The service is found by Chinese or pinyin initials.
Whatever material is not ticked goes on the one-time notice. Errors appear beside the fields.
"""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Label, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from station.core.catalog_search import find_items
from station.core.identity import parse_id
from station.core.masking import mask_id, mask_phone
from station.core.models import CatalogItem
from station.errors import FieldError, StationError, ValidationFailed
from station.services import cases, search
from station.tui.base import StationScreen, error_label, say, show_field_errors
from station.tui.compact import Button, Checkbox, Footer, Input, OptionList, SelectionList
from station.tui.printing import print_document


class IntakeScreen(StationScreen):
    """收件登记"""

    BINDINGS = [("ctrl+s", "save", "保存"), ("escape", "app.go('today')", "返回"),
                ("ctrl+f", "focus_resident", "找群众"), ("ctrl+t", "focus_item", "选事项"),
                ("ctrl+r", "print('receipt')", "打印回执"), ("ctrl+o", "print('notice')", "打印告知书"),
                ("ctrl+y", "print('proxy')", "打印委托书"),
                ("ctrl+d", "open_saved", "打开此件"), ("ctrl+n", "new_intake", "再收一件")]

    def __init__(self):
        super().__init__()
        self.resident: dict | None = None  # an existing resident chosen from the search
        self.found: list[dict] = []
        self.item: CatalogItem | None = None
        self.matches: list[CatalogItem] = []
        self.saved: dict | None = None
        # (identity number, name) the clerk saw possible duplicates for and still registered as new
        self.duplicates_cleared: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with VerticalScroll(id="intake-form"):
            yield Static("一、群众", classes="section")
            yield Input(placeholder="查找已登记群众:姓名两个字、身份证或电话后几位", id="resident-search")
            yield OptionList(id="resident-results", classes="picker")
            yield Static("", id="resident-chosen", classes="chosen")
            with Vertical(id="new-resident"):
                yield Label("新群众 · 身份证号码(18位)")
                yield Input(id="id_number", max_length=18, restrict=r"[0-9Xx]*")
                yield error_label("resident.id_number")
                with Horizontal(classes="row"):
                    with Vertical():
                        yield Label("姓名")
                        yield Input(id="name")
                        yield error_label("resident.name")
                    with Vertical():
                        yield Label("电话")
                        yield Input(id="phone", restrict=r"[0-9\- ]*")
                        yield error_label("resident.phone")
                with Horizontal(classes="row"):
                    with Vertical():
                        yield Label("村民小组")
                        yield Input(id="village_group")
                    with Vertical():
                        yield Label("住址")
                        yield Input(id="address")
            yield Static("二、办理事项", classes="section")
            yield Input(placeholder="输入事项名称或拼音首字母,如 dbsq", id="item-search")
            yield OptionList(id="item-results", classes="picker")
            yield Static("", id="item-chosen", classes="chosen")
            yield error_label("item")
            yield Static("三、收到的材料(空格勾选;未勾选的列入一次性告知书)", classes="section")
            yield SelectionList(id="materials")
            yield error_label("materials_received")
            with Horizontal(classes="row"):
                yield Checkbox("容缺受理", id="gaps", disabled=True)
                yield Label("承诺补交日期", classes="inline-label")
                yield Input(placeholder="例:2026-12-01", id="promised_date", disabled=True)
            yield error_label("accept_with_gaps")
            yield error_label("accept_with_gaps.promised_date")
            yield Static("四、其他", classes="section")
            with Horizontal(classes="row"):
                yield Checkbox("委托代办", id="proxy")
                yield Input(placeholder="受托人姓名", id="proxy_name", disabled=True)
                yield Input(placeholder="与申请人关系", id="proxy_relation", disabled=True)
            yield error_label("proxy.name")
            yield error_label("proxy.relation")
            yield Checkbox("上门服务", id="home_visit")
            yield Input(placeholder="备注(可不填)", id="note")
            yield Button("保存收件 (Ctrl+S)", id="save", variant="primary")
            yield Static("", id="intake-result", classes="result")
        yield Footer()

    def on_mount(self) -> None:
        self._load_catalog_initials()
        # An empty result list takes no room: Tab must skip it, or the ID typed next is lost.
        self.query_one("#resident-results", OptionList).can_focus = False
        self.query_one("#resident-search", Input).focus()

    @work(thread=True, exit_on_error=False)
    def _load_catalog_initials(self) -> None:
        find_items(self.session.catalog.items, "a")  # warms the pinyin cache off the UI thread
        self.app.call_from_thread(self._show_items, "")

    # --- resident -------------------------------------------------------------------------
    @on(Input.Changed, "#resident-search")
    def _resident_typed(self, event: Input.Changed) -> None:
        if len(event.value.strip()) >= 2:
            self._find_residents(event.value)
        else:
            self._show_residents([])
        if not event.value.strip() and self.resident is not None:  # cleared: register a new resident instead
            self.resident = None
            self.query_one("#resident-chosen", Static).update("")
            self.query_one("#new-resident").display = True

    @work(thread=True, exclusive=True, exit_on_error=False, group="resident-search")
    def _find_residents(self, query: str) -> None:
        found = search.find_residents(self.session, query, limit=8)
        self.app.call_from_thread(self._show_residents, found)

    def _show_residents(self, found: list[dict]) -> None:
        self.found = found
        options = self.query_one("#resident-results", OptionList)
        options.clear_options()
        options.add_options([Option(f"{r['name']}  {mask_id(r['id_number'])}  {mask_phone(r['phone']) or ''}  "
                                    f"{r['village_group'] or ''}", id=str(i)) for i, r in enumerate(found)])
        options.can_focus = bool(found)
        if found:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#resident-results")
    def _resident_chosen(self, event: OptionList.OptionSelected) -> None:
        self._use_resident(self.found[int(event.option.id)])
        self.query_one("#item-search", Input).focus()

    def _use_resident(self, r: dict) -> None:
        self.resident = r
        self.query_one("#resident-chosen", Static).update(
            f"已选:{r['name']}  {mask_id(r['id_number'])}  {r['sex']}  {r['village_group'] or ''}  (清空查找框可改为登记新群众)")
        self.query_one("#new-resident").display = False

    @on(Input.Changed, "#id_number")
    def _id_typed(self, event: Input.Changed) -> None:
        label = self.query_one("#err-resident-id_number", Label)
        value = event.value.strip().upper()
        if len(value) < 18:
            say(label, f"已输入 {len(value)}/18 位" if value else "")
            label.set_class(False, "ok")
            return
        info = parse_id(value, "resident.id_number", self.session.today())
        if isinstance(info, FieldError):
            say(label, info.message)
            label.set_class(False, "ok")
        else:
            say(label, f"✓ 出生 {info.birth_date.isoformat()} · {info.sex}")
            label.set_class(True, "ok")

    # --- service item ---------------------------------------------------------------------
    @on(Input.Changed, "#item-search")
    def _item_typed(self, event: Input.Changed) -> None:
        self._show_items(event.value)

    def _show_items(self, query: str) -> None:
        self.matches = find_items(self.session.catalog.items, query, limit=12)
        options = self.query_one("#item-results", OptionList)
        options.clear_options()
        options.add_options([Option(f"{i.name}({i.code}· 承诺{i.promised_days}个工作日 · {i.deciding_level}级)", id=str(n))
                             for n, i in enumerate(self.matches)])
        options.can_focus = bool(self.matches)
        if self.matches:
            options.highlighted = 0

    @on(Input.Submitted, "#resident-search")
    def _resident_enter(self) -> None:
        """Enter in the search box takes the highlighted (first) match."""
        options = self.query_one("#resident-results", OptionList)
        if options.highlighted is not None and self.found:
            options.action_select()
        else:
            self.query_one("#id_number", Input).focus()

    @on(Input.Submitted, "#item-search")
    def _item_enter(self) -> None:
        options = self.query_one("#item-results", OptionList)
        if options.highlighted is not None and self.matches:
            options.action_select()

    def on_key(self, event) -> None:
        # ↓ from a search box goes into its result list.
        if event.key == "down" and self.focused is not None and self.focused.id in ("resident-search", "item-search"):
            target = "#resident-results" if self.focused.id == "resident-search" else "#item-results"
            if self.query_one(target, OptionList).option_count:
                self.query_one(target, OptionList).focus()
                event.stop()

    @on(OptionList.OptionSelected, "#item-results")
    def _item_chosen(self, event: OptionList.OptionSelected) -> None:
        self.item = self.matches[int(event.option.id)]
        item = self.item
        self.query_one("#item-chosen", Static).update(
            f"已选事项:{item.name}({item.code})· {item.department} · 法定{item.legal_days}个工作日,承诺{item.promised_days}个工作日")
        materials = self.query_one("#materials", SelectionList)
        materials.clear_options()
        materials.add_options([Selection(f"{m.name}({m.form}{'×' + str(m.copies) if m.copies > 1 else ''})"
                                         f"{' · 可容缺' if m.gap_allowed else ''}", m.name) for m in item.materials])
        materials.highlighted = 0  # so the first Space ticks the first material
        gaps = self.query_one("#gaps", Checkbox)
        gaps.disabled = not item.allows_gaps
        gaps.value = False
        gaps.label = "容缺受理" if item.allows_gaps else "容缺受理(本事项不适用)"
        materials.focus()

    @on(Checkbox.Changed, "#gaps")
    def _gaps(self, event: Checkbox.Changed) -> None:
        self.query_one("#promised_date", Input).disabled = not event.value

    @on(Checkbox.Changed, "#proxy")
    def _proxy(self, event: Checkbox.Changed) -> None:
        for field in ("#proxy_name", "#proxy_relation"):
            self.query_one(field, Input).disabled = not event.value

    # --- save -----------------------------------------------------------------------------
    def document(self) -> dict:
        """The intake document, exactly as ``station case new`` takes it."""
        def value(sel: str) -> str:
            return self.query_one(sel, Input).value.strip()
        if self.resident is not None:
            resident = {"id_number": self.resident["id_number"], "name": self.resident["name"]}
        else:
            resident = {"id_number": value("#id_number"), "name": value("#name"), "phone": value("#phone") or None,
                        "village_group": value("#village_group") or None, "address": value("#address") or None}
        doc = {"resident": resident, "item": self.item.code if self.item else None,
               "materials_received": list(self.query_one("#materials", SelectionList).selected),
               "home_visit": self.query_one("#home_visit", Checkbox).value, "note": value("#note") or None}
        if self.query_one("#gaps", Checkbox).value:
            doc["accept_with_gaps"] = {"promised_date": value("#promised_date")}
        if self.query_one("#proxy", Checkbox).value:
            doc["proxy"] = {"name": value("#proxy_name"), "relation": value("#proxy_relation")}
        return doc

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.saved is not None:
            self.notify("本件已保存。按 Ctrl+N 再收一件。", title="已保存")
            return
        doc = self.document()
        if doc["item"] is None:
            show_field_errors(self, [FieldError("item", "required", "请选择办理事项")])
            self.query_one("#item-search", Input).focus()
            return
        self.query_one("#save", Button).disabled = True
        if self.resident is None and self.duplicates_cleared != (doc["resident"]["id_number"], doc["resident"]["name"]):
            self._check_duplicates(doc)  # a new resident: first, is it someone registered already?
        else:
            self._save(doc)

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def _check_duplicates(self, doc: dict) -> None:
        from station.services import duplicates
        found = duplicates.find(self.session, doc["resident"]["id_number"], doc["resident"]["name"])
        if found:
            self.app.call_from_thread(self._ask_duplicates, found)
        else:
            self._intake(doc)

    def _ask_duplicates(self, found: list) -> None:
        from station.tui.screens.duplicates import NEW, DuplicateResidentScreen

        def answered(choice) -> None:
            if choice is None:  # back to the form, nothing saved
                self.query_one("#save", Button).disabled = False
                return
            doc = self.document()
            if choice == NEW:
                self.duplicates_cleared = (doc["resident"]["id_number"], doc["resident"]["name"])
            else:
                self._use_resident(choice)
                doc = self.document()
            self._save(doc)
        self.app.push_screen(DuplicateResidentScreen(found), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def _save(self, doc: dict) -> None:
        self._intake(doc)

    def _intake(self, doc: dict) -> None:
        """Save through the service (on a worker thread) and hand the outcome to the screen."""
        try:
            result = cases.intake(self.session, doc)
        except ValidationFailed as exc:
            self.app.call_from_thread(self._invalid, exc)
        except StationError as exc:
            self.app.call_from_thread(self._invalid, exc)
        else:
            self.app.call_from_thread(self._saved, result)

    def _invalid(self, exc: StationError) -> None:
        self.query_one("#save", Button).disabled = False
        if not isinstance(exc, ValidationFailed):
            # Not the form's fault (a full disk, a locked file): say what happened, not "fix the red text".
            self.app.show_error(exc)
            return
        left = show_field_errors(self, exc.details)
        title = exc.title if "未保存" in exc.title else exc.title + "(未保存)"
        self.notify("\n".join(d.message for d in left) or "请按红字提示修改后再保存", title=title, severity="error")

    def _saved(self, result: dict) -> None:
        self.saved = result
        show_field_errors(self, [])
        lines = [f"已收件:{result['number']} · {result['status_label']} · "
                 + (f"办结期限 {result['due_on']}" if result["due_on"] else "材料补齐后开始计算期限")]
        if result["missing"]:
            lines.append("一次性告知:尚缺 " + "、".join(result["missing"]))
        lines += [f"注意:{w}" for w in result["warnings"]]
        lines.append(" · ".join(["Ctrl+R 打印回执"] + (["Ctrl+O 打印一次性告知书"] if result["missing"] else [])
                                + ["Ctrl+Y 打印委托书", "Ctrl+D 打开此件", "Ctrl+N 再收一件"]))
        panel = self.query_one("#intake-result", Static)
        panel.update("\n".join(lines))
        panel.display = True
        panel.scroll_visible()
        self.notify(f"已保存 {result['number']}", title="收件成功")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("print", "open_saved", "new_intake"):
            if self.saved is None:
                return False
            if action == "print" and parameters == ("notice",) and not self.saved["missing"]:
                return False
        return True

    def action_print(self, kind: str) -> None:
        print_document(self, kind, self.saved["number"])

    def action_open_saved(self) -> None:
        self.app.open_case(self.saved["number"])

    def unsaved_work(self) -> str | None:
        if self.saved is not None:
            return None
        typed = any(i.value.strip() for i in self.query(Input) if i.id not in ("resident-search", "item-search"))
        chosen = self.resident is not None or self.item is not None or bool(self.query_one("#materials", SelectionList).selected)
        return "收件尚未保存" if typed or chosen else None

    def action_new_intake(self) -> None:
        self.app.pop_screen()
        self.app.push_screen(IntakeScreen())

    def action_focus_resident(self) -> None:
        self.query_one("#resident-search", Input).focus()

    def action_focus_item(self) -> None:
        self.query_one("#item-search", Input).focus()

    def offer_scan(self, path) -> None:
        if self.saved is None:
            self.notify(f"{path.name}:请先保存收件,再附加扫描件", title="发现新扫描件")
            return
        from station.tui.screens.case_detail import offer_scan_for_case
        offer_scan_for_case(self, self.saved["number"], path)
