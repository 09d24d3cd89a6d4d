"""A station's home folder, setting it up, and unlocking it into a ``Session``.

The folder holds ``station.db`` (encrypted) and ``keys.json`` (the wrapped key). A session is
an unlocked store plus who is working and the station's clock and calendar; services take it
as their first argument. Nothing here is global: tests open as many stations as they like.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from station.catalog import shipped_catalog
from station.core.clock import HybridClock
from station.core.models import Catalog, Role
from station.core.workdays import WorkCalendar
from station.errors import (
    AlreadyExists,
    AuthFailed,
    FieldError,
    PermissionDenied,
    StoreError,
    ValidationFailed,
)
from station.services import audit
from station.services import catalog as catalog_service
from station.store import keys as keyring
from station.store.db import Store, open_store
from station.store.migrations import migrate

DB_FILE = "station.db"
KEYS_FILE = "keys.json"
_CODE = re.compile(r"^[A-Z0-9]{2,12}$")
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    role: Role

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR


@dataclass
class Session:
    store: Store
    user: User
    station_code: str
    station_name: str
    db_key: bytes = field(repr=False)
    keys: keyring.KeyRing = field(repr=False)
    today: Callable[[], date] = date.today
    clock: HybridClock = None  # type: ignore[assignment]
    _catalog: Catalog | None = field(default=None, repr=False)
    _calendar: WorkCalendar | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.clock is None:
            self.clock = HybridClock(self.station_code)
            last = self.store.scalar("SELECT max(stamp) FROM events")
            if last:
                self.clock.observe(last)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = catalog_service.active(self.store)
        return self._catalog

    def forget_catalog(self) -> None:
        self._catalog = None

    def calendar(self) -> WorkCalendar:
        """The working-day calendar: library data plus the township's overrides (cached)."""
        if self._calendar is None:
            self._calendar = self._load_calendar()
        return self._calendar

    def forget_calendar(self) -> None:
        self._calendar = None

    def _load_calendar(self) -> WorkCalendar:
        days = {date.fromisoformat(r["day"]): bool(r["workday"]) for r in self.store.query("SELECT day, workday FROM calendar_days")}
        years = {r["year"] for r in self.store.query("SELECT year FROM calendar_years")}
        return WorkCalendar(overrides=days, township_years=years)

    def require_supervisor(self, action: str) -> None:
        if not self.user.is_supervisor:
            raise PermissionDenied(f"只有站长可以{action}")

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_username(username: str) -> list[FieldError]:
    if not _USERNAME.match(username or ""):
        return [FieldError("username", "bad_username", "登录名须以小写字母开头,由2-32位小写字母、数字、下划线、点或横线组成")]
    return []


class StationHome:
    """The folder of one station."""

    def __init__(self, data_dir: Path | str):
        self.dir = Path(data_dir)
        self.db_path = self.dir / DB_FILE
        self.keys_path = self.dir / KEYS_FILE

    def exists(self) -> bool:
        return self.db_path.exists() or self.keys_path.exists()

    def init(self, code: str, name: str, username: str, display_name: str, passphrase: str,
             today: Callable[[], date] = date.today) -> tuple[Session, str]:
        """Create the station; return the open session and the recovery code (shown once)."""
        if self.exists():
            raise AlreadyExists(f"目录 {self.dir} 中已经有一个服务站,不会覆盖。请换一个目录,或直接使用它。")
        errors = []
        code = (code or "").strip().upper()
        if not _CODE.match(code):
            errors.append(FieldError("code", "bad_code", "服务站编码应为2-12位大写字母或数字,例如 XX0101"))
        if not (name or "").strip():
            errors.append(FieldError("name", "required", "服务站名称不能为空"))
        errors += check_username(username)
        if not (display_name or "").strip():
            errors.append(FieldError("display_name", "required", "站长姓名不能为空"))
        errors += keyring.check_passphrase(passphrase)
        if errors:
            raise ValidationFailed("无法建立服务站", errors)

        self.dir.mkdir(parents=True, exist_ok=True)
        ring, db_key, recovery = keyring.KeyRing.new_store_key(self.keys_path, username, passphrase)
        store = open_store(self.db_path, db_key, create=True)
        try:
            migrate(store)
            user = User(str(uuid.uuid4()), username, display_name.strip(), Role.SUPERVISOR)
            with store.transaction() as db:
                for key, value in (("station_code", code), ("station_name", name.strip()), ("node_id", str(uuid.uuid4())),
                                   ("created_at", audit.now_iso()), ("recovery_code", recovery)):
                    db["settings"].insert({"key": key, "value": value})
                db["users"].insert({"id": user.id, "username": username, "display_name": user.display_name,
                                    "role": user.role.value, "active": 1, "created_at": audit.now_iso()})
                audit.record(db, username, "station.init", code, {"name": name.strip()})
                audit.record(db, username, "user.add", username, {"role": user.role.value})
                catalog_service.install(db, shipped_catalog(), username, "内置")
        except BaseException:
            store.close()
            for leftover in self.dir.glob(DB_FILE + "*"):
                leftover.unlink()
            raise
        # The key ring is written last: until it exists the half-made station can be retried.
        ring.save()
        return self._session(store, user, db_key, ring, today), recovery

    def keyring(self) -> keyring.KeyRing:
        if not self.db_path.exists():
            raise StoreError(f"目录 {self.dir} 中没有服务站。请先运行 station init,或用 --data-dir 指定服务站目录。")
        return keyring.KeyRing.load(self.keys_path)

    def unlock(self, username: str, passphrase: str, today: Callable[[], date] = date.today) -> Session:
        ring = self.keyring()
        db_key = ring.unlock(username, passphrase)
        store = open_store(self.db_path, db_key)
        try:
            migrate(store)
            user = _load_user(store, username)
            if user is None:
                raise AuthFailed("该用户已停用,请联系站长")
            return self._session(store, user, db_key, ring, today)
        except BaseException:
            store.close()
            raise

    def recover(self, code: str, username: str, new_passphrase: str, today: Callable[[], date] = date.today) -> Session:
        """Recovery code → a new passphrase for a supervisor (who may then reset clerks)."""
        ring = self.keyring()
        problems = keyring.check_passphrase(new_passphrase)
        if problems:
            raise ValidationFailed("新密码不符合要求", problems)
        db_key = ring.unlock_recovery(code)
        store = open_store(self.db_path, db_key)
        try:
            migrate(store)
            user = _load_user(store, username)
            if user is None or not user.is_supervisor:
                raise PermissionDenied(f"“{username}”不是在用的站长账号;恢复码只能重设站长密码")
            with store.transaction() as db:
                audit.record(db, username, "user.recover", username, {})
            ring.set_user(username, db_key, new_passphrase)
            ring.save()
            return self._session(store, user, db_key, ring, today)
        except BaseException:
            store.close()
            raise

    def _session(self, store: Store, user: User, db_key: bytes, ring, today) -> Session:
        settings = {r["key"]: r["value"] for r in store.query("SELECT key, value FROM settings")}
        return Session(store=store, user=user, station_code=settings["station_code"], station_name=settings["station_name"],
                       db_key=db_key, keys=ring, today=today)


def _load_user(store: Store, username: str) -> User | None:
    row = store.one("SELECT id, username, display_name, role FROM users WHERE username = ? AND active = 1", (username,))
    return User(row["id"], row["username"], row["display_name"], Role(row["role"])) if row else None
