"""Hub storage: the narrow interface (``HubStore``) and its SQLite/SQLCipher implementation.

Everything the hub service needs from storage is one of these methods, each a plain read or
write inside the caller's ``transaction()``. Domain logic (folding cases, sync rules) stays in
the service, so a PostgreSQL adapter only has to implement these.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator, Protocol

import sqlite_utils

from station.services import audit
from station.store.db import Store, open_store
from sync.bundle import exact_json


def _payload_text(payload: dict) -> str:
    """An event's payload as its column keeps it (read back with ``json.loads``), written by orjson:
    the payload is pydantic's JSON dump, in which NaN and the infinities are already null, so what
    reads back is what was written (orjson spells some floats differently, but as the same number)."""
    return exact_json(payload, sort_keys=False).decode("utf-8")


class HubStore(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager: ...
    def item(self) -> contextlib.AbstractContextManager: ...
    def setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...
    def key(self, purpose: str) -> bytes | None: ...
    def put_key(self, purpose: str, private: bytes, public: bytes) -> None: ...
    def audit(self, user: str, action: str, target: str | None, detail: dict) -> None: ...
    def station(self, code: str) -> dict | None: ...
    def stations(self) -> list[dict]: ...
    def add_station(self, row: dict) -> None: ...
    def update_station(self, code: str, **fields) -> None: ...
    def seen_content(self, station: str, seq: int, digest: str) -> bool: ...
    def insert_event(self, station: str, event: dict) -> bool: ...
    def insert_events(self, station: str, events: list[dict]) -> int: ...  # how many were new
    def case_events(self, case_id: str) -> list[dict]: ...
    def put_case(self, row: dict) -> None: ...
    def case(self, ref: str) -> dict | None: ...
    def owner(self, kind: str, record_id: str) -> str | None: ...
    def number_case(self, number: str) -> str | None: ...
    def top_number(self, station: str) -> str | None: ...
    def case_owner(self, case_id: str) -> str | None: ...
    # the same facts for a whole bundle at once (key → value; a key not found is absent)
    def received_refs(self, station: str, seq_from: int, seq_to: int) -> dict[int, tuple[str, str, str | None]]: ...
    def mark_received_many(self, station: str, rows: list[tuple[int, str, str, str | None]]) -> None: ...
    def owners(self, kind: str, ids: list[str]) -> dict[str, str]: ...
    def number_cases(self, numbers: list[str]) -> dict[str, str]: ...
    def case_owners(self, case_ids: list[str]) -> dict[str, str]: ...
    def case_events_of(self, case_ids: list[str]) -> dict[str, list[dict]]: ...
    def cases_with_events(self, case_ids: list[str]) -> set[str]: ...
    def put_cases(self, rows: list[dict]) -> None: ...
    def station_records(self, station: str) -> list[tuple[str, str]]: ...
    def record(self, kind: str, record_id: str) -> dict | None: ...
    def replace_outbox(self, station: str, rows: list[tuple[str, str, dict]]) -> None: ...
    def outbox_rows(self, station: str) -> list[dict]: ...
    # ``township``: only the cases (records) of that township's stations (a scoped account, staff_policy)
    def cases(self, station: str | None, status: str | None, limit: int, township: str | None = None) -> list[dict]: ...
    def put_resident(self, station: str, resident: dict) -> None: ...
    def put_attachment(self, station: str, attachment: dict) -> None: ...
    def put_ledger_entry(self, station: str, entry: dict) -> None: ...
    def put_infra_event(self, station: str, event: dict) -> None: ...
    def put_board_item(self, station: str, kind: str, item: dict) -> None: ...
    def quarantine(self, station: str, seq: int | None, kind: str, reason: str, data: dict | None) -> None: ...
    def quarantined(self, station: str | None, township: str | None = None) -> list[dict]: ...
    def append_outbox(self, station: str, kind: str, ref: str, data: dict) -> int: ...
    def outbox_after(self, station: str, seq: int, limit: int) -> list[dict]: ...
    def hold(self, station: str, seq_from: int, seq_to: int, data: bytes, reason: str) -> None: ...
    def held(self, station: str | None) -> list[dict]: ...
    def release(self, held_id: int) -> None: ...
    def held_ids(self, station: str) -> list[int]: ...
    def held_data(self, held_id: int) -> bytes | None: ...
    def max_stamp(self) -> str | None: ...
    def counts(self) -> dict: ...
    def chain_heads(self, station: str, enrolment: str) -> list[dict]: ...
    def add_chain_head(self, station: str, enrolment: str, chain: str, seq: int, digest: str, keep: int) -> None: ...
    def verify_audit(self) -> tuple[int, list]: ...

    def enrol_attempts(self, station_code: str) -> dict | None: ...
    def put_enrol_attempts(self, station_code: str, attempts: int, locked_at: str | None, last_at: str) -> None: ...
    def clear_enrol_attempts(self, station_code: str) -> None: ...
    def put_enrol_session(self, row: dict) -> None: ...
    def take_enrol_session(self, session_id: str) -> dict | None: ...
    def prune_enrolment(self, now: str, stale_before: str) -> None: ...
    # township staff accounts (role, active); their passphrases live in the hub's keyring
    def staff_member(self, username: str) -> dict | None: ...
    def staff_members(self) -> list[dict]: ...
    def put_staff(self, row: dict) -> None: ...
    def update_staff(self, username: str, **fields) -> None: ...
    # what the township console reads (sync/hub/views.py)
    def station_summary(self, today: str, open_statuses: list[str], township: str | None = None) -> list[dict]: ...
    def events_of_types(self, types: list[str]) -> list[dict]: ...
    def queue(self, statuses: list[str], station: str | None, item: str | None, due_before: str | None,
              limit: int, offset: int, township: str | None = None) -> list[dict]: ...
    def queue_count(self, statuses: list[str], station: str | None, item: str | None, due_before: str | None,
                    township: str | None = None) -> int: ...
    def item_names(self) -> list[str]: ...
    def resident(self, resident_id: str) -> dict | None: ...
    def case_attachments(self, case_id: str) -> list[dict]: ...
    def attachment_data(self, attachment_id: str) -> bytes | None: ...
    def deliveries(self, kinds: list[str]) -> list[dict]: ...
    def outbox_data(self, station: str, seq: int) -> dict | None: ...
    # township console work (sync/hub/decisions.py, stats.py, quarantine.py)
    def decision_queue(self, station: str | None, township: str | None = None) -> list[dict]: ...
    def stats_events(self, station: str | None, received_until: str, changed_since: str = "",
                     township: str | None = None) -> list[dict]: ...
    def quarantine_item(self, item_id: int) -> dict | None: ...
    def drop_quarantine(self, item_id: int) -> None: ...
    def held_rows(self, station: str | None, township: str | None = None) -> list[dict]: ...
    def founder(self) -> str | None: ...
    def close(self) -> None: ...
    def lock_station(self, code: str) -> None: ...


def _v1(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT, action TEXT NOT NULL, target TEXT,
        detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE hub_keys (purpose TEXT PRIMARY KEY, private BLOB NOT NULL, public BLOB NOT NULL);
    CREATE TABLE stations (code TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, code_hash TEXT,
        code_expires TEXT, sign_pub BLOB, enc_pub BLOB, created_at TEXT NOT NULL, enrolled_at TEXT,
        hwm INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0, last_seen TEXT);
    CREATE TABLE received (station TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
        PRIMARY KEY (station, seq)) WITHOUT ROWID;
    CREATE TABLE events (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, station TEXT NOT NULL, type TEXT NOT NULL,
        stamp TEXT NOT NULL, node TEXT NOT NULL, user TEXT, payload TEXT NOT NULL);
    CREATE INDEX events_case ON events(case_id, stamp);
    CREATE TABLE cases (id TEXT PRIMARY KEY, station TEXT NOT NULL, number TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
        item_name TEXT NOT NULL, resident_id TEXT NOT NULL, received_on TEXT NOT NULL, due_on TEXT, updated_stamp TEXT NOT NULL);
    CREATE INDEX cases_station_status ON cases(station, status);
    CREATE TABLE residents (id TEXT PRIMARY KEY, station TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE attachments (id TEXT PRIMARY KEY, station TEXT NOT NULL, case_id TEXT NOT NULL, name TEXT NOT NULL,
        size INTEGER NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL);
    CREATE TABLE quarantine (id INTEGER PRIMARY KEY, station TEXT NOT NULL, seq INTEGER, kind TEXT NOT NULL,
        reason TEXT NOT NULL, data TEXT, at TEXT NOT NULL);
    CREATE TABLE outbox (station TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
        data TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (station, seq)) WITHOUT ROWID;
    """)


