"""The console's settings kept in the hub store (audited): after how many days without contact a
station stands out on 总览, and a folder the console watches like a stick (a shared inbox)."""
from __future__ import annotations

from pathlib import Path

from station.errors import FieldError, ValidationFailed
from sync.hub import views


def set_silent_days(hub, days: int | str) -> int:
    hub.require("station.manage")
    try:
        n = int(str(days).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= 365:
        raise ValidationFailed("天数无效", [FieldError("silent_days", "bad_days", "请填写 1 到 365 之间的天数")])
    with hub.store.transaction():
        hub.store.set_setting("console_silent_days", str(n))
        hub.store.audit(hub.user, "settings.silent_days", None, {"days": n})
    return n


def set_stick_folder(hub, folder: str) -> str | None:
    hub.require("station.manage")
    text = (folder or "").strip()
    if text and not Path(text).expanduser().is_dir():
        raise ValidationFailed("文件夹无效", [FieldError("stick_folder", "not_dir", f"没有文件夹 {text}")])
    with hub.store.transaction():
        hub.store.set_setting("console_stick_folder", str(Path(text).expanduser()) if text else "")
        hub.store.audit(hub.user, "settings.stick_folder", None, {"folder": text})
    return text or None


def current(hub) -> dict:
    return {"silent_days": views.silent_days(hub), "stick_folder": hub.store.setting("console_stick_folder") or ""}
