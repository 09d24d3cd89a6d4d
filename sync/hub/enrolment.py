"""Enrolment, township side (登记): one-time codes, attempts and lockout, online SPAKE2 sessions,
and the replies stations send back on a stick. ``Hub`` has thin methods calling these;
activating a station stays in ``Hub._activate``. Crypto pieces: ``sync.enrol_protocol``.

Station codes the hub does not know are answered exactly like known ones: the hub runs SPAKE2
against a random password, fails at the finish the same way, and counts and locks the attempts
the same way, so neither answers nor lockouts reveal which codes exist.
"""
from __future__ import annotations

import hmac
import os
import secrets
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from station.errors import FieldError, ValidationFailed
from station.services.audit import now_iso
from sync import enrol_protocol as ep

if TYPE_CHECKING:
    from sync.hub.service import Hub

KEY_REFUSED = "服务站公钥无效(格式不对,或是全零等不能用的低阶点):服务站没有登记。请用正式版软件重新登记"
_FAILED = "登记失败:登记码不正确、已过期或已使用,或登记已超时。请核对登记码后重试;仍不行请到乡镇重新生成登记码"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _malformed(what: str) -> ValidationFailed:
    return ValidationFailed("登记请求格式不对", [FieldError("request", "malformed", what)])


def issue(hub: "Hub", code: str, name: str, url: str | None) -> tuple[str, dict]:
    """A fresh one-time code (shown to township staff, never written to the file) and the
    enrolment file for the stick. Re-issuing unlocks a locked code."""
    code = (code or "").strip().upper()
    if not ep.valid_station_code(code):
        raise ValidationFailed("服务站编码无效", [FieldError("code", "bad_code", "服务站编码应为2-12位大写字母或数字")])
    if code == hub.hub_id:  # its events would read as the township's own
        raise ValidationFailed("服务站编码无效", [FieldError("code", "hub_id", f"{code} 是本乡镇服务器自己的编码,服务站须另用编码")])
    one_time, salt = ep.new_code(), os.urandom(16)
    key = ep.file_key(one_time, salt)  # slow on purpose; outside the transaction
    expires = (_now() + timedelta(days=ep.ENROL_DAYS)).isoformat()
    with hub.store.transaction():
        hub.store.lock_station(code)
        existing = hub.store.station(code)
        if existing and existing["status"] == "active":
            raise ValidationFailed("该服务站已登记", [FieldError("code", "exists", f"{code} 已登记在用;如需更换设备请先停用再重新登记")])
        row = {"name": name, "status": "pending", "code_hash": ep.code_hash(one_time), "code_expires": expires,
               "enrol_salt": salt, "enrol_key": key}
        if existing:
            hub.store.update_station(code, **row)
        else:
            hub.store.add_station({"code": code, **row, "created_at": now_iso()})
        locked = (hub.store.enrol_attempts(code) or {}).get("locked_at")
        hub.store.clear_enrol_attempts(code)  # old sessions and attempts die with the old code
        hub.store.audit(hub.user, "station.add", code, {"name": name, "reissue": bool(existing), "unlocked": bool(locked)})
        hwm = existing["hwm"] if existing else 0
    doc = {"format": 2, "kind": "enrolment", **hub.public_info(), "hwm": hwm, "hub_url": url, "station_code": code,
           "station_name": name, "expires": expires, "salt": ep.b64(salt)}
    doc["mac"] = ep.file_mac(key, doc)
    return one_time, doc


def _count_attempt(hub: "Hub", code: str, now: str) -> bool:
    """One more attempt at ``code`` (inside a transaction); False if it was locked already."""
    row = hub.store.enrol_attempts(code)
    if row and row["locked_at"]:
        return False
    attempts = (row["attempts"] if row else 0) + 1
    locks = attempts >= ep.MAX_ATTEMPTS
    hub.store.put_enrol_attempts(code, attempts, now if locks else None, now)
    if locks:
        hub.store.audit(hub.user, "station.enrol_locked", code, {"attempts": attempts})
    return True


def _live_code_hash(st: dict | None, now: str) -> str | None:
    if st is None or st["status"] != "pending" or not st["code_hash"] or (st["code_expires"] or "") < now:
        return None
    return st["code_hash"]


def start(hub: "Hub", request: dict) -> dict:
    """First message of online enrolment: the station's SPAKE2 message in, the hub's out, with the
    hub's public info in a box only the holder of the right code can open."""
    code, msg = request.get("station_code"), request.get("msg")
    if not ep.valid_station_code(code):
        raise _malformed("服务站编码应为2-12位大写字母或数字")
    try:
        inbound = ep.unb64(msg)
    except ValueError:
        raise _malformed("登记消息格式不对") from None
    now = _now()
    with hub.store.transaction():
        hub.store.lock_station(code)  # attempts are counted one at a time, whichever worker takes them
        hub.store.prune_enrolment(now.isoformat(), (now - timedelta(days=ep.ENROL_DAYS)).isoformat())
        counted = _count_attempt(hub, code, now.isoformat())
        if counted:
            st = hub.store.station(code)
            live = _live_code_hash(st, now.isoformat())
            # Unknown, used, expired or revoked: the same work against a password nobody knows.
            password = (live or secrets.token_hex(32)).encode()
            pake = ep.hub_pake(code, hub.hub_id, password)
            outbound = pake.start()
            shared = ep.finish_pake(pake, inbound) or os.urandom(32)
            session = secrets.token_urlsafe(24)
            info = {**hub.public_info(), "hwm": st["hwm"] if st and live else 0, "station_code": code}
            box = ep.seal_box(ep.session_keys(shared).hub_info, info, ep.box_aad(session, code, "hub-info"), ep.BOX_PAD)
            hub.store.put_enrol_session({"id": session, "station_code": code, "key": shared, "code_hash": live,
                                         "expires_at": (now + timedelta(seconds=ep.SESSION_SECONDS)).isoformat()})
    if not counted:
        raise ep.EnrolLocked(ep.LOCKED_MESSAGE)
    return {"session": session, "msg": ep.b64(outbound), "box": box}