def _v2(db: sqlite_utils.Database) -> None:
    """Bundles that arrived ahead of a missing one (USB), held until the gap is filled."""
    db.executescript("""
    CREATE TABLE held (id INTEGER PRIMARY KEY, station TEXT NOT NULL, seq_from INTEGER NOT NULL, seq_to INTEGER NOT NULL,
        data BLOB NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL, UNIQUE (station, seq_from, seq_to));
    """)


def _v3(db: sqlite_utils.Database) -> None:
    """The stations' ledger entries (台账), as they wrote them (append-only there, so here too)."""
    db.executescript("""
    CREATE TABLE ledger_entries (id TEXT PRIMARY KEY, station TEXT NOT NULL, ledger TEXT NOT NULL, program TEXT NOT NULL,
        period TEXT NOT NULL, amount_fen INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX ledger_station ON ledger_entries(station, ledger, program, period);
    """)


def _v4(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE infra_events (id TEXT PRIMARY KEY, station TEXT NOT NULL, project_id TEXT NOT NULL, data TEXT NOT NULL);
    """)


def _v5(db: sqlite_utils.Database) -> None:
    """The stations' notice boards: notices and objections, as last sent (they change while drafts)."""
    db.executescript("""
    CREATE TABLE notices (id TEXT PRIMARY KEY, station TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE objections (id TEXT PRIMARY KEY, station TEXT NOT NULL, notice_id TEXT NOT NULL, data TEXT NOT NULL);
    """)


def _v6_chain_heads(db: sqlite_utils.Database) -> None:
    """The heads of each station's audit and ledger chains as it reported them (per enrolment
    key): the anchor a cut or rewritten chain is caught against at the next sync."""
    db.executescript("""
    CREATE TABLE chain_heads (station TEXT NOT NULL, enrolment TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL,
        hash TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (station, enrolment, chain, seq)) WITHOUT ROWID;
    """)



def _v7_enrolment(db: sqlite_utils.Database) -> None:
    """Enrolment that a man in the middle cannot break: attempts per station code (for codes the
    hub does not know too, so a lockout does not reveal which codes exist), online SPAKE2
    sessions that outlive a restart, and the scrypt-keyed secret the USB enrolment file uses."""
    db.executescript("""
    CREATE TABLE enrol_attempts (station_code TEXT PRIMARY KEY, attempts INTEGER NOT NULL, locked_at TEXT, last_at TEXT NOT NULL);
    CREATE TABLE enrol_sessions (id TEXT PRIMARY KEY, station_code TEXT NOT NULL, key BLOB NOT NULL, code_hash TEXT,
        expires_at TEXT NOT NULL);
    ALTER TABLE stations ADD COLUMN enrol_salt BLOB;
    ALTER TABLE stations ADD COLUMN enrol_key BLOB;
    """)


def _v8_paper_until(db: sqlite_utils.Database) -> None:
    """The last of a station's sequence numbers made before it enrolled: only up to there may it carry
    township decisions it transcribed from paper (after enrolling, the township records its own)."""
    db.execute("ALTER TABLE stations ADD COLUMN paper_until INTEGER NOT NULL DEFAULT 0")
    # The newest bundle's signed creation time: an older one (a replayed capture) is never judged fresh.
    db.execute("ALTER TABLE stations ADD COLUMN last_bundle_at TEXT")
    # What was received under each sequence number, by content: a station restored from an older
    # backup sends other content (even of the same record) under numbers the hub has seen.
    db.execute("ALTER TABLE received ADD COLUMN digest TEXT")
    # Other content applied later under a number already received (so replaying it changes nothing).
    db.execute("CREATE TABLE received_more (station TEXT NOT NULL, seq INTEGER NOT NULL, digest TEXT NOT NULL, "
               "PRIMARY KEY (station, seq, digest)) WITHOUT ROWID")


def _v9_staff(db: sqlite_utils.Database) -> None:
    """Township staff: role (handler 经办人 / lead 负责人) and whether the account is in use. Existing
    keyring users are entered as 负责人 at their hub's first unlock after this (they could do everything)."""
    db.execute("CREATE TABLE staff (username TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL, "
               "active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL)")


def _v10_console_indexes(db: sqlite_utils.Database) -> None:
    """The township console's queue (open cases by deadline, across stations) and its ratings count.
    The queue index covers every column the queue filters and sorts on, so a page and its count are
    read from the index alone (100,000 cases: tens of milliseconds)."""
    db.execute("CREATE INDEX cases_queue ON cases(status, due_on, received_on, number, station, item_name, id)")
    db.execute("CREATE INDEX events_type ON events(type)")
    # How a station was last in contact: "http" or "stick" (总览 says which).
    db.execute("ALTER TABLE stations ADD COLUMN last_via TEXT")


def _v11_townships(db: sqlite_utils.Database) -> None:
    """A county's hub holds several townships (乡镇); each station belongs to one (sync/hub/county.py).
    A township's own hub has none: its stations' township is NULL (the hub itself)."""
    db.executescript("""
    CREATE TABLE townships (code TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
    ALTER TABLE stations ADD COLUMN township TEXT REFERENCES townships(code);
    CREATE INDEX stations_township ON stations(township);
    """)


def _v12_staff_township(db: sqlite_utils.Database) -> None:
    """A staff account's reach: one township (乡镇) of the county's hub, or NULL for the whole county
    (every account before this, and every account on a township's own hub). sync/hub/staff_policy.py."""
    db.execute("ALTER TABLE staff ADD COLUMN township TEXT REFERENCES townships(code)")


def _v13_keyed_reads(db: sqlite_utils.Database) -> None:
    """Reads made while applying a bundle go by key. With ``events(case_id, stamp)`` and ``events(type)``
    both matching one term, SQLite found a new case's owner (its 'received' event) through the index on
    type, reading every intake the hub held for each new case. With the type in the case index, that
    index matches both terms and wins; a case's few events are sorted by stamp when read. (A separate
    index on (type, case_id) would do too, but costs a third randomly ordered index to write per event.)
    A station's quarantine list, read on every reply, gets its own index, and the newest stamp, read
    whenever the hub opens (its clock starts after it), is read off an index instead of every event."""
    db.execute("DROP INDEX events_case")
    db.execute("CREATE INDEX events_case ON events(case_id, type, stamp)")
    db.execute("CREATE INDEX quarantine_station ON quarantine(station, id)")
    db.execute("CREATE INDEX events_stamp ON events(stamp)")


HUB_MIGRATIONS = [_v1, _v2, _v3, _v4, _v5, _v6_chain_heads, _v7_enrolment, _v8_paper_until, _v9_staff, _v10_console_indexes,
                  _v11_townships, _v12_staff_township, _v13_keyed_reads]


def _station_where(station: str | None, township: str | None, lead: str = " WHERE ", alias: str = "") -> tuple[str, tuple]:
    """A listing's clause for one station and/or one township's stations (each optional)."""
    where, params = [], []
    if station:
        where.append(f"{alias}station = ?")
        params.append(station)
    if township:
        where.append(f"{alias}station IN (SELECT code FROM stations WHERE township = ?)")
        params.append(township)
    return (lead + " AND ".join(where) if where else ""), tuple(params)


WAL_CHECKPOINT_PAGES = 10_000


class SQLiteHubStore:
    """``HubStore`` on an encrypted SQLite file (the station's store layer)."""

    def __init__(self, path: Path, key: bytes, create: bool = False):
        self.s: Store = open_store(path, key, create=create)
        # Records made by stations not yet on time-ordered ids (station/core/ids.py; random UUIDs before)
        # dirty a page per record in each index on ids: thousands per bundle. At SQLite's default, a
        # checkpoint every 1,000 pages, they were copied into the file again after nearly every bundle;
        # every 10,000 pages (a WAL of about 40 MB, cut back to 64 MB at most after a checkpoint), a page
        # several bundles dirty in a row is copied once: about a tenth faster for such bundles, the same
        # for time-ordered ids (tests/bench, sync).
        self.s.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        self.s.conn.execute(f"PRAGMA journal_size_limit = {64 * 2**20}")
        current = self.s.scalar("PRAGMA user_version")
        for number in range(current + 1, len(HUB_MIGRATIONS) + 1):
            with self.s.transaction() as db:
                HUB_MIGRATIONS[number - 1](db)
                db.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        with self.s.transaction() as db:
            yield db

    @contextlib.contextmanager
    def item(self) -> Iterator[None]:
        """A savepoint inside the open transaction: one bundle item, all or nothing."""
        self.s.conn.execute("SAVEPOINT item")
        try:
            yield
        except BaseException:
            self.s.conn.execute("ROLLBACK TO SAVEPOINT item")
            self.s.conn.execute("RELEASE SAVEPOINT item")
            raise
        self.s.conn.execute("RELEASE SAVEPOINT item")

    def _x(self, sql: str, params=()):
        return self.s.conn.execute(sql, params)

    def setting(self, key):
        return self.s.scalar("SELECT value FROM settings WHERE key = ?", (key,))

    def set_setting(self, key, value):
        self._x("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def key(self, purpose):
        row = self.s.one("SELECT private FROM hub_keys WHERE purpose = ?", (purpose,))
        return bytes(row["private"]) if row else None

    def put_key(self, purpose, private, public):
        self._x("INSERT INTO hub_keys (purpose, private, public) VALUES (?, ?, ?)", (purpose, private, public))

    def audit(self, user, action, target, detail):
        audit.record(self.s.db, user, action, target, detail)

    def station(self, code):
        return self.s.one("SELECT * FROM stations WHERE code = ?", (code,))

    def stations(self):
        return self.s.query("SELECT code, name, status, created_at, enrolled_at, hwm, acked, last_seen, township, "
                            "coalesce(a.attempts, 0) AS enrol_attempts, a.locked_at AS enrol_locked_at "
                            "FROM stations LEFT JOIN enrol_attempts a ON a.station_code = stations.code ORDER BY code")

    def add_station(self, row):
        self.s.db["stations"].insert(row)

    def update_station(self, code, **fields):
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._x(f"UPDATE stations SET {sets} WHERE code = ?", (*fields.values(), code))

    def seen_content(self, station, seq, digest):
        """Whether this content was already applied under this number; records it if not."""
        return self._x("INSERT OR IGNORE INTO received_more (station, seq, digest) VALUES (?,?,?)", (station, seq, digest)).rowcount == 0

    _INSERT_EVENT = "INSERT OR IGNORE INTO events (id, case_id, station, type, stamp, node, user, payload) VALUES (?,?,?,?,?,?,?,?)"

    @staticmethod
    def _event_row(station, e):
        return (e["id"], e["case_id"], station, e["type"], e["stamp"], e["node"], e.get("user"), _payload_text(e["payload"]))

    def insert_event(self, station, e):
        return self.insert_events(station, [e]) == 1

    def insert_events(self, station, events):
        if not events:
            return 0
        return self.s.conn.executemany(self._INSERT_EVENT, [self._event_row(station, e) for e in events]).rowcount

    def case_events(self, case_id):
        rows = self.s.query("SELECT id, case_id, type, stamp, node, user, payload FROM events WHERE case_id = ? ORDER BY stamp, id", (case_id,))
        for r in rows:
            r["payload"] = json.loads(r["payload"])
        return rows

    def put_case(self, row):
        self.put_cases([row])

    def case(self, ref):
        # A printed number first: an id can never stand in for another station's case number.
        return self.s.one("SELECT * FROM cases WHERE number = ?", (ref.upper(),)) or self.s.one("SELECT * FROM cases WHERE id = ?", (ref,))

    # Which table holds each kind a station sends, for ownership checks and restores.
    _TABLES = {"resident": "residents", "event": "events", "attachment": "attachments", "ledger_entry": "ledger_entries",
               "infra_event": "infra_events", "notice": "notices", "objection": "objections"}

    def owner(self, kind, record_id):
        return self.s.scalar(f"SELECT station FROM {self._TABLES[kind]} WHERE id = ?", (record_id,))

    def number_case(self, number):
        return self.s.scalar("SELECT id FROM cases WHERE number = ?", (number,))

    def top_number(self, station):
        # A range on the unique index: the station's highest printed number (years sort as text too).
        return self.s.scalar("SELECT max(number) FROM cases WHERE number > ? AND number < ?", (station + "-", station + "."))

    # Batched reads for applying a bundle: one statement per chunk of keys instead of one per item.
    _CHUNK = 500

    def _keyed(self, sql: str, keys, *lead) -> list[tuple]:
        """Rows of ``sql`` (its ``{keys}`` a list of placeholders) for every key, a chunk at a time."""
        keys, out = list(dict.fromkeys(keys)), []
        for i in range(0, len(keys), self._CHUNK):
            part = keys[i:i + self._CHUNK]
            out += self.s.conn.execute(sql.format(keys=",".join("?" * len(part))), (*lead, *part)).fetchall()
        return out

    def received_refs(self, station, seq_from, seq_to):
        return {r[0]: (r[1], r[2], r[3]) for r in self.s.conn.execute(
            "SELECT seq, kind, ref, digest FROM received WHERE station = ? AND seq >= ? AND seq <= ?", (station, seq_from, seq_to))}

    def mark_received_many(self, station, rows):
        self.s.conn.executemany("INSERT OR IGNORE INTO received (station, seq, kind, ref, digest) VALUES (?,?,?,?,?)",
                                [(station, *r) for r in rows])

    def owners(self, kind, ids):
        return dict(self._keyed(f"SELECT id, station FROM {self._TABLES[kind]} WHERE id IN ({{keys}})", ids))

    def number_cases(self, numbers):
        return dict(self._keyed("SELECT number, id FROM cases WHERE number IN ({keys})", numbers))

    def case_owners(self, case_ids):
        """``case_owner`` for many: the case's row, else the station of its intake event."""
        found = dict(self._keyed("SELECT id, station FROM cases WHERE id IN ({keys})", case_ids))
        rest = [c for c in case_ids if c not in found]
        for case_id, station in self._keyed("SELECT case_id, station FROM events WHERE type = 'received' AND case_id IN ({keys})", rest):
            found.setdefault(case_id, station)
        return found

    def case_events_of(self, case_ids):
        """``case_events`` for many cases: case id → its events in clock order."""
        out: dict[str, list[dict]] = {c: [] for c in case_ids}
        for r in self._keyed("SELECT id, case_id, type, stamp, node, user, payload FROM events WHERE case_id IN ({keys}) "
                             "ORDER BY case_id, stamp, id", case_ids):
            out[r[1]].append({"id": r[0], "case_id": r[1], "type": r[2], "stamp": r[3], "node": r[4], "user": r[5],
                              "payload": json.loads(r[6])})
        return out

    def cases_with_events(self, case_ids):
        """Which of these cases have any event stored (the rest are new)."""
        return {r[0] for r in self._keyed("SELECT DISTINCT case_id FROM events WHERE case_id IN ({keys})", case_ids)}

    def put_cases(self, rows):
        self.s.conn.executemany(
            "INSERT INTO cases (id, station, number, status, item_name, resident_id, received_on, due_on, updated_stamp) "
            "VALUES (:id, :station, :number, :status, :item_name, :resident_id, :received_on, :due_on, :updated_stamp) "
            "ON CONFLICT(id) DO UPDATE SET status = excluded.status, due_on = excluded.due_on, updated_stamp = excluded.updated_stamp", rows)

    def case_owner(self, case_id):
        return self.s.scalar("SELECT station FROM cases WHERE id = ?", (case_id,)) or \
            self.s.scalar("SELECT station FROM events WHERE case_id = ? AND type = 'received' LIMIT 1", (case_id,))

    def station_records(self, station):
        """Every record a station sent, in the order it must be restored: residents before their cases,
        events in clock order (so folds replay), scans after their cases, ledger entries in chain order."""
        out: list[tuple[str, str]] = []
        for kind, sql in (
            ("resident", "SELECT id FROM residents WHERE station = ? ORDER BY rowid"),
            ("event", "SELECT e.id FROM events e JOIN cases c ON c.id = e.case_id WHERE c.station = ? ORDER BY e.stamp, e.id"),
            ("attachment", "SELECT id FROM attachments WHERE station = ? ORDER BY rowid"),
            ("ledger_entry", "SELECT id FROM ledger_entries WHERE station = ? ORDER BY rowid"),
            ("infra_event", "SELECT id FROM infra_events WHERE station = ? ORDER BY rowid"),
            ("notice", "SELECT id FROM notices WHERE station = ? ORDER BY rowid"),
            ("objection", "SELECT id FROM objections WHERE station = ? ORDER BY rowid"),
        ):
            out += [(kind, r[0]) for r in self.s.conn.execute(sql, (station,))]
        return out

    def record(self, kind, record_id):
        if kind == "event":
            rows = self.s.query("SELECT id, case_id, type, stamp, node, user, payload FROM events WHERE id = ?", (record_id,))
            if not rows:
                return None
            rows[0]["payload"] = json.loads(rows[0]["payload"])
            return rows[0]
        if kind == "attachment":
            return self.s.one("SELECT id, case_id, name, size, sha256, data FROM attachments WHERE id = ?", (record_id,))
        data = self.s.scalar(f"SELECT data FROM {self._TABLES[kind]} WHERE id = ?", (record_id,))
        return json.loads(data) if data is not None else None

    def replace_outbox(self, station, rows):
        self._x("DELETE FROM outbox WHERE station = ?", (station,))
        now = audit.now_iso()
        self.s.conn.executemany("INSERT INTO outbox (station, seq, kind, ref, data, created_at) VALUES (?,?,?,?,?,?)",
                                [(station, n, kind, ref, json.dumps(data, ensure_ascii=False), now)
                                 for n, (kind, ref, data) in enumerate(rows, start=1)])

    def outbox_rows(self, station):
        return [{"seq": r["seq"], "kind": r["kind"], "ref": r["ref"], "data": json.loads(r["data"])}
                for r in self.s.query("SELECT seq, kind, ref, data FROM outbox WHERE station = ? ORDER BY seq", (station,))]

    def cases(self, station, status, limit, township=None):
        where, params = [], []
        if township:
            where.append("station IN (SELECT code FROM stations WHERE township = ?)")
            params.append(township)
        if station:
            where.append("station = ?")
            params.append(station)
        if status:
            where.append("status = ?")
            params.append(status)
        sql = "SELECT * FROM cases" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY received_on DESC, number DESC LIMIT ?"
        return self.s.query(sql, (*params, limit))

    def put_resident(self, station, resident):
        self._x("INSERT INTO residents (id, station, data) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                (resident["id"], station, json.dumps(resident, ensure_ascii=False)))

    def put_attachment(self, station, a):
        self._x("INSERT OR IGNORE INTO attachments (id, station, case_id, name, size, sha256, data) VALUES (?,?,?,?,?,?,?)",
                (a["id"], station, a["case_id"], a["name"], a["size"], a["sha256"], a["data"]))

    def put_infra_event(self, station, e):
        self._x("INSERT OR IGNORE INTO infra_events (id, station, project_id, data) VALUES (?,?,?,?)",
                (e["id"], station, e["project_id"], json.dumps(e, ensure_ascii=False)))

    def put_board_item(self, station, kind, item):
        if kind == "notice":
            self._x("INSERT INTO notices (id, station, data) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                    (item["id"], station, json.dumps(item, ensure_ascii=False)))
        else:
            self._x("INSERT INTO objections (id, station, notice_id, data) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                    (item["id"], station, item["notice_id"], json.dumps(item, ensure_ascii=False)))

    def put_ledger_entry(self, station, e):
        self._x("INSERT OR IGNORE INTO ledger_entries (id, station, ledger, program, period, amount_fen, data) VALUES (?,?,?,?,?,?,?)",
                (e["id"], station, e["ledger"], e["program"], e["period"], e["amount_fen"], json.dumps(e, ensure_ascii=False)))

    def quarantine(self, station, seq, kind, reason, data):
        self._x("INSERT INTO quarantine (station, seq, kind, reason, data, at) VALUES (?,?,?,?,?,?)",
                (station, seq, kind, reason, json.dumps(data, ensure_ascii=False) if data is not None else None, audit.now_iso()))

    def quarantined(self, station, township=None):
        where, params = _station_where(station, township)
        return self.s.query("SELECT id, station, seq, kind, reason, at FROM quarantine" + where + " ORDER BY id", params)

    def append_outbox(self, station, kind, ref, data):
        seq = (self.s.conn.execute("SELECT max(seq) FROM outbox WHERE station = ?", (station,)).fetchone()[0] or 0) + 1
        self._x("INSERT INTO outbox (station, seq, kind, ref, data, created_at) VALUES (?,?,?,?,?,?)",
                (station, seq, kind, ref, json.dumps(data, ensure_ascii=False), audit.now_iso()))
        return seq

    def outbox_after(self, station, seq, limit):
        rows = self.s.query("SELECT seq, kind, data FROM outbox WHERE station = ? AND seq > ? ORDER BY seq LIMIT ?", (station, seq, limit))
        return [{"seq": r["seq"], "kind": r["kind"], "data": json.loads(r["data"])} for r in rows]

    def hold(self, station, seq_from, seq_to, data, reason):
        self._x("INSERT OR IGNORE INTO held (station, seq_from, seq_to, data, reason, at) VALUES (?,?,?,?,?,?)",
                (station, seq_from, seq_to, data, reason, audit.now_iso()))

    def held(self, station):
        sql = "SELECT id, station, seq_from, seq_to, data, reason, at FROM held" + (" WHERE station = ?" if station else "")
        return self.s.query(sql + " ORDER BY station, seq_from", (station,) if station else ())

    def release(self, held_id):
        self._x("DELETE FROM held WHERE id = ?", (held_id,))

    def held_ids(self, station):
        # Ids only: a stick's worth of held bundles is taken one at a time (held_data), never all at once.
        return [r["id"] for r in self.s.query("SELECT id FROM held WHERE station = ? ORDER BY seq_from, id", (station,))]

    def held_data(self, held_id):
        data = self.s.scalar("SELECT data FROM held WHERE id = ?", (held_id,))
        return None if data is None else bytes(data)

    def max_stamp(self):
        return self.s.scalar("SELECT max(stamp) FROM events")

    def counts(self):
        return {t: self.s.scalar(f"SELECT count(*) FROM {t}")
                for t in ("stations", "events", "cases", "residents", "attachments", "quarantine", "held")}

    def chain_heads(self, station, enrolment):
        return self.s.query("SELECT chain, seq, hash FROM chain_heads WHERE station = ? AND enrolment = ? ORDER BY chain, seq",
                            (station, enrolment))

    def add_chain_head(self, station, enrolment, chain, seq, digest, keep):
        # The first hash reported at a position stays: that is what a later rewrite is caught against.
        self._x("INSERT OR IGNORE INTO chain_heads (station, enrolment, chain, seq, hash, at) VALUES (?,?,?,?,?,?)",
                (station, enrolment, chain, seq, digest, audit.now_iso()))
        self._x("DELETE FROM chain_heads WHERE station = ? AND enrolment = ? AND chain = ? AND seq NOT IN "
                "(SELECT seq FROM chain_heads WHERE station = ? AND enrolment = ? AND chain = ? ORDER BY seq DESC LIMIT ?)",
                (station, enrolment, chain, station, enrolment, chain, keep))

    def verify_audit(self):
        return audit.verify(self.s.db)

    def enrol_attempts(self, station_code):
        return self.s.one("SELECT attempts, locked_at, last_at FROM enrol_attempts WHERE station_code = ?", (station_code,))

    def put_enrol_attempts(self, station_code, attempts, locked_at, last_at):
        self._x("INSERT INTO enrol_attempts (station_code, attempts, locked_at, last_at) VALUES (?,?,?,?) ON CONFLICT(station_code) "
                "DO UPDATE SET attempts = excluded.attempts, locked_at = excluded.locked_at, last_at = excluded.last_at",
                (station_code, attempts, locked_at, last_at))

    def clear_enrol_attempts(self, station_code):
        self._x("DELETE FROM enrol_attempts WHERE station_code = ?", (station_code,))
        self._x("DELETE FROM enrol_sessions WHERE station_code = ?", (station_code,))

    def put_enrol_session(self, row):
        self.s.db["enrol_sessions"].insert(row)

    def take_enrol_session(self, session_id):
        row = self.s.one("SELECT * FROM enrol_sessions WHERE id = ?", (session_id,))
        self._x("DELETE FROM enrol_sessions WHERE id = ?", (session_id,))
        return row

    def prune_enrolment(self, now, stale_before):
        self._x("DELETE FROM enrol_sessions WHERE expires_at < ?", (now,))
        # Known and unknown codes alike (a difference would tell which exist): 14 days after the last
        # attempt any code issued before it has expired, and a re-issue clears the row anyway.
        self._x("DELETE FROM enrol_attempts WHERE last_at < ?", (stale_before,))

    def staff_member(self, username):
        return self.s.one("SELECT username, display_name, role, active, created_at, township FROM staff WHERE username = ?", (username,))

    def staff_members(self):
        return self.s.query("SELECT username, display_name, role, active, created_at, township FROM staff ORDER BY created_at, username")

    def put_staff(self, row):
        self._x("INSERT INTO staff (username, display_name, role, active, created_at, township) VALUES (?,?,?,?,?,?)",
                (row["username"], row["display_name"], row["role"], row["active"], row["created_at"], row.get("township")))

    def update_staff(self, username, **fields):
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._x(f"UPDATE staff SET {sets} WHERE username = ?", (*fields.values(), username))

    def station_summary(self, today, open_statuses, township=None):
        marks = ",".join("?" * len(open_statuses))
        # One row per station; each count a correlated subquery on an indexed column (plain SQL).
        sql = (f"SELECT s.code, s.name, s.status, s.last_seen, s.last_via, s.acked, "
               f"(SELECT coalesce(max(o.seq), 0) FROM outbox o WHERE o.station = s.code) AS outbox_top, "
               f"(SELECT count(*) FROM held h WHERE h.station = s.code) AS held, "
               f"(SELECT count(*) FROM quarantine q WHERE q.station = s.code) AS quarantined, "
               f"(SELECT count(*) FROM cases c WHERE c.station = s.code AND c.status IN ({marks})) AS open, "
               f"(SELECT count(*) FROM cases c WHERE c.station = s.code AND c.status IN ({marks}) AND c.due_on < ?) AS overdue "
               f"FROM stations s" + (" WHERE s.township = ?" if township else "") + " ORDER BY s.code")
        return self.s.query(sql, (*open_statuses, *open_statuses, today, *((township,) if township else ())))

    def events_of_types(self, types):
        rows = self.s.query(f"SELECT case_id, station, type, payload FROM events WHERE type IN ({','.join('?' * len(types))})",
                            tuple(types))
        for r in rows:
            r["payload"] = json.loads(r["payload"])
        return rows

    def decision_queue(self, station, township=None):
        """Cases waiting for the township (submitted or accepted), oldest due first (no due date last)."""
        where, params = _station_where(station, township, " AND ")
        sql = "SELECT * FROM cases WHERE status IN ('submitted', 'accepted')" + where + " ORDER BY due_on IS NULL, due_on, received_on, number"
        return self.s.query(sql, params)

    def stats_events(self, station, received_until, changed_since="", township=None):
        """Every event of the cases received up to a day (ISO date) that are still open or had an
        event stamped at or after ``changed_since`` (a stamp prefix), by case in fold order."""
        sql = ("SELECT e.id, e.case_id, c.station, e.type, e.stamp, e.node, e.user, e.payload FROM events e "
               "JOIN cases c ON c.id = e.case_id WHERE c.received_on <= ? "
               "AND (c.status IN ('received', 'submitted', 'accepted', 'returned') OR c.updated_stamp >= ?)"
               + _station_where(station, township, " AND ", "c.")[0] + " ORDER BY e.case_id, e.stamp, e.id")
        rows = self.s.query(sql, (received_until, changed_since, *_station_where(station, township)[1]))
        for r in rows:
            r["payload"] = json.loads(r["payload"])
        return rows

    def _queue_where(self, statuses, station, item, due_before, township=None):
        where, params = [f"c.status IN ({','.join('?' * len(statuses))})"], list(statuses)
        if township:
            where.append("c.station IN (SELECT code FROM stations WHERE township = ?)")
            params.append(township)
        for clause, value in (("c.station = ?", station), ("c.item_name = ?", item), ("c.due_on < ?", due_before)):
            if value:
                where.append(clause)
                params.append(value)
        return " WHERE " + " AND ".join(where), params

    def queue(self, statuses, station, item, due_before, limit, offset, township=None):
        where, params = self._queue_where(statuses, station, item, due_before, township)
        # Oldest due first; a case without a deadline yet (materials pending) after those with one. The
        # page is chosen from the index first; only its rows are then read with their residents.
        page = ("SELECT c.id FROM cases c" + where + " ORDER BY CASE WHEN c.due_on IS NULL THEN 1 ELSE 0 END, "
                "c.due_on, c.received_on, c.number LIMIT ? OFFSET ?")
        ids = [r[0] for r in self.s.conn.execute(page, (*params, limit, offset))]
        if not ids:
            return []
        sql = ("SELECT c.id, c.station, c.number, c.status, c.item_name, c.resident_id, c.received_on, c.due_on, "
               f"r.data AS resident FROM cases c LEFT JOIN residents r ON r.id = c.resident_id WHERE c.id IN ({','.join('?' * len(ids))})")
        order = {case_id: n for n, case_id in enumerate(ids)}
        rows = sorted(self.s.query(sql, tuple(ids)), key=lambda r: order[r["id"]])
        for r in rows:
            r["resident"] = json.loads(r["resident"]) if r["resident"] else None
        return rows

    def queue_count(self, statuses, station, item, due_before, township=None):
        where, params = self._queue_where(statuses, station, item, due_before, township)
        return self.s.scalar("SELECT count(*) FROM cases c" + where, tuple(params))

    def item_names(self):
        return [r[0] for r in self.s.conn.execute("SELECT DISTINCT item_name FROM cases ORDER BY item_name")]

    def resident(self, resident_id):
        data = self.s.scalar("SELECT data FROM residents WHERE id = ?", (resident_id,))
        return json.loads(data) if data else None

    def case_attachments(self, case_id):
        return self.s.query("SELECT id, name, size, sha256 FROM attachments WHERE case_id = ? ORDER BY name, id", (case_id,))

    def attachment_data(self, attachment_id):
        data = self.s.scalar("SELECT data FROM attachments WHERE id = ?", (attachment_id,))
        return None if data is None else bytes(data)

    def deliveries(self, kinds):
        # Per station and published item: its (latest) place in the station's outbox, and how far
        # the station has acknowledged; received when acked >= seq.
        return self.s.query(f"SELECT o.station, o.kind, o.ref, max(o.seq) AS seq, min(o.created_at) AS created_at, s.acked "
                            f"FROM outbox o JOIN stations s ON s.code = o.station WHERE o.kind IN ({','.join('?' * len(kinds))}) "
                            f"GROUP BY o.station, o.kind, o.ref, s.acked ORDER BY min(o.created_at) DESC, o.kind, o.ref, o.station",
                            tuple(kinds))

    def outbox_data(self, station, seq):
        data = self.s.scalar("SELECT data FROM outbox WHERE station = ? AND seq = ?", (station, seq))
        return json.loads(data) if data is not None else None

    def quarantine_item(self, item_id):
        row = self.s.one("SELECT id, station, seq, kind, reason, data, at FROM quarantine WHERE id = ?", (item_id,))
        if row is not None and row["data"] is not None:
            row["data"] = json.loads(row["data"])
        return row

    def drop_quarantine(self, item_id):
        self._x("DELETE FROM quarantine WHERE id = ?", (item_id,))

    def held_rows(self, station, township=None):
        # Without the bundle bytes: a listing never loads a stick's worth of held bundles.
        where, params = _station_where(station, township)
        return self.s.query("SELECT id, station, seq_from, seq_to, reason, at FROM held" + where + " ORDER BY station, seq_from, id", params)

    def founder(self):
        """Who set the hub up (``township init``)."""
        return self.s.scalar('SELECT "user" FROM audit WHERE action = ? ORDER BY seq LIMIT 1', ("hub.init",))

    def lock_station(self, code):
        """Serialise work on one station (or station code) until the transaction ends. Nothing to do
        here: ``BEGIN IMMEDIATE`` already lets one writer in at a time (PostgreSQL: pgstore.py)."""

    def close(self):
        self.s.close()
