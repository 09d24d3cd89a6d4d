"""A station's home folder, setting it up, and unlocking it into a ``Session``.

The folder holds ``station.db`` (encrypted) and ``keys.json`` (the sealed keys). A session is
an unlocked store plus who is working, their private key, and the station's clock and
calendar; services take it as their first argument. Nothing here is global: tests open as many
stations as they like.

Unlocking also finishes what an interrupted key change left (``_settle``) and moves the
recovery code of a station made by an earlier version out of ``settings`` (``_seal_legacy_recovery``).
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from station.catalog import shipped_catalog
from station.core.clock import HybridClock
from station.core.ids import new_id
from station.core.models import Catalog, Role
from station.core.rules import Rules
from station.core.workdays import WorkCalendar
from station.errors import (
    AlreadyExists,
    AuthFailed,
    FieldError,
    PermissionDenied,
    StoreError,
    ValidationFailed,
    WrongKey,
)
from station.services import audit
from station.services import catalog as catalog_service
from station.store import failures
from station.store import keys as keyring
from station.store.db import Store, open_store
from station.store.keys import Unlocked, key_id
from station.store.migrations import migrate

DB_FILE = keyring.DB_FILE
KEYS_FILE = keyring.KEYS_FILE
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
    # The user's X25519 private key (opens the recovery code for a supervisor); None only for
    # sessions built by hand.
    user_key: object = field(default=None, repr=False)
    today: Callable[[], date] = date.today
    clock: HybridClock = None  # type: ignore[assignment]
    _catalog: Catalog | None = field(default=None, repr=False)
    _calendar: WorkCalendar | None = field(default=None, repr=False)
    _rules: Rules | None = field(default=None, repr=False)

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

    def rules(self) -> Rules:
        """The county's rules in force (cached): the township's newest version, or the national defaults."""
        if self._rules is None:
            from station.services import rules as rules_service
            self._rules = rules_service.active(self.store)
        return self._rules

    def forget_rules(self) -> None:
        self._rules = None

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


def user_digest(username: str, role: str, active: int | bool) -> str:
    """The digest of a user's row that every audited change to the user carries: ``audit
    verify`` compares it with the row, so a role or status changed behind the app shows."""
    body = json.dumps([username, role, int(bool(active))], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


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
        errors += keyring.check_passphrase(passphrase, {"登录名": username, "服务站编码": code, "姓名": display_name})
        if errors:
            raise ValidationFailed("无法建立服务站", errors)

        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        ring, db_key, recovery, private = keyring.KeyRing.new_store_key(self.keys_path, username, passphrase)
        # The recovery code is kept only sealed to the supervisor (``recovery show``), never in a table.
        ring.give_recovery_code(username, recovery)
        store = open_store(self.db_path, db_key, create=True)
        try:
            migrate(store)
            user = User(new_id(), username, display_name.strip(), Role.SUPERVISOR)
            with store.transaction() as db:
                for key, value in (("station_code", code), ("station_name", name.strip()), ("node_id", str(uuid.uuid4())),
                                   ("created_at", audit.now_iso())):
                    db["settings"].insert({"key": key, "value": value})
                db["users"].insert({"id": user.id, "username": username, "display_name": user.display_name,
                                    "role": user.role.value, "active": 1, "created_at": audit.now_iso()})
                audit.record(db, username, "station.init", code, {"name": name.strip()})
                audit.record(db, username, "user.add", username,
                             {"role": user.role.value, "row": user_digest(username, user.role.value, 1)})
                catalog_service.install(db, shipped_catalog(), username, "内置")
        except BaseException:
            store.close()
            for leftover in self.dir.glob(DB_FILE + "*"):
                leftover.unlink()
            raise
        # The key ring is written last: until it exists the half-made station can be retried.
        ring.save()
        return self._session(store, user, db_key, ring, today, private), recovery

    def keyring(self) -> keyring.KeyRing:
        return keyring.station_ring(self.dir)

    def unlock(self, username: str, passphrase: str, today: Callable[[], date] = date.today) -> Session:
        ring = self.keyring()
        return self.open_unlocked(ring, username, ring.open(username, passphrase), today)

    def open_unlocked(self, ring: keyring.KeyRing, username: str, opened: Unlocked,
                      today: Callable[[], date] = date.today) -> Session:
        """The rest of ``unlock`` once ``ring.open`` has run the KDF: the store opened, an
        interrupted key change finished, the schema brought up to date, the session made."""
        store, db_key = self._open(opened)
        try:
            db_key = _settle(store, ring, db_key, opened.keys)
            _seal_legacy_recovery(store, ring, username)
            migrate(store)
            user = _load_user(store, username)
            if user is None:
                raise AuthFailed(f"用户“{username}”已停用,不能登录。如需恢复,请联系站长。")
            session = self._session(store, user, db_key, ring, today, opened.private)
        except BaseException:
            store.close()
            raise
        if user.is_supervisor:
            _share_recovery_code(session)
        return session

    def recover(self, code: str, username: str, new_passphrase: str, today: Callable[[], date] = date.today) -> Session:
        """Recovery code → a new passphrase for a supervisor (who may then reset clerks)."""
        ring = self.keyring()
        problems = keyring.check_passphrase(new_passphrase, {"登录名": username})
        if problems:
            raise ValidationFailed("新密码不符合要求", problems)
        opened = ring.open_recovery(code)
        store, db_key = self._open(opened)
        try:
            db_key = _settle(store, ring, db_key, opened.keys)
            migrate(store)
            user = _load_user(store, username)
            if user is None or not user.is_supervisor:
                raise PermissionDenied(f"“{username}”不是在用的站长账号;恢复码只能重设站长密码")
            with store.transaction() as db:
                audit.record(db, username, "user.recover", username, {"row": user_digest(username, user.role.value, 1)})
            private = ring.set_user(username, db_key, new_passphrase)
            ring.give_recovery_code(username, code)
            ring.save()
            return self._session(store, user, db_key, ring, today, private)
        except BaseException:
            store.close()
            raise

    def _open(self, opened: Unlocked) -> tuple[Store, bytes]:
        """Open the store with the first of the keys that fits (two only mid key change).
        Only a key that does not fit moves on to the next; a full disk, read-only media, a lock
        or a damaged file is said as it is at once (``store.failures``)."""
        failure: StoreError | None = None
        for db_key in opened.keys:
            try:
                return open_store(self.db_path, db_key), db_key
            except WrongKey as exc:
                failure = exc
        raise failure or failures.wrong_key(self.db_path)

    def _session(self, store: Store, user: User, db_key: bytes, ring, today, private=None) -> Session:
        settings = {r["key"]: r["value"] for r in store.query("SELECT key, value FROM settings")}
        return Session(store=store, user=user, station_code=settings["station_code"], station_name=settings["station_name"],
                       db_key=db_key, keys=ring, today=today, user_key=private)


def _settle(store: Store, ring: keyring.KeyRing, db_key: bytes, candidates: list[bytes]) -> bytes:
    """Finish a key change that a power cut interrupted (the order is in ``services/rekey.py``).

    The store opened with ``db_key``. If the ring already names another key as current and
    this user holds it, the cut came before ``PRAGMA rekey`` finished: do it now, so whoever the
    change was meant to shut out stays shut out. If the store is already under the current key,
    only the old sealed copies are left to drop. Returns the key the store is under now."""
    current = next((k for k in candidates if key_id(k) == ring.current), None)
    if current is not None and current != db_key:
        store.rekey(current)
        with store.transaction() as db:
            audit.record(db, None, "store.rekey_finished", ring.current, {})
        db_key = current
    if key_id(db_key) == ring.current and ring.keep_only(db_key):
        ring.save()
    return db_key


def _seal_legacy_recovery(store: Store, ring: keyring.KeyRing, username: str) -> None:
    """Earlier versions kept the recovery code in ``settings``, readable by every clerk. Take it
    out: upgrade the recovery entry with it, seal it to each supervisor whose entry is already
    format 2 (the one unlocking, if a supervisor), then delete the row. A supervisor upgraded
    later gets it from one who holds it (``_share_recovery_code``). If no supervisor holds it
    yet (a clerk unlocked first), the code in the township's safe still works for ``recover``,
    but ``recovery show`` cannot show it again: ``station rekey --new-recovery-code`` makes a new one."""
    code = store.scalar("SELECT value FROM settings WHERE key = 'recovery_code'")
    if code is None:
        return
    if not ring.recovery_upgraded():
        try:
            ring.open_recovery(code)
        except AuthFailed:
            pass  # the row did not match the file: keep the file's entry as it is
    supervisors = [r["username"] for r in store.query("SELECT username FROM users WHERE role = 'supervisor' AND active = 1")]
    given = [u for u in supervisors if ring.give_recovery_code(u, code)]
    ring.save()  # before the row goes: a cut in between leaves the row, and this runs again
    with store.transaction() as db:
        db.execute("DELETE FROM settings WHERE key = 'recovery_code'")
        audit.record(db, username, "recovery.sealed", None, {"supervisors": given})


def _share_recovery_code(session: Session) -> None:
    """A supervisor who holds the recovery code seals it to the other active supervisors who do not."""
    ring = session.keys
    code = ring.take_recovery_code(session.user.username, session.user_key)
    if code is None:
        return
    missing = [r["username"] for r in session.store.query("SELECT username FROM users WHERE role = 'supervisor' AND active = 1")
               if ring.is_upgraded(r["username"]) and not ring.has_recovery_code(r["username"])]
    if missing:
        for username in missing:
            ring.give_recovery_code(username, code)
        ring.save()


def _load_user(store: Store, username: str) -> User | None:
    row = store.one("SELECT id, username, display_name, role FROM users WHERE username = ? AND active = 1", (username,))
    return User(row["id"], row["username"], row["display_name"], Role(row["role"])) if row else None
