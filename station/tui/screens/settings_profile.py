"""服务站信息 in 设置: the station's name (as on its sign), address, opening hours and phone.

Saved as a new version of the bulletin profile (``station.services.bulletin.set_profile``,
audited, the old versions kept); receipts print all four, so a resident knows where to come
back, when, and whom to call. The supervisor (站长) edits; a clerk sees them.
"""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from station.errors import FieldError, StationError, ValidationFailed
from station.services import bulletin
from station.tui.base import error_label, show_field_errors
from station.tui.compact import Button, Input

FIELDS = [("name", "服务站名称(与门口牌子一致)"), ("address", "地址"), ("hours", "办公时间(如 周一至周五 8:30–17:30)"),
          ("phone", "服务电话(印在回执上)")]


class ProfileSection(Vertical):
    """服务站信息: name, address, hours, phone."""

    DEFAULT_CSS = "ProfileSection { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("服务站信息(印在回执上)", classes="section")
        for key, label in FIELDS:
            yield Label(label)
            yield Input(id=f"profile-{key}")
            yield error_label(f"profile-{key}")
        yield Button("保存服务站信息", id="save-profile")

    def on_mount(self) -> None:
        session = self.app.session
        current = bulletin.profile(session)
        for key, _ in FIELDS:
            field = self.query_one(f"#profile-{key}", Input)
            field.value = current.get(key) or ""
            field.disabled = not session.user.is_supervisor
        self.query_one("#save-profile", Button).display = session.user.is_supervisor

    @on(Button.Pressed, "#save-profile")
    def _save(self) -> None:
        changes = {key: self.query_one(f"#profile-{key}", Input).value.strip() for key, _ in FIELDS}
        try:
            if not changes["name"]:
                raise ValidationFailed("服务站名称不能为空", [FieldError("name", "required", "请填写服务站名称")])
            saved = bulletin.set_profile(self.app.session, **changes)
        except StationError as exc:
            # The service names fields as the profile does (name, phone); ours carry a prefix.
            left = show_field_errors(self.screen, [FieldError(f"profile-{d.field}", d.code, d.message) for d in exc.details])
            if left or not exc.details:
                self.app.show_error(exc)
            return
        show_field_errors(self.screen, [])
        self.query_one("#profile-phone", Input).value = saved.get("phone") or ""
        self.notify("服务站信息已保存,之后打印的回执将使用新信息", title="已保存")
