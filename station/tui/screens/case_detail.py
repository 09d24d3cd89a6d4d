"""One case (件详情): facts, materials, timeline, attachments, and the actions its state allows.

An action's key appears in the footer only when the case's state allows it (``check`` from
the domain core decides, the same rule the service enforces when saving).
"""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Static
from textual.widgets.selection_list import Selection

from station.core.cases import (
    APPEAL_OUTCOMES,
    DELIVERY_METHODS,
    RATING_CHANNELS,
    RATING_LABELS,
    TOWNSHIP_EVENTS,
    CaseState,
    EventType,
    check,
)
from station.core.masking import mask_id, mask_phone
from station.core.rules import BAD_REASON_CATEGORIES
from station.errors import StationError
from station.services import attachments, cases, residents, users
from station.tui.base import Dialog, StationScreen, error_label, show_field_errors
from station.tui.columns import Column, set_columns
from station.tui.compact import Button, Footer, Input, RadioButton, RadioSet, SelectionList
from station.tui.keys import key_label
from station.tui.printing import print_document

# key, event, description
ACTIONS = [
    ("s", EventType.SUBMITTED, "上报乡镇"), ("a", EventType.ACCEPTED, "乡镇已受理"),
    ("b", EventType.RETURNED, "退回补正"), ("d", EventType.DECIDED, "记录办理结果"),
    ("g", EventType.DELIVERED, "结果送达"), ("e", EventType.RATED, "群众评价"),
    ("f", EventType.FOLLOW_UP_CLOSED, "整改完成"), ("m", EventType.MATERIALS_ADDED, "补交材料"),
    ("w", EventType.WITHDRAWN, "撤回"), ("t", EventType.NOTE, "备注"),
    ("v", EventType.REVISITED, "差评回访"), ("z", EventType.FOLLOW_UP_RATED, "追评"), ("u", EventType.APPEALED, "申诉"),
]
# Refusals that only say "not now" (the key is hidden rather than offered and refused).
NOT_NOW = ("illegal_transition", "materials_missing", "no_follow_up", "already_revisited", "not_rectified", "already_rated",
           "not_rated", "already_appealed")


TIMELINE_COLUMNS = [Column("日期", 10, 1), Column("事项", 14, 2), Column("经办", 10, 4), Column("内容", 40, 3, min_width=16)]


