"""Townships within a county: a county's hub holds several townships (乡镇), each station belongs to
one, and cases and statistics are read per township or for the whole county.

Written against the hub store's SQL surface (``store.s``), so it runs on the SQLCipher file and on
PostgreSQL alike; every change is audited in the caller's transaction like the hub's other work.

Staff accounts reach one township or the whole county (``staff_policy``): adding townships and
assigning stations is county-wide work, and ``cases``/``statistics`` are limited to a township
account's own township whatever it asks for (another township's: refused).
"""
from __future__ import annotations

from station.errors import FieldError, NotFound, ValidationFailed
from station.services.audit import now_iso


def _code(code: str) -> str:
    code = (code or "").strip().upper()
    if not code.isalnum() or not 2 <= len(code) <= 12:
        raise ValidationFailed("乡镇编码无效", [FieldError("code", "bad_code", "乡镇编码应为2-12位大写字母或数字")])
    return code


def add_township(hub, code: str, name: str) -> str:
    hub.require("county.manage")
    code = _code(code)
    if not (name or "").strip():
        raise ValidationFailed("乡镇名称不能为空", [FieldError("name", "required", "请填写乡镇名称")])
    with hub.store.transaction():
        if hub.store.s.one("SELECT code FROM townships WHERE code = ?", (code,)):
            raise ValidationFailed("该乡镇已存在", [FieldError("code", "exists", f"乡镇 {code} 已存在")])
        hub.store.s.conn.execute("INSERT INTO townships (code, name, created_at) VALUES (?, ?, ?)", (code, name.strip(), now_iso()))
        hub.store.audit(hub.user, "township.add", code, {"name": name.strip()})
    return code


def townships(hub) -> list[dict]:
    """The county's townships with their stations' count (a township account: its own only)."""
    scope = hub.listing_township()
    return hub.store.s.query("SELECT t.code, t.name, (SELECT count(*) FROM stations s WHERE s.township = t.code) AS stations "
                             "FROM townships t" + (" WHERE t.code = ?" if scope else "") + " ORDER BY t.code", (scope,) if scope else ())


def assign(hub, station: str, township: str) -> None:
    """Put a station into a township (a station moves with all its cases: they are found through it)."""
    hub.require("county.manage")
    station, township = station.strip().upper(), _code(township)
    with hub.store.transaction():
        st = hub.store.station(station)
        if st is None:
            raise NotFound(f"没有服务站 {station}")
        if not hub.store.s.one("SELECT code FROM townships WHERE code = ?", (township,)):
            raise NotFound(f"没有乡镇 {township}:请先添加")
        hub.store.lock_station(station)
        hub.store.update_station(station, township=township)
        hub.store.audit(hub.user, "station.township", station, {"from": st.get("township"), "to": township})


def station_township(hub, station: str) -> str | None:
    return hub.store.s.scalar("SELECT township FROM stations WHERE code = ?", (station,))


def cases(hub, scope: str | None, status: str | None = None, limit: int = 100) -> list[dict]:
    """Cases of one township's stations (``scope``), or of the whole county (None); a township
    account's own township's only."""
    scope = hub.listing_township(scope)
    where, params = [], []
    if scope:
        where.append("s.township = ?")
        params.append(scope.upper())
    if status:
        where.append("c.status = ?")
        params.append(status)
    sql = ("SELECT c.number, c.station, s.township, c.status, c.item_name, c.received_on, c.due_on FROM cases c "
           "JOIN stations s ON s.code = c.station" + (" WHERE " + " AND ".join(where) if where else "") +
           " ORDER BY c.received_on DESC, c.number DESC LIMIT ?")
    return hub.store.s.query(sql, (*params, limit))


def statistics(hub, scope: str | None = None) -> dict:
    """Cases by status per township (stations with no township under ``""``) and the county's totals;
    with ``scope``, that township alone (a township account: its own, whatever it asks)."""
    scope = hub.listing_township(scope)
    sql = ("SELECT coalesce(s.township, '') AS township, c.status, count(*) AS n FROM cases c JOIN stations s ON s.code = c.station"
           + (" WHERE s.township = ?" if scope else "") + " GROUP BY coalesce(s.township, ''), c.status ORDER BY 1, 2")
    by: dict[str, dict[str, int]] = {}
    for r in hub.store.s.query(sql, (scope.upper(),) if scope else ()):
        by.setdefault(r["township"], {})[r["status"]] = int(r["n"])
    total: dict[str, int] = {}
    for statuses in by.values():
        for status, n in statuses.items():
            total[status] = total.get(status, 0) + n
    stations = hub.store.s.query("SELECT coalesce(township, '') AS township, count(*) AS n FROM stations"
                                 + (" WHERE township = ?" if scope else "") + " GROUP BY coalesce(township, '') ORDER BY 1",
                                 (scope.upper(),) if scope else ())
    return {"scope": scope.upper() if scope else None, "by_township": by, "total": total,
            "stations": {r["township"]: int(r["n"]) for r in stations}}
