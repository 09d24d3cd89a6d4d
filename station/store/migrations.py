"""Versioned schema migrations. ``PRAGMA user_version`` is the schema version.

Each step runs in its own transaction together with its version bump, so a power cut during
an upgrade leaves the database at the previous version, never between two. Steps are never
edited once released; a change is a new step (tests upgrade databases made by every step).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from station.core.search import name_grams, reverse_digits
from station.store.db import Store

if TYPE_CHECKING:
    import sqlite_utils


def _v1_foundation(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor')), active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT, action TEXT NOT NULL, target TEXT,
        detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE residents (
        id TEXT PRIMARY KEY, id_number TEXT NOT NULL UNIQUE, name TEXT NOT NULL, sex TEXT NOT NULL,
        birth_date TEXT NOT NULL, phone TEXT, address TEXT, village_group TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX residents_name ON residents(name);
    CREATE TABLE catalog_versions (
        version TEXT PRIMARY KEY, published TEXT NOT NULL, publisher TEXT NOT NULL,
        installed_at TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE catalog_items (
        version TEXT NOT NULL REFERENCES catalog_versions(version), code TEXT NOT NULL,
        name TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (version, code));
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref_id TEXT NOT NULL,
        created_at TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE cases (
        id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, resident_id TEXT NOT NULL REFERENCES residents(id),
        item_code TEXT NOT NULL, item_name TEXT NOT NULL, status TEXT NOT NULL, owner TEXT NOT NULL,
        received_on TEXT NOT NULL, due_on TEXT, due_estimated INTEGER NOT NULL DEFAULT 0,
        follow_up TEXT, rating INTEGER, updated_stamp TEXT NOT NULL);
    CREATE INDEX cases_status_due ON cases(status, due_on);
    CREATE INDEX cases_resident ON cases(resident_id);
    CREATE INDEX cases_received ON cases(received_on);
    CREATE INDEX cases_follow_up ON cases(follow_up) WHERE follow_up = 'open';
    CREATE TABLE events (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL, type TEXT NOT NULL, stamp TEXT NOT NULL,
        node TEXT NOT NULL, user TEXT, payload TEXT NOT NULL, outbox_seq INTEGER UNIQUE REFERENCES outbox(seq),
        recorded_at TEXT NOT NULL);
    CREATE INDEX events_case ON events(case_id, stamp);
    CREATE INDEX events_stamp ON events(stamp);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """)


def _v2_search(db: sqlite_utils.Database) -> None:
    """Fast look-up by identity / phone tail (reversed, so a tail is an indexed prefix) and by
    any two-character piece of a name (CJK names have no word breaks for a tokenizer)."""
    db.executescript("""
    ALTER TABLE residents ADD COLUMN id_rev TEXT;
    ALTER TABLE residents ADD COLUMN phone_rev TEXT;
    CREATE TABLE resident_grams (gram TEXT NOT NULL, resident_id TEXT NOT NULL, PRIMARY KEY (gram, resident_id)) WITHOUT ROWID;
    """)
    rows = db.execute("SELECT id, id_number, phone, name FROM residents").fetchall()
    for rid, id_number, phone, name in rows:
        db.execute("UPDATE residents SET id_rev = ?, phone_rev = ? WHERE id = ?",
                   (reverse_digits(id_number), reverse_digits(phone), rid))
        db.conn.executemany("INSERT OR IGNORE INTO resident_grams VALUES (?, ?)", [(g, rid) for g in name_grams(name)])
    db.executescript("""
    CREATE INDEX residents_id_rev ON residents(id_rev);
    CREATE INDEX residents_phone_rev ON residents(phone_rev);
    """)


def _v3_calendar(db: sqlite_utils.Database) -> None:
    """Holiday and make-up-day overrides sent by the township for years the library lacks."""
    db.executescript("""
    CREATE TABLE calendar_days (day TEXT PRIMARY KEY, workday INTEGER NOT NULL, name TEXT, source TEXT NOT NULL);
    CREATE TABLE calendar_years (year INTEGER PRIMARY KEY, source TEXT NOT NULL, received_at TEXT NOT NULL);
    """)