class CaseDetailScreen(StationScreen):
    """代办件详情"""

    BINDINGS = [("escape", "app.pop_screen", "返回"), ("ctrl+a", "attach", "附加扫描件"),
                ("ctrl+g", "open_resident", "群众页"), ("ctrl+r", "print('receipt')", "打印回执"),
                ("ctrl+o", "print('notice')", "打印告知书"), ("ctrl+y", "print('proxy')", "打印委托书"),
                ("ctrl+k", "print('correction')", "打印补正通知")]
    BINDINGS += [(k, f"event('{e.value}')", d) for k, e, d in ACTIONS]

    def __init__(self, number: str):
        super().__init__()
        self.number = number
        self.state: CaseState | None = None
        self.enrolled = False  # an enrolled station receives the township's steps; it does not type them in
        self.catalog_text: str | None = None  # which catalog version the case lives by, when not the current one

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with VerticalScroll(id="case-body"):
            yield Static("正在读取…", id="case-facts")
            yield Static("", id="case-keys", classes="chosen")
            yield Static("", id="case-materials")
            yield Static("办理过程:", classes="section")
            yield DataTable(id="timeline", cursor_type="none", zebra_stripes=True)
            yield Static("", id="case-attachments")
        yield Footer()

    def on_mount(self) -> None:
        # 内容 narrows to fit 80 columns rather than running off the right edge.
        set_columns(self.query_one("#timeline", DataTable), TIMELINE_COLUMNS, self.app.size.width)
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="case")
    def _load(self) -> None:
        state, events = cases.load(self.session, self.number)
        person = residents.get(self.session, state.resident_id)
        files = attachments.list_for_case(self.session, state.id)
        names = users.display_names(self.session)
        self.enrolled = cases.is_enrolled(self.session)
        self.catalog_text = cases.catalog_note(self.session, state)["text"]
        self.app.call_from_thread(self._show, state, events, person, files, names)

    def _show(self, state: CaseState, events, person: dict, files: list[dict], names: dict[str, str]) -> None:
        self.state = state
        self.person = person
        due = state.due_on.isoformat() if state.due_on else "材料补齐后计算"
        lines = [f"件号 {state.number} · {state.item_name}",
                 f"群众 {person['name']} · 身份证 {mask_id(person['id_number'])} · 电话 {mask_phone(person['phone']) or '—'}",
                 f"状态 {state.status.label} · 首问代办员 {names.get(state.owner, state.owner)} · 收件 {state.received_on} · 期限 {due}"
                 + ("(估算)" if state.due_estimated else "")]
        if state.proxy:
            lines.append(f"委托代办:{state.proxy.get('name')}({state.proxy.get('relation')})")
        if state.home_visit:
            lines.append("上门服务")
        lines += _rating_lines(state)
        if state.decision:
            lines.append(f"办理结果:{'准予' if state.decision == 'approved' else '不予'} · {state.decision_summary}")
        for c in state.conflicts:
            lines.append(f"冲突(未生效):{c['type']} — {c['reason']}")
        if self.catalog_text:
            lines.append(self.catalog_text)
        self.query_one("#case-facts", Static).update("\n".join(lines))
        mats = [("✓ " if m in state.materials_received else "✗ ") + m for m in state.materials_required]
        promise = f" · 容缺受理,承诺 {state.gap_promise} 前补交" if state.gap_promise else ""
        if state.gap_overdue(self.session.today()):
            promise += "(已逾期未补交,Ctrl+K 打印补正通知)"
        self.query_one("#case-materials", Static).update("材料:" + ";".join(mats) + promise)
        table = self.query_one("#timeline", DataTable)
        table.clear()
        for e in cases.timeline(events):
            who = names.get(e["user"], e["user"]) if e["node"] == self.session.station_code else f"乡镇({e['node']})"
            table.add_row(e["on"] or "", e["label"], who or "", _summary(e))
        self.query_one("#case-attachments", Static).update(
            "扫描件:" + ("、".join(f"{f['name']}({f['size'] // 1024} KB)" for f in files) if files else "无(Ctrl+A 附加)"))
        self.query_one("#case-keys", Static).update(allowed_keys_line(self))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "event":
            if self.state is None:
                return False
            etype = EventType(parameters[0])
            if etype in TOWNSHIP_EVENTS and self.enrolled:
                return False
            problems = check(self.state, etype, _probe_payload(etype, self.state))
            return not any(p.code in NOT_NOW for p in problems)
        if action in ("attach", "print"):
            if self.state is None:
                return False
            if action == "print" and parameters == ("correction",):
                return self.state.gap_overdue(self.session.today())
            return not (action == "print" and parameters == ("notice",) and not self.state.missing)
        return True

    def action_print(self, kind: str) -> None:
        print_document(self, kind, self.number)

    def action_event(self, etype_value: str) -> None:
        etype = EventType(etype_value)

        def done(state: CaseState | None) -> None:
            if state is not None:
                self.notify(f"{self.number}:{etype.label}已记录", title="已保存")
                self.reload()
        if etype in cases.GAP_CONFIRMED_EVENTS and self.state.gap_outstanding:
            def answer(yes: bool | None) -> None:
                if yes:  # the confirmation is recorded with the event (gap_confirmed, gap_missing)
                    self.app.push_screen(EventForm(self.number, etype, self.state, gap_confirmed=True), done)
            self.app.push_screen(Confirm(f"容缺材料仍未补交(承诺 {self.state.gap_promise} 前):"
                                         + "、".join(self.state.gap_outstanding) + f"。\n确认仍要{etype.label}吗?"), answer)
            return
        self.app.push_screen(EventForm(self.number, etype, self.state), done)

    def action_open_resident(self) -> None:
        if self.state:
            self.app.open_resident(self.state.resident_id)

    def action_attach(self) -> None:
        pending = [p for p in self.app.pending_scans if p.exists()]
        if not pending:
            self.notify("扫描文件夹中没有新文件。请在设置(F9)中确认高拍仪的保存文件夹。", title="没有可附加的扫描件")
            return
        offer_scan_for_case(self, self.number, pending[-1])

    def offer_scan(self, path: Path) -> None:
        offer_scan_for_case(self, self.number, path)


