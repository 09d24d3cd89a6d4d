"""Station settings a clerk or supervisor changes from the app (scan folder, idle lock).

Kept in the encrypted store's ``settings`` table, audited like every other change.
"""
from __future__ import annotations

from pathlib import Path

from station.errors import FieldError, ValidationFailed
from station.services import audit
from station.services.session import Session

IDLE_LOCK_DEFAULT_MIN = 5
IDLE_LOCK_RANGE = (1, 120)


def get(session: Session, key: str, default: str | None = None) -> str | None:
    value = session.store.scalar("SELECT value FROM settings WHERE key = ?", (key,))
    return default if value is None else value


def _put(session: Session, key: str, value: str) -> None:
    with session.store.transaction() as db:
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
        audit.record(db, session.user.username, "settings.set", key, {"value": value})


def scan_folder(session: Session) -> Path | None:
    value = get(session, "scan_folder")
    return Path(value) if value else None


def set_scan_folder(session: Session, folder: str) -> Path:
    path = Path(folder.strip()).expanduser()
    if not folder.strip() or not path.is_dir():
        raise ValidationFailed("扫描文件夹无效", [FieldError("scan_folder", "not_a_folder", f"找不到文件夹“{folder}”,请确认高拍仪的保存位置")])
    _put(session, "scan_folder", str(path.resolve()))
    return path.resolve()


def idle_lock_minutes(session: Session) -> int:
    return int(get(session, "idle_lock_minutes", str(IDLE_LOCK_DEFAULT_MIN)))


def set_idle_lock_minutes(session: Session, minutes: int) -> int:
    session.require_supervisor("修改自动锁屏时间")
    lo, hi = IDLE_LOCK_RANGE
    if not lo <= minutes <= hi:
        raise ValidationFailed("锁屏时间无效", [FieldError("idle_lock_minutes", "out_of_range", f"自动锁屏时间应在 {lo} 至 {hi} 分钟之间")])
    _put(session, "idle_lock_minutes", str(minutes))
    return minutes


def station_phone(session: Session) -> str | None:
    return get(session, "station_phone")


def set_station_phone(session: Session, phone: str) -> str:
    """The station's phone for receipts and notices (一个电话)."""
    from station.core.identity import check_phone
    session.require_supervisor("修改服务站电话")
    checked = check_phone(phone, "station_phone")
    if isinstance(checked, FieldError):
        raise ValidationFailed("电话号码无效", [checked])
    _put(session, "station_phone", checked)
    return checked
