"""How long since the last backup (the 今日 reminder). Apart from ``backup``, which makes and
restores backups, so that the Today screen does not load all of that (and sqlite-utils) to say
how many days it has been."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from station.services import settings
from station.services.session import Session


@dataclass(frozen=True)
class BackupAge:
    """How long ago the last backup was, seen from the station's 'today'."""

    at: datetime | None
    days: int | None
    due: bool
    remind_days: int


def age(last_at: str | None, today: date, remind_days: int) -> BackupAge:
    """Days since the last backup (by the PC's local date) and whether it is time for another."""
    if not last_at:
        return BackupAge(None, None, True, remind_days)
    when = datetime.fromisoformat(last_at).astimezone()
    days = max(0, (today - when.date()).days)  # a clock set back shows "today", not "-3 days"
    return BackupAge(when, days, days >= remind_days, remind_days)


def last_age(session: Session) -> BackupAge:
    return age(settings.last_backup_at(session), session.today(), settings.backup_remind_days(session))