def offer_scan_for_case(screen: Screen, number: str, path: Path) -> None:
    """Ask whether the new scan belongs to this case; attach it in a worker if yes."""
    app = screen.app

    def answer(yes: bool | None) -> None:
        if yes:
            attach_worker(screen, number, path)
    app.push_screen(Confirm(f"发现新扫描件 {path.name},附加到 {number}?\n附加后原文件将从扫描文件夹删除,只保存在加密数据库中。"), answer)


def attach_worker(screen: Screen, number: str, path: Path) -> None:
    app = screen.app

    def run() -> None:
        info = attachments.attach(app.session, number, path)
        app.call_from_thread(done, info)

    def done(info: dict) -> None:
        if path in app.pending_scans:
            app.pending_scans.remove(path)
        app.notify(f"{info['name']} 已附加到 {number}", title="已附加")
        if hasattr(screen, "reload"):
            screen.reload()
    screen.run_worker(run, thread=True, exit_on_error=False, group="attach")


def _summary(e: dict) -> str:
    # A step the clerk typed in from the township's paper decision says so.
    content = _content(e)
    if not e.get("transcribed"):
        return content
    return f"纸质录入:{content}" if content else "纸质录入"


def _content(e: dict) -> str:
    p = e["payload"]
    if e["type"] in ("rated", "follow_up_rated"):
        reason = p.get("reason") if isinstance(p.get("reason"), dict) else {}
        return RATING_LABELS.get(p.get("level"), "") + (f" · {reason.get('category')} {reason.get('text') or ''}" if reason else "")
    if e["type"] == "revisited":
        return p.get("result", "")
    if e["type"] == "rating_appealed":
        return p.get("grounds", "")
    if e["type"] == "appeal_decided":
        return f"{APPEAL_OUTCOMES.get(p.get('outcome'), '')}:{p.get('reason', '')}"
    if e["type"] == "decided":
        return ("准予:" if p.get("outcome") == "approved" else "不予:") + p.get("summary", "")
    if e["type"] == "notice_issued":
        return "尚缺:" + "、".join(m["name"] for m in p.get("missing", []))
    if e["type"] == "materials_added":
        return "、".join(p.get("materials", []))
    if e["type"] == "follow_up_closed":
        return f"核实:{p.get('verification')};整改:{p.get('rectification')};回访:{p.get('revisit')}"
    if e["type"] == "due_corrected":
        return f"期限 {p.get('was')} → {p.get('due_on')}"
    if e["type"] == "attachment_added":
        return p.get("name", "")
    if e["type"] == "received":
        return "收件" + ("(容缺受理)" if p.get("gap_promise") else "")
    return p.get("reason") or p.get("method") or p.get("text") or ""


def _probe_payload(etype: EventType, state: CaseState) -> dict:
    """A payload that passes the content checks, so only the state decides whether a key shows.
    A township step recorded here is always a transcription of paper (add_event marks it so): it
    never supersedes an earlier transcription, so a decided or rated case offers no 受理/办理结果."""
    if etype in TOWNSHIP_EVENTS:
        return {"transcribed": True}
    return {EventType.MATERIALS_ADDED: {"materials": state.missing[:1]},
            EventType.FOLLOW_UP_CLOSED: {"verification": "x", "rectification": "x", "revisit": "x"},
            EventType.REVISITED: {"result": "x"}, EventType.FOLLOW_UP_RATED: {"level": 5},
            EventType.APPEALED: {"grounds": "x"}}.get(etype, {})


