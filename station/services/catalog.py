"""The catalog in the store: install a version, read the active one.

A version is installed whole and made active in one transaction; older versions stay, so
cases keep pointing at the version they were received under.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from station.core.models import Catalog, CatalogItem
from station.services import audit
from station.store.db import Store

if TYPE_CHECKING:
    import sqlite_utils


def install(db: sqlite_utils.Database, catalog: Catalog, user: str | None, source: str) -> bool:
    """Install and activate ``catalog``; return False if that version is already installed."""
    if db.execute("SELECT 1 FROM catalog_versions WHERE version = ?", (catalog.version,)).fetchone():
        return False
    db.execute("UPDATE catalog_versions SET active = 0")
    db["catalog_versions"].insert({"version": catalog.version, "published": catalog.published.isoformat(),
                                   "publisher": catalog.publisher, "installed_at": audit.now_iso(), "active": 1})
    db["catalog_items"].insert_all(
        {"version": catalog.version, "code": i.code, "name": i.name,
         "data": json.dumps(i.model_dump(mode="json"), ensure_ascii=False)} for i in catalog.items)
    audit.record(db, user, "catalog.install", catalog.version, {"source": source, "items": len(catalog.items)})
    return True


def active(store: Store) -> Catalog:
    head = store.one("SELECT version, published, publisher FROM catalog_versions WHERE active = 1")
    rows = store.query("SELECT data FROM catalog_items WHERE version = ? ORDER BY code", (head["version"],))
    return Catalog(version=head["version"], published=head["published"], publisher=head["publisher"],
                   items=tuple(CatalogItem.model_validate_json(r["data"]) for r in rows))