def _v4_attachments(db: sqlite_utils.Database) -> None:
    """Scanned materials (扫描件), kept inside the encrypted file so nothing readable is left outside."""
    db.executescript("""
    CREATE TABLE attachments (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases(id), name TEXT NOT NULL, mime TEXT NOT NULL,
        size INTEGER NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL);
    CREATE INDEX attachments_case ON attachments(case_id);
    """)


def _v5_station_keys(db: sqlite_utils.Database) -> None:
    """The station's own key pairs (Ed25519 for signing receipts and bundles), kept encrypted."""
    db.executescript("""
    CREATE TABLE station_keys (purpose TEXT PRIMARY KEY, private BLOB NOT NULL, public BLOB NOT NULL, created_at TEXT NOT NULL);
    """)


def _v6_sync(db: sqlite_utils.Database) -> None:
    """The township hub this station syncs with, and what sync had to set aside."""
    db.executescript("""
    CREATE TABLE peers (hub_id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT, sign_pub BLOB NOT NULL, enc_pub BLOB NOT NULL,
        enrolled_at TEXT NOT NULL);
    CREATE TABLE sync_quarantine (id INTEGER PRIMARY KEY, source TEXT NOT NULL, seq INTEGER, kind TEXT NOT NULL,
        reason TEXT NOT NULL, data TEXT, at TEXT NOT NULL);
    CREATE INDEX outbox_unacked ON outbox(acked, seq);
    """)


def _v7_held(db: sqlite_utils.Database) -> None:
    """Bundles from the township that arrived before an earlier one (USB sticks come back in any order)."""
    db.executescript("""
    CREATE TABLE held_bundles (id INTEGER PRIMARY KEY, source TEXT NOT NULL, seq_from INTEGER NOT NULL, data BLOB NOT NULL,
        reason TEXT NOT NULL, at TEXT NOT NULL);
    """)


def _v8_ledgers(db: sqlite_utils.Database) -> None:
    """Ledger entries (台账): append-only, hash-chained; corrections are new entries."""
    db.executescript("""
    CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ledger TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL,
        id_number TEXT NOT NULL, head_name TEXT NOT NULL, village_group TEXT, phone TEXT, area TEXT, rate TEXT,
        amount_fen INTEGER NOT NULL, bank_card TEXT, status TEXT NOT NULL, paid_on TEXT, month TEXT, basis TEXT,
        kind TEXT NOT NULL, corrects TEXT, reason TEXT, author TEXT NOT NULL, source TEXT, row_no INTEGER,
        created_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE INDEX ledger_totals ON ledger_entries(ledger, program, period, village_group, amount_fen, kind);
    CREATE INDEX ledger_household ON ledger_entries(ledger, program, period, id_number);
    CREATE TABLE ledger_imports (sha256 TEXT NOT NULL, ledger TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL,
        file_name TEXT NOT NULL, rows INTEGER NOT NULL, imported_at TEXT NOT NULL, imported_by TEXT NOT NULL,
        PRIMARY KEY (sha256, ledger, program, period));
    CREATE TABLE ledger_locks (ledger TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL, locked_by TEXT NOT NULL,
        locked_at TEXT NOT NULL, PRIMARY KEY (ledger, program, period));
    """)


def _v9_infrastructure(db: sqlite_utils.Database) -> None:
    """Rural infrastructure projects (农村基础设施建设): append-only events per project."""
    db.executescript("""
    CREATE TABLE infra_events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL, type TEXT NOT NULL,
        payload TEXT NOT NULL, author TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX infra_project ON infra_events(project_id, seq);
    """)


def _v10_bulletin(db: sqlite_utils.Database) -> None:
    """The 九个一 profile (versions, newest wins) and the notice board: notices and objections."""
    db.executescript("""
    CREATE TABLE profile_versions (seq INTEGER PRIMARY KEY, data TEXT NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL);
    CREATE TABLE notices (id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
        posting_from TEXT, posting_to TEXT, source TEXT NOT NULL, posting TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
        published_at TEXT, archived_at TEXT);
    CREATE TABLE objections (id TEXT PRIMARY KEY, notice_id TEXT NOT NULL REFERENCES notices(id), who TEXT NOT NULL, what TEXT NOT NULL,
        on_day TEXT NOT NULL, answer TEXT, answered_by TEXT, answered_on TEXT, recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL);
    CREATE INDEX objections_notice ON objections(notice_id);
    """)


