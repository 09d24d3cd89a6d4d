"""The county's rules in the store: install a version (from the township's sync or a file), read the active one.

Like the catalog, every version stays; the newest installed one is active. Nothing already
recorded is recomputed when the rules change: deadlines live in the payload of the event that
opened them, so a new version applies from the next event on.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from station.core.rules import DEFAULT_RULES, Rules, parse_rules
from station.errors import ValidationFailed
from station.services import audit
from station.services.session import Session
from station.store.db import Store

if TYPE_CHECKING:
    import sqlite_utils


def checked(doc: object) -> Rules:
    parsed = parse_rules(doc)
    if isinstance(parsed, list):
        raise ValidationFailed("考核规则有误,未导入", parsed)
    return parsed


def install(db: sqlite_utils.Database, rules: Rules, user: str | None, source: str) -> bool:
    """Install and activate ``rules`` in the caller's transaction; False if that version is already here."""
    if db.execute("SELECT 1 FROM rules_versions WHERE version = ?", (rules.version,)).fetchone():
        return False
    db.execute("UPDATE rules_versions SET active = 0")
    db.execute("INSERT INTO rules_versions (version, data, source, installed_at, active) VALUES (?,?,?,?,1)",
               (rules.version, rules.model_dump_json(), source, audit.now_iso()))
    audit.record(db, user, "rules.install", rules.version, {"source": source})
    return True


def import_doc(session: Session, doc: object, source: str) -> dict:
    """``station rules import FILE``: a township that sends its rules on paper or by file."""
    rules = checked(doc)
    try:
        with session.store.transaction() as db:
            added = install(db, rules, session.user.username, source)
    finally:
        session.forget_rules()
    return {"version": rules.version, "installed": added}


def active(store: Store) -> Rules:
    row = store.one("SELECT data FROM rules_versions WHERE active = 1")
    return Rules.model_validate_json(row["data"]) if row else DEFAULT_RULES


def describe(session: Session) -> dict:
    rules = session.rules()
    return {"rules": json.loads(rules.model_dump_json()), "lines": rules.lines(),
            "versions": session.store.query("SELECT version, source, installed_at, active FROM rules_versions ORDER BY installed_at")}