def _rating_lines(state: CaseState) -> list[str]:
    """The 好差评 record of a case: first rating, reason, deadlines, 追评 and appeal."""
    if state.rating is None:
        return []
    head = f"评价:{RATING_LABELS[state.rating]}({state.rating_channel or '现场评价'} {state.rating_on or ''})"
    if state.rating_overturned:
        head += " · 经乡镇复核已撤销"
    lines = [head]
    if state.bad_reason:
        lines.append(f"差评原因:{state.bad_reason.get('category')} {state.bad_reason.get('text') or ''}".rstrip())
    if state.follow_up == "open":
        revisit = f"已回访 {state.revisited_on}" if state.revisited_on else f"回访期限 {state.revisit_due or '—'}"
        lines.append(f"差评待整改:{revisit} · 整改期限 {state.rectify_due or '—'}(按 V 记回访,F 记整改完成)")
    elif state.follow_up == "closed":
        lines.append(f"差评已整改({state.rectified_on}):{state.rectification or ''}")
    if state.follow_up_rating is not None:
        lines.append(f"追评:{RATING_LABELS[state.follow_up_rating]}({state.follow_up_rating_on})")
    if state.appeal == "pending":
        lines.append(f"已申诉,待乡镇复核:{state.appeal_grounds}")
    elif state.appeal:
        lines.append(f"申诉复核:{APPEAL_OUTCOMES[state.appeal]}({state.appeal_reason})")
    return lines


def allowed_keys_line(screen: CaseDetailScreen) -> str:
    """The steps this case allows now, with their keys: the footer at 80 columns cannot show them all."""
    steps = [f"{key_label(k)} {d}" for k, e, d in ACTIONS if screen.check_action("event", (e.value,))]
    return ("可办理:" + " · ".join(steps)) if steps else "本件已办结,没有可办理的步骤"


