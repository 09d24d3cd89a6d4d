"""Enrolment, station side (登记): online with SPAKE2 on the one-time code, or with the file the
township writes for the USB stick. The station remembers the hub (``client._store_hub``) only
after the hub has proven it knows the same code — never on a wrong code or a stranger's word.
Crypto pieces: ``sync.enrol_protocol``; the hub's side: ``sync.hub.enrolment``.
"""
from __future__ import annotations

import hmac
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from station.errors import FieldError, ValidationFailed
from station.services.session import Session
from sync import client, stickfiles
from sync import enrol_protocol as ep

REFUSED = ("登记码不正确,或连接到的不是本乡镇的服务器(可能有人冒充):本站没有登记,也没有发出本站的任何信息。"
           "请核对登记码和服务器地址后重试")


class EnrolTransport(Protocol):
    """How the station reaches the hub to enrol: ``sync.http.HttpTransport``, or a ``Hub`` itself."""

    def health(self) -> dict: ...
    def enrol_start(self, request: dict) -> dict: ...
    def enrol_finish(self, request: dict) -> dict: ...


def _code(code: str) -> str:
    code = ep.normalize_code(code)
    if not ep.well_formed_code(code):
        raise ValidationFailed("登记码格式不对", [FieldError("code", "bad_code", f"登记码是乡镇给的{ep.CODE_LENGTH}位字母和数字")])
    return code


def _hub_info_ok(info: dict | None, hub_id: str, station_code: str) -> bool:
    return (isinstance(info, dict) and info.get("hub_id") == hub_id and info.get("station_code") == station_code
            and isinstance(info.get("hub_name"), str) and isinstance(info.get("hwm"), int)
            and ep.public_keys_ok(info.get("sign_pub"), info.get("enc_pub")))


def enroll_online(session: Session, code: str, via: EnrolTransport, url: str | None, ca_pem: str | None = None) -> dict:
    """SPAKE2 with the hub on the one-time code; returns the hub's public info once it is enrolled."""
    code = _code(code)
    me = session.station_code
    hub_id = via.health().get("hub_id")
    if not ep.valid_station_code(hub_id):
        raise client.SyncFailed("该地址的应答不像乡镇服务器:请核对地址")
    pake = ep.station_pake(me, hub_id, code)
    started = via.enrol_start({"station_code": me, "msg": ep.b64(pake.start())})
    sid = started.get("session")
    try:
        shared = ep.finish_pake(pake, ep.unb64(started.get("msg")))
    except ValueError:
        shared = None
    keys = ep.session_keys(shared) if shared and isinstance(sid, str) else None
    info = ep.open_box(keys.hub_info, started.get("box"), ep.box_aad(sid, me, "hub-info")) if keys else None
    if not _hub_info_ok(info, hub_id, me):
        raise ep.EnrolFailed(REFUSED)  # before anything of ours leaves the station
    sign_pub, enc_pub = client._my_keys(session)
    mine = {"station_code": me, "sign_pub": sign_pub, "enc_pub": enc_pub, "backlog": client.pending(session)}
    done = via.enrol_finish({"session": sid, "box": ep.seal_box(keys.station_keys, mine, ep.box_aad(sid, me, "station-keys"))})
    confirmed = ep.open_box(keys.hub_confirm, done.get("box"), ep.box_aad(sid, me, "hub-confirm"))
    if not confirmed or confirmed.get("status") != "active" or any(confirmed.get(k) != v for k, v in mine.items()) \
            or confirmed.get("hub_id") != hub_id:
        raise ep.EnrolFailed("乡镇服务器的确认校验不符:本站没有登记。请稍后重试,仍不行请联系乡镇")
    info = {k: info[k] for k in ("hub_id", "hub_name", "sign_pub", "enc_pub", "hwm")}
    client._store_hub(session, info, url, ca_pem)
    return info


def read_file(path: Path) -> dict:
    try:
        # From a stick: a regular file within a small cap, never through a link, never a FIFO.
        doc = json.loads(stickfiles.read_capped(Path(path), stickfiles.MAX_REPLY_FILE).decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("kind") != "enrolment":
            raise ValueError
    except (stickfiles.Refused, ValueError, RecursionError):
        raise ValidationFailed("登记文件无效", [FieldError("file", "bad_file", f"{path} 不是乡镇生成的服务站登记文件")]) from None
    if doc.get("format") != 2 or "code" in doc:
        raise ValidationFailed("登记文件是旧版本的", [FieldError("file", "old_format", "请乡镇用新版软件重新生成登记码和登记文件")])
    return doc


def enroll_file(session: Session, path: Path, code: str) -> Path:
    """USB enrolment: check the township's file against the code on paper, remember the hub,
    and write the reply (encrypted to the hub) beside the file."""
    code = _code(code)
    doc = read_file(path)
    if doc.get("station_code") != session.station_code:
        raise ValidationFailed("登记文件不属于本站", [FieldError("file", "wrong_station",
                               f"此登记文件是给 {doc.get('station_code')} 的,本站编码为 {session.station_code}")])
    try:
        key = ep.file_key(code, ep.unb64(doc.get("salt")))
        ok = hmac.compare_digest(ep.file_mac(key, doc), str(doc.get("mac")))
    except ValueError:
        ok = False
    if not (ok and _hub_info_ok(doc, doc.get("hub_id"), session.station_code)):
        raise ep.EnrolFailed("登记码不正确,或登记文件被改动过:本站没有登记。请核对乡镇给的登记码;仍不行请乡镇重新生成")
    if str(doc.get("expires", "")) < datetime.now(timezone.utc).isoformat():
        raise ep.EnrolFailed("登记文件已过期:请乡镇重新生成登记码和登记文件")
    info = {k: doc[k] for k in ("hub_id", "hub_name", "sign_pub", "enc_pub", "hwm")}
    sign_pub, enc_pub = client._my_keys(session)
    payload = {"station_code": session.station_code, "hub_id": info["hub_id"], "sign_pub": sign_pub, "enc_pub": enc_pub,
               "backlog": client.pending(session), "proof": ep.reply_proof(key, session.station_code, info["hub_id"], sign_pub, enc_pub)}
    reply = ep.seal_reply(ep.unb64(info["enc_pub"]), session.station_code, info["hub_id"], payload)
    out = Path(path).with_name(f"enrol-reply-{session.station_code}.json")
    try:  # whole or not at all, and never through a link planted under the reply's name
        stickfiles.write_atomic(out.parent, out.name, json.dumps(reply, ensure_ascii=False, indent=1).encode("utf-8"))
    except (stickfiles.Refused, OSError) as exc:
        raise ValidationFailed("登记回执写不进U盘", [FieldError("file", "write_failed",
                               f"{out} 写不进去({getattr(exc, 'reason', None) or getattr(exc, 'strerror', exc)}):请检查U盘后重新登记")]) from None
    client._store_hub(session, info, doc.get("hub_url"))
    return out