def finish(hub: "Hub", request: dict) -> dict:
    """Second message: the station's public keys in a box under the shared key. One try per
    session; on success the station is active and the answer proves it to the station."""
    session, box = request.get("session"), request.get("box")
    if not isinstance(session, str) or not isinstance(box, str):
        raise _malformed("缺少登记会话或内容")
    now = _now().isoformat()
    problem: Exception | None = None
    with hub.store.transaction():
        row = hub.store.take_enrol_session(session)
        payload = None
        if row is not None and row["expires_at"] >= now:
            code = row["station_code"]
            keys = ep.session_keys(bytes(row["key"]))
            payload = ep.open_box(keys.station_keys, box, ep.box_aad(session, code, "station-keys"))
        if payload is None or payload.get("station_code") != code or row["code_hash"] is None:
            problem = ep.EnrolFailed(_FAILED)
        elif not ep.public_keys_ok(payload.get("sign_pub"), payload.get("enc_pub")):
            problem = ValidationFailed("登记请求格式不对", [FieldError("request", "bad_key", KEY_REFUSED)])
        elif _live_code_hash(hub.store.station(code), now) != row["code_hash"]:
            problem = ep.EnrolFailed(_FAILED)  # re-issued, revoked or expired since the start
        else:
            hub._activate(code, ep.unb64(payload["sign_pub"]), ep.unb64(payload["enc_pub"]), _backlog(payload))
            confirm = {"station_code": code, "hub_id": hub.hub_id, "sign_pub": payload["sign_pub"],
                       "enc_pub": payload["enc_pub"], "backlog": _backlog(payload), "status": "active"}
    if problem is not None:
        raise problem
    return {"box": ep.seal_box(keys.hub_confirm, confirm, ep.box_aad(session, code, "hub-confirm"))}


def _backlog(payload: dict) -> int:
    """How many records the station made before enrolling (it numbers them right after the hub's mark)."""
    n = payload.get("backlog")
    return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 10**9 else 0


def confirm(hub: "Hub", doc) -> tuple[str, bool]:
    """A reply carried back on the stick: ``(station_code, True)`` when it enrolled the station,
    ``(station_code, False)`` when that station is already active with these very keys."""
    if not isinstance(doc, dict) or doc.get("kind") != "enrolment_reply":
        raise ValidationFailed("登记回执格式不对", [FieldError("file", "malformed", "不是服务站登记回执文件")])
    if doc.get("format") != 2:
        raise ValidationFailed("登记回执是旧版本的", [FieldError("file", "old_format", "请乡镇重新生成登记码,服务站用新版软件重新登记")])
    code = doc.get("station_code")
    payload = ep.open_reply(hub.enc, doc) if doc.get("hub_id") == hub.hub_id and ep.valid_station_code(code) else None
    if payload is None or payload.get("station_code") != code or payload.get("hub_id") != hub.hub_id:
        raise ValidationFailed("登记回执无法打开", [FieldError("file", "not_for_us", "不是给本乡镇的登记回执,或文件已损坏")])
    sign, enc = payload.get("sign_pub"), payload.get("enc_pub")
    if not ep.public_keys_ok(sign, enc):
        raise ValidationFailed("登记回执格式不对", [FieldError("file", "bad_key", KEY_REFUSED)])
    now = _now().isoformat()
    problem: Exception | None = None
    with hub.store.transaction():
        hub.store.lock_station(code)
        st = hub.store.station(code)
        if st and st["status"] == "active" and bytes(st["sign_pub"]) == ep.unb64(sign) and bytes(st["enc_pub"]) == ep.unb64(enc):
            return code, False
        locked = (hub.store.enrol_attempts(code) or {}).get("locked_at")
        if st is None or st["status"] != "pending" or not st["enrol_key"]:
            problem = ep.EnrolFailed("登记回执已失效:登记码已使用或服务站已停用,回执不能重复使用;如需重新登记,请重新生成登记码")
        elif locked:
            problem = ep.EnrolLocked(ep.LOCKED_MESSAGE)
        elif (st["code_expires"] or "") < now:
            problem = ep.EnrolFailed("登记码已过期:请重新生成登记码,服务站重新登记")
        elif not hmac.compare_digest(ep.reply_proof(bytes(st["enrol_key"]), code, hub.hub_id, sign, enc), str(payload.get("proof"))):
            _count_attempt(hub, code, now)
            problem = ep.EnrolFailed("登记回执校验不符:是旧登记码的回执(重新生成登记码后旧回执作废)、登记码不对,或回执被改动")
        else:
            hub._activate(code, ep.unb64(sign), ep.unb64(enc), _backlog(payload))
    if problem is not None:
        raise problem
    return code, True