class Confirm(Dialog[bool]):
    BINDINGS = [("y", "answer(True)", "是"), ("n", "answer(False)", "否"), ("escape", "answer(False)", "取消")]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            yield Static("Y 是 · N 否", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class EventForm(Dialog[CaseState | None]):
    """The few fields an event needs; saved through the service, errors shown beside fields."""

    BINDINGS = [("ctrl+s", "save", "保存"), ("escape", "cancel", "取消")]

    def __init__(self, number: str, etype: EventType, state: CaseState, gap_confirmed: bool = False):
        super().__init__()
        self.number = number
        self.etype = etype
        self.state = state
        self.gap_confirmed = gap_confirmed

    def compose(self) -> ComposeResult:
        e = self.etype
        with Vertical(classes="dialog", id="event-form"):
            yield Static(f"{self.number} · {e.label}", classes="dialog-title")
            if e == EventType.DECIDED:
                with RadioSet(id="outcome"):
                    yield RadioButton("准予", value=True)
                    yield RadioButton("不予")
                yield Label("结果说明")
                yield Input(id="summary")
                yield error_label("summary")
            elif e == EventType.DELIVERED:
                with RadioSet(id="method"):
                    for i, m in enumerate(DELIVERY_METHODS):
                        yield RadioButton(m, value=i == 0)
            elif e in (EventType.RATED, EventType.FOLLOW_UP_RATED):
                with RadioSet(id="level"):
                    for level in (5, 4, 3, 2, 1):
                        yield RadioButton(f"{level} · {RATING_LABELS[level]}", value=level == 5)
                yield error_label("level")
                yield Label("评价渠道")
                with RadioSet(id="channel"):
                    for i, c in enumerate(RATING_CHANNELS):
                        yield RadioButton(c.removesuffix("评价"), value=i == 0)  # one row at 80 columns
                if e == EventType.RATED:
                    rules = self.app.session.rules()
                    bad = "、".join(RATING_LABELS[i] for i in range(rules.bad_rating_max, 0, -1))
                    yield Static(f"{bad}为差评:须选原因,将开启回访({rules.revisit_workdays}个工作日内)"
                                 f"和整改({rules.rectify_workdays}个工作日内)。", classes="hint")
                    yield Label("差评原因")
                    with RadioSet(id="reason-category"):
                        for c in BAD_REASON_CATEGORIES:
                            yield RadioButton(c)
                    yield Label("原因说明(选“其他”时必填)")
                    yield Input(id="reason")
                    yield error_label("reason")
            elif e == EventType.REVISITED:
                yield Label("回访情况(联系了谁、核实了什么)")
                yield Input(id="result")
                yield error_label("result")
            elif e == EventType.APPEALED:
                yield Static("申诉由乡镇复核决定;原评价不会删除。", classes="hint")
                yield Label("申诉理由")
                yield Input(id="grounds")
                yield error_label("grounds")
            elif e == EventType.FOLLOW_UP_CLOSED:
                for key, label in (("verification", "核实情况"), ("rectification", "整改情况"), ("revisit", "回访结果")):
                    yield Label(label)
                    yield Input(id=key)
                    yield error_label(key)
            elif e in (EventType.RETURNED, EventType.WITHDRAWN):
                yield Label("原因")
                yield Input(id="reason")
                yield error_label("reason")
            elif e == EventType.NOTE:
                yield Label("备注内容")
                yield Input(id="text")
                yield error_label("text")
            elif e == EventType.MATERIALS_ADDED:
                yield Label("勾选本次补交的材料(空格勾选)")
                yield SelectionList(*[Selection(m, m) for m in self.state.missing], id="materials")
                yield error_label("materials")
            else:
                yield Static(f"确认“{e.label}”?")
            yield error_label("type")
            yield Button("保存 (Ctrl+S)", id="event-save", variant="primary")

    def payload(self) -> dict:
        e = self.etype
        if e == EventType.DECIDED:
            outcome = "approved" if self.query_one("#outcome", RadioSet).pressed_index == 0 else "rejected"
            return {"outcome": outcome, "summary": self.query_one("#summary", Input).value.strip()}
        if e == EventType.DELIVERED:
            return {"method": DELIVERY_METHODS[max(self.query_one("#method", RadioSet).pressed_index, 0)]}
        if e in (EventType.RATED, EventType.FOLLOW_UP_RATED):
            out = {"level": (5, 4, 3, 2, 1)[max(self.query_one("#level", RadioSet).pressed_index, 0)],
                   "channel": RATING_CHANNELS[max(self.query_one("#channel", RadioSet).pressed_index, 0)]}
            if e == EventType.RATED:
                picked = self.query_one("#reason-category", RadioSet).pressed_index
                out["reason_category"] = BAD_REASON_CATEGORIES[picked] if picked >= 0 else None
                out["reason"] = self.query_one("#reason", Input).value.strip()
            return out
        if e == EventType.MATERIALS_ADDED:
            return {"materials": list(self.query_one("#materials", SelectionList).selected)}
        return {i.id: i.value.strip() for i in self.query(Input)}

    @on(Button.Pressed, "#event-save")
    def action_save(self) -> None:
        self.query_one("#event-save", Button).disabled = True
        self._save({**self.payload(), **({"gap_confirmed": True} if self.gap_confirmed else {})})

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _save(self, payload: dict) -> None:
        try:
            state = cases.add_event(self.app.session, self.number, self.etype, payload)
        except StationError as exc:
            self.app.call_from_thread(self._invalid, exc)
        else:
            self.app.call_from_thread(self.dismiss, state)

    def _invalid(self, exc: StationError) -> None:
        self.query_one("#event-save", Button).disabled = False
        left = show_field_errors(self, exc.details)
        if left:
            self.notify("\n".join(d.message for d in left), title=exc.title, severity="error")
        elif not exc.details:
            # A refusal with no field to point at (a full disk, a locked file) must still be seen.
            self.app.show_error(exc)

    def action_cancel(self) -> None:
        self.dismiss(None)
