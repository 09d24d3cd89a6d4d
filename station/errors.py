"""One family of errors for the whole station, each with a code and a title in Chinese.

Validation returns errors as data (``FieldError``); services raise ``StationError``
subclasses; the CLI and the TUI show ``title`` and ``details`` and never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field: which field, a stable code, a message in Chinese."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


class StationError(Exception):
    """Base of every error a person may see. ``code`` is stable for scripts."""

    code = "station_error"
    exit_code = 1

    def __init__(self, title: str, details: list[FieldError] | None = None):
        super().__init__(title)
        self.title = title
        self.details = list(details or [])

    def as_dict(self) -> dict:
        return {
            "error": self.code,
            "title": self.title,
            "details": [d.as_dict() for d in self.details],
        }

    def __str__(self) -> str:
        lines = [self.title]
        lines += [f"  - {d.message}" for d in self.details]
        return "\n".join(lines)


class ValidationFailed(StationError):
    code = "validation_failed"
    exit_code = 2


class NotFound(StationError):
    code = "not_found"
    exit_code = 3


class IllegalTransition(StationError):
    code = "illegal_transition"
    exit_code = 4


class AuthFailed(StationError):
    code = "auth_failed"
    exit_code = 5


class PermissionDenied(StationError):
    code = "permission_denied"
    exit_code = 6


class StoreError(StationError):
    code = "store_error"
    exit_code = 7


class AlreadyExists(StationError):
    code = "already_exists"
    exit_code = 8


class PrintFailed(StationError):
    code = "print_failed"
    exit_code = 10


class BackupFailed(StationError):
    """A backup could not be made (stick missing, full, read-only), or a backup is damaged or
    not ours and is refused for restoring."""

    code = "backup_failed"
    exit_code = 13


# Storage failures, told apart so each message says what to do: a full disk or a locked file
# must never send a clerk to restore a backup, and "wrong key" is said only when it is.
class DiskFull(StoreError):
    code = "disk_full"


class ReadOnlyMedia(StoreError):
    code = "read_only_media"


class StoreLocked(StoreError):
    code = "store_locked"


class StoreDamaged(StoreError):
    code = "store_damaged"


class WrongKey(StoreError):
    code = "wrong_key"


class StorageIOError(StoreError):
    code = "storage_io_error"
