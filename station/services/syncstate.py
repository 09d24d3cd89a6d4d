"""What the Today screen says about sync: when it last worked, what waits, what went wrong.

The sync transports (HTTP, USB) write ``sync_last_success`` and ``sync_last_error`` in
settings and mark outbox rows acknowledged; this module only reads, so the screen works the
same before sync exists, while it runs, and after it fails.
"""
from __future__ import annotations

from station.services.anchor import ALERT_KINDS
from station.services.session import Session


def status(session: Session) -> dict:
    rows = {r["key"]: r["value"] for r in session.store.query(
        "SELECT key, value FROM settings WHERE key IN ('sync_last_success', 'sync_last_error', 'sync_hub')")}
    pending = session.store.scalar("SELECT count(*) FROM outbox WHERE acked = 0")
    alerts = session.store.query(f"SELECT reason FROM sync_quarantine WHERE kind IN ({','.join('?' * len(ALERT_KINDS))}) ORDER BY id DESC",
                                 ALERT_KINDS)
    return {"hub": rows.get("sync_hub"), "last_success": rows.get("sync_last_success"),
            "last_error": rows.get("sync_last_error"), "pending": pending,
            "chain_alerts": len(alerts), "chain_alert": alerts[0]["reason"] if alerts else None}


def describe(state: dict) -> str:
    """One line in words that say what to do."""
    if not state["hub"]:
        return f"尚未连接乡镇服务器,{state['pending']}条记录待上传。可用U盘导出交乡镇,或请乡镇为本站登记后联网同步。"
    line = f"上次同步成功:{state['last_success'] or '从未'};待上传{state['pending']}条"
    if state["last_error"]:
        line += f"。最近一次失败:{state['last_error']}"
    if state.get("chain_alerts"):  # the township found this station's audit or ledger chain cut or rewritten
        line += f"。{state['chain_alert']}(共 {state['chain_alerts']} 条,请站长联系乡镇核查)"
    return line
