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


# --- backups (备份) ---------------------------------------------------------------------
BACKUP_KEEP_DEFAULT = 5
BACKUP_KEEP_RANGE = (1, 30)
BACKUP_REMIND_DEFAULT = 7
BACKUP_REMIND_RANGE = (1, 90)


def backup_keep(session: Session) -> int:
    """How many backups to keep on a stick (older ones are removed after a new one is verified)."""
    return int(get(session, "backup_keep", str(BACKUP_KEEP_DEFAULT)))


def set_backup_keep(session: Session, count: int) -> int:
    # Fewer generations means older backups are deleted from the stick: the supervisor decides.
    session.require_supervisor("修改备份保留份数")
    lo, hi = BACKUP_KEEP_RANGE
    if not lo <= count <= hi:
        raise ValidationFailed("保留份数无效", [FieldError("backup_keep", "out_of_range", f"U盘上保留的备份份数应在 {lo} 至 {hi} 之间")])
    _put(session, "backup_keep", str(count))
    return count


def backup_remind_days(session: Session) -> int:
    """After how many days without a backup the Today screen reminds the clerk."""
    return int(get(session, "backup_remind_days", str(BACKUP_REMIND_DEFAULT)))


def set_backup_remind_days(session: Session, days: int) -> int:
    lo, hi = BACKUP_REMIND_RANGE
    if not lo <= days <= hi:
        raise ValidationFailed("提醒天数无效", [FieldError("backup_remind_days", "out_of_range", f"备份提醒天数应在 {lo} 至 {hi} 天之间")])
    _put(session, "backup_remind_days", str(days))
    return days


def last_backup_at(session: Session) -> str | None:
    """When the last verified backup was made (ISO time with offset), or None: never."""
    return get(session, "last_backup_at")