def _v11_ledger_head(db: sqlite_utils.Database) -> None:
    """The ledger chain's head (last seq and hash) in settings, like the audit trail's, so a cut
    tail shows; a database that already has entries takes its head from the newest one."""
    row = db.execute("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1").fetchone()
    if row is not None:
        db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('ledger_head', ?)", (f"{row[0]}:{row[1]}",))


def _v12_recovery_code_sealed(db: sqlite_utils.Database) -> None:
    """The recovery code leaves ``settings`` (any clerk could read it there): it is kept only
    sealed to the supervisors in ``keys.json``. Unlocking seals it before this step runs
    (``session._seal_legacy_recovery``); this step makes sure no copy stays behind."""
    db.execute("DELETE FROM settings WHERE key = 'recovery_code'")


def _v13_rules_versions(db: sqlite_utils.Database) -> None:
    """The county's rules (deadline days of the 好差评 loop and the notice board), one row per version
    the township published; the newest installed is active (none: the national defaults). An objection
    to a 公示 keeps the answer date the rules gave it when it was recorded."""
    db.executescript("""
    CREATE TABLE rules_versions (
        version TEXT PRIMARY KEY, data TEXT NOT NULL, source TEXT NOT NULL, installed_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0);
    ALTER TABLE objections ADD COLUMN answer_due TEXT;
    """)


def _v14_gram_names(db: sqlite_utils.Database) -> None:
    """Each name gram carries the name, in the key: a name search reads the grams in name order and
    stops at the page it shows, instead of looking up every resident the gram matches (a common
    gram matches over a thousand on a big station) and sorting them all. Names never change
    (a different name for a known identity number is refused), so the copy cannot go stale."""
    db.executescript("""
    CREATE TABLE resident_grams_new (gram TEXT NOT NULL, name TEXT NOT NULL, resident_id TEXT NOT NULL,
        PRIMARY KEY (gram, name, resident_id)) WITHOUT ROWID;
    INSERT INTO resident_grams_new (gram, name, resident_id)
        SELECT g.gram, r.name, g.resident_id FROM resident_grams g JOIN residents r ON r.id = g.resident_id;
    DROP TABLE resident_grams;
    ALTER TABLE resident_grams_new RENAME TO resident_grams;
    """)


def _v15_case_list_order(db: sqlite_utils.Database) -> None:
    """The case list shows the newest first (received date, then number) one page at a time. Without
    these the page was the top 50 of every matching case sorted in memory: on a 200,000-case station a
    status filter sorted ~67,000 rows for each page (over 100 ms, and the sort's memory). With the
    order in the index a page reads its 50 rows and stops. The list's other filters (事项, 代办员) get
    the same order; (received_on, number) also serves the date range and 今日收件, so it replaces
    the index on received_on alone."""
    db.executescript("""
    CREATE INDEX cases_received_number ON cases(received_on, number);
    DROP INDEX cases_received;
    CREATE INDEX cases_status_received ON cases(status, received_on, number);
    CREATE INDEX cases_item_received ON cases(item_code, received_on, number);
    CREATE INDEX cases_owner_received ON cases(owner, received_on, number);
    """)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1_foundation, _v2_search, _v3_calendar, _v4_attachments,
                                                             _v5_station_keys, _v6_sync, _v7_held, _v8_ledgers, _v9_infrastructure,
                                                             _v10_bulletin, _v11_ledger_head, _v12_recovery_code_sealed,
                                                             _v13_rules_versions, _v14_gram_names, _v15_case_list_order]
LATEST = len(MIGRATIONS)


def version(store: Store) -> int:
    return store.scalar("PRAGMA user_version")


def migrate(store: Store, target: int = LATEST) -> int:
    """Bring the schema up to ``target``; return how many steps ran."""
    current = version(store)
    if current > LATEST:
        from station.errors import StoreError
        raise StoreError(f"数据库版本 {current} 比本软件新(支持到 {LATEST}),请升级软件")
    steps = 0
    for number in range(current + 1, target + 1):
        with store.transaction() as db:
            MIGRATIONS[number - 1](db)
            db.execute(f"PRAGMA user_version = {number}")
        steps += 1
    return steps
