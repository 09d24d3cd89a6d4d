"""The service catalog shipped with the software (a demonstration township's 事项清单).

The township publishes its own versions later; this is only the starting point a new
station installs at ``init``.
"""
from __future__ import annotations

import json
from importlib import resources

from station.core.models import Catalog, parse_catalog
from station.errors import StoreError


def shipped_catalog() -> Catalog:
    text = resources.files(__package__).joinpath("data/catalog.json").read_text("utf-8")
    parsed = parse_catalog(json.loads(text))
    if isinstance(parsed, list):
        raise StoreError("内置事项清单损坏:" + "; ".join(e.message for e in parsed))
    return parsed
