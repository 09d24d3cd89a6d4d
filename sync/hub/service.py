"""The hub's work: enrol stations, apply their bundles, answer with what it has for them, and
let township staff work the cases (accept, return, decide) whose events flow back down.

A bundle is applied in one transaction together with the station's new high-water mark; an
item that cannot be applied is quarantined with its reason and the rest goes on.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError

from station.core.cases import CaseEvent, EventType, Status, check, fold
from station.core.clock import HybridClock, StampRejected, check_received
from station.core.ids import new_id
from station.core.models import parse_catalog
from station.core.rules import DEFAULT_RULES, Rules, parse_rules
from station.errors import FieldError, IllegalTransition, NotFound, StationError, ValidationFailed
from station.fileio import OWNER_ONLY, atomic_write
from station.services.audit import now_iso
from station.store import keys as keyring
from sync import anchor, policy, protocol
from sync.bundle import BundleRejected, b64, exact_json, open_bundle, public_bytes, seal, stdlib_json, x25519_key_ok
from sync.hub import enrolment, restore, staff, staff_policy
from sync.hub.store import HubStore, SQLiteHubStore

# What township staff may record on a case: what the write policy lets the hub author.
HUB_EVENTS = {t for t, who in policy.EVENT_AUTHORS.items() if policy.HUB in who}
RECEIVED = EventType.RECEIVED.value  # read once: an enum member's ``.value`` is a Python-level descriptor call


class ItemInvalid(Exception):
    pass


def _canonical(data: dict, kind: str = "") -> bytes:
    """An item's content as canonical JSON: what its digest is taken of. The standard library's
    spelling exactly (``exact_json``; a float read from a bundle is not spelt by orjson): digests
    stored by earlier versions must keep matching, or an old replay would count as new content.
    A scan (hundreds of KB) by the standard library: orjson reserves about ten times a text that
    size while writing it, and a stick is imported in bounded memory (tests/sync/test_usb_hostile.py)."""
    return stdlib_json(data) if kind == "attachment" else exact_json(data)


# JSON writes a NUL as the escape \u0000 (never raw); an escape is real when the backslash that opens it
# is not itself escaped, i.e. it ends a run of an odd number of backslashes.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _has_nul_json(text: bytes) -> bool:
    """Whether a NUL character is anywhere in the item's strings (keys included), read off its
    canonical JSON: one pass in C, not a walk of the item."""
    return b"\\u0000" in text and _NUL_ESCAPE.search(text) is not None


def _digest_of(text: bytes) -> str:
    """What a bundle item carried, as received (to tell a replay from other content under its number)."""
    return hashlib.sha256(text).hexdigest()[:32]


def _case_row(station: str, case_id: str, state) -> dict:
    return {"id": case_id, "station": station, "number": state.number, "status": state.status.value,
            "item_name": state.item_name or "", "resident_id": state.resident_id, "received_on": state.received_on.isoformat(),
            "due_on": state.due_on.isoformat() if state.due_on else None, "updated_stamp": state.updated_stamp}


class _Known:
    """What the store knows of a bundle's ids, read for the whole bundle at once (a few statements
    instead of three or four per item) and kept up to date as its items are written, so each item
    sees exactly what looking it up alone, in order, would have seen. A key not read up front (its
    item was malformed when gathered) is looked up alone."""

    def __init__(self, store: HubStore, station: str, items: list[dict]):
        self.store, self.station = store, station
        ids: dict[str, list[str]] = {}
        case_ids, numbers = [], []
        def key(value) -> bool:  # a key with a NUL in it is never looked up: its item is set aside first
            return isinstance(value, str) and "\x00" not in value
        for item in items:
            kind, data = item["kind"], item["data"]
            if kind in policy.RESTORE_KINDS and key(data.get("id")):
                ids.setdefault(kind, []).append(data["id"])
            if kind in ("event", "attachment") and key(data.get("case_id")):
                case_ids.append(data["case_id"])
            if kind == "event" and data.get("type") == RECEIVED and isinstance(data.get("payload"), dict) \
                    and key(str(data["payload"].get("number", ""))):
                numbers.append(str(data["payload"].get("number", "")))
        self.owners = {kind: store.owners(kind, keys) for kind, keys in ids.items()}
        self.owners_asked = {kind: set(keys) for kind, keys in ids.items()}
        self.case_owners, self.case_owners_asked = (store.case_owners(case_ids), set(case_ids)) if case_ids else ({}, set())
        # Cases with no event stored before this bundle: their events are exactly the ones this bundle
        # writes (``written``), and they are folded from those, not read back.
        self.new_cases = set(case_ids) - store.cases_with_events(case_ids) if case_ids else set()
        self.written: dict[str, list[CaseEvent]] = {}
        self.pending: list[dict] = []  # new events, written at once by ``flush`` (nothing reads them before)
        self.number_cases, self.numbers_asked = (store.number_cases(numbers), set(numbers)) if numbers else ({}, set())
        self.claimed: dict[str, str] = {}  # printed number → case, by intakes written from this bundle

    def owner(self, kind: str, record_id: str) -> str | None:
        if record_id in self.owners_asked.get(kind, ()):
            return self.owners[kind].get(record_id)
        return self.store.owner(kind, record_id)

    def case_owner(self, case_id: str) -> str | None:
        if case_id in self.case_owners_asked:
            return self.case_owners.get(case_id)
        return self.store.case_owner(case_id)

    def number_case(self, number: str) -> str | None:
        """The case holding this printed number: in the store, else claimed by an intake earlier in this
        bundle (case rows are written after the items; without this, two new cases under one number in
        one bundle failed the whole bundle on the unique number, every time: the station stuck)."""
        held = self.number_cases.get(number) if number in self.numbers_asked else self.store.number_case(number)
        return held if held is not None else self.claimed.get(number)

    def wrote(self, kind: str, data: dict, owner: str | None) -> None:
        """About to write this item (``owner``: its id's owner before): a new id is this station's from
        now on, and a new intake event makes its case this station's while the case has no row."""
        if kind not in policy.RESTORE_KINDS or owner is not None:
            return
        if kind == "event" and data["type"] == RECEIVED:
            self.claimed.setdefault(str(data["payload"].get("number", "")), data["case_id"])
        self.owners.setdefault(kind, {})[data["id"]] = self.station
        self.owners_asked.setdefault(kind, set()).add(data["id"])
        if kind == "event" and data["type"] == RECEIVED and data["case_id"] in self.case_owners_asked:
            self.case_owners.setdefault(data["case_id"], self.station)

    def insert(self, event: CaseEvent, data: dict, owner: str | None) -> None:
        """Write an event of this bundle (its JSON dump ``data``) unless its id is already there
        (``owner``: that id's owner before; set for an id stored, or written earlier in this bundle).
        A case that gets an event already there is read back for its fold, like any case that had
        events before."""
        if owner is not None:
            self.new_cases.discard(event.case_id)
            return
        self.pending.append(data)
        if event.case_id in self.new_cases:
            self.written.setdefault(event.case_id, []).append(event)

    def flush(self) -> None:
        """Write the events ``insert`` took. Fewer written than taken means another worker wrote one
        of these ids in between (PostgreSQL): every case is then read back."""
        if self.pending and self.store.insert_events(self.station, self.pending) != len(self.pending):
            self.new_cases.clear()
        self.pending = []

    def events_of(self, case_ids: list[str]) -> dict[str, list[CaseEvent]]:
        """Every event of these cases: a new case's from this bundle, the others' read back at once."""
        out = {c: self.written.get(c, []) for c in case_ids if c in self.new_cases}
        rest = [c for c in case_ids if c not in out]
        if rest:
            out.update((c, [CaseEvent.model_validate(e) for e in events])
                       for c, events in self.store.case_events_of(rest).items())
        return out


class Hub:
    def __init__(self, store: HubStore, user: str = "township"):
        self.store = store
        self.user = user
        self.hub_id = store.setting("hub_id")
        self.name = store.setting("hub_name")
        self.sign = Ed25519PrivateKey.from_private_bytes(store.key("signing"))
        self.enc = X25519PrivateKey.from_private_bytes(store.key("encryption"))
        self.clock = HybridClock(self.hub_id)
        last = store.max_stamp()
        if last:
            self.clock.observe(last)
        self.lock = threading.Lock()  # one bundle applied at a time
        # Set by ``HubHome.unlock``: the staff role of ``user`` (None: a hub opened without a login,
        # which may do nothing ``staff_policy`` restricts), and what user management needs.
        self.role: str | None = None
        self.home: HubHome | None = None
        self.db_key: bytes | None = None
        # The township (乡镇 code) the account is scoped to on a county's hub; None: the whole county.
        self.township: str | None = None

    def require(self, action: str) -> None:
        """Refuse (``PermissionDenied``) what this user's role and reach may not do (``staff_policy``)."""
        staff_policy.require(self.role, action, self.township)

    def allowed(self, action: str) -> bool:
        return staff_policy.allowed(self.role, action, self.township)

    def listing_township(self, asked: str | None = None) -> str | None:
        """The township a listing for this account is limited to (``staff_policy.listing_township``)."""
        return staff_policy.listing_township(self.township, asked)

    def require_station(self, code: str | None) -> None:
        """Refuse a station outside this account's township (a station filter, a quarantined item)."""
        if code and self.township is not None:
            st = self.store.station(code.strip().upper())
            staff_policy.require_station(self.township, code.strip().upper(), st.get("township") if st else None)

    def visible_stations(self) -> list[dict]:
        """The stations this account sees (every one for a county-wide account)."""
        return [s for s in self.store.stations() if staff_policy.sees(self.township, s.get("township"))]

    def keyring(self) -> keyring.KeyRing:
        if self.home is None or self.db_key is None:
            raise StationError("未登录,不能管理工作人员账号")
        ring = self.home._ring()
        return ring

    @classmethod
    def create(cls, store: HubStore, hub_id: str, name: str, user: str) -> "Hub":
        sign, enc = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
        with store.transaction():
            store.set_setting("hub_id", hub_id)
            store.set_setting("hub_name", name)
            store.put_key("signing", sign.private_bytes_raw(), public_bytes(sign))
            store.put_key("encryption", enc.private_bytes_raw(), public_bytes(enc))
            store.audit(user, "hub.init", hub_id, {"name": name})
        return cls(store, user)

    def __enter__(self) -> "Hub":
        return self

    def __exit__(self, *exc) -> None:
        self.store.close()

    def public_info(self) -> dict:
        return {"hub_id": self.hub_id, "hub_name": self.name, "sign_pub": b64(public_bytes(self.sign)),
                "enc_pub": b64(public_bytes(self.enc))}

    def health(self) -> dict:
        return {"status": "ok", "hub_id": self.hub_id, "hub_name": self.name}

    # --- enrolment (sync/hub/enrolment.py) -------------------------------------------------
    def add_station(self, code: str, name: str, url: str | None = None) -> tuple[str, dict]:
        """A fresh one-time code for township staff to hand over, and the enrolment file."""
        self.require("station.manage")
        return enrolment.issue(self, code, name, url)

    def enrol_start(self, request: dict) -> dict:
        """Online enrolment, first message (SPAKE2 on the one-time code)."""
        return enrolment.start(self, request)

    def enrol_finish(self, request: dict) -> dict:
        """Online enrolment, second message: the station's keys; activates the station."""
        return enrolment.finish(self, request)

    def confirm(self, reply: dict) -> str:
        """USB enrolment: the station's reply file, carried back on the stick."""
        return enrolment.confirm(self, reply)[0]

    def confirm_reply(self, reply: dict) -> tuple[str, bool]:
        """Like ``confirm``; also says whether it enrolled the station now (False: already was)."""
        return enrolment.confirm(self, reply)

    def _activate(self, station_code: str, sign_pub: bytes, enc_pub: bytes, backlog: int = 0) -> None:
        """The station's keys are proven to come with its one-time code: make it active. Runs inside
        the caller's transaction, together with the check of the code.

        The station's high-water mark is kept: a new PC (or the same one enrolled again) numbers its
        outbox on from it, so nothing it sends is skipped or applied twice; its own records come back down."""
        restore.rebuild_outbox(self.store, station_code)  # reads what the old PC had acknowledged
        # ``backlog``: what the station made before enrolling, numbered right after ``hwm`` by the station;
        # paper decisions it transcribed are accepted only from among those.
        hwm = self.store.station(station_code)["hwm"]
        self.store.update_station(station_code, status="active", code_hash=None, enrol_key=None, enrol_salt=None,
                                  sign_pub=sign_pub, enc_pub=enc_pub, enrolled_at=now_iso(), acked=0,
                                  paper_until=hwm + max(0, backlog))
        self.store.clear_enrol_attempts(station_code)
        self.store.audit(self.user, "station.enrolled", station_code, {})

    def reset(self, code: str, url: str | None = None) -> tuple[str, dict]:
        """A station's PC died or is replaced: stop the old keys and issue a new one-time code. The new
        PC's enrolment brings the station's records back down and its numbering carries on."""
        self.require("station.manage")
        st = self.store.station(code.strip().upper())
        if st is None:
            raise NotFound(f"没有服务站 {code}")
        if st["status"] == "active":
            self.revoke(st["code"])
        return self.add_station(st["code"], st["name"], url)

    def revoke(self, code: str) -> None:
        self.require("station.manage")
        with self.store.transaction():
            if self.store.station(code.upper()) is None:
                raise NotFound(f"没有服务站 {code}")
            self.store.update_station(code.upper(), status="revoked", code_hash=None, enrol_key=None, enrol_salt=None)
            self.store.audit(self.user, "station.revoke", code.upper(), {})

    # --- sync -------------------------------------------------------------------------------
    def _station_key(self, sender: str) -> bytes | None:
        st = self.store.station(sender)
        if st is None or st["status"] != "active":
            return None
        return bytes(st["sign_pub"])

    def receive(self, data: bytes, via: str | None = None) -> bytes:
        """Apply a station's bundle (or an empty one: a pull) and return the reply bundle. ``via``
        ("http" or "stick") is remembered as how the station was last in contact (总览)."""
        opened = open_bundle(data, me=self.hub_id, my_enc=self.enc, sender_key=self._station_key)
        h, payload = opened.header, opened.payload
        if h["kind"] != "outbox":
            raise BundleRejected("malformed", "不是服务站上传的数据包")
        station = h["sender"]
        if not x25519_key_ok(bytes(self.store.station(station)["enc_pub"])):  # enrolled before keys were checked
            raise BundleRejected("bad_key", "该服务站登记的加密公钥无效:请乡镇重新生成登记码,服务站重新登记")
        # Applied, and the chain heads anchored (a cut or rewritten chain reported), in one transaction.
        step, acked, quarantined, out, st, chains = self.apply(station, h["seq_from"], h["seq_to"], payload, via, header=h)
        # ``ack``: what this bundle's sender may mark delivered — never beyond what it sent, so a station
        # behind the hub (restored from an older backup) does not mark records it never sent. ``hwm``:
        # what the hub has from it, so such a station numbers its next records after it (no reuse).
        counts: dict[str, int] = {}
        for item in out:
            counts[item["kind"]] = counts.get(item["kind"], 0) + 1
        return seal(kind="reply", sender=self.hub_id, recipient=station, seq_from=acked + 1, seq_to=acked + len(out),
                    counts=counts, created_at=now_iso(), payload={"items": out, "ack": min(step.new_hwm, max(h["seq_to"], 0)), "hwm": step.new_hwm,
                             "top_number": self.store.top_number(station), "quarantined": quarantined, **chains},
                    sign_key=self.sign, recipient_enc=bytes(st["enc_pub"]))

    def apply(self, station: str, seq_from: int, seq_to: int, payload: dict, via: str | None = None,
              header: dict | None = None):
        """Apply one station bundle's payload in one transaction; what ``receive`` does after the
        crypto (also the baseline the sync benchmark compares the wire against). Given the bundle's
        ``header``, its chain heads are judged and anchored in the same transaction (``anchor``), and
        the reply's fields for them come back last."""
        with self.lock, self.store.transaction():
            self.store.lock_station(station)  # several workers (PostgreSQL): one bundle per station at a time
            st = self.store.station(station)
            step = protocol.plan(st["hwm"], seq_from, seq_to)
            items = protocol.check_items(payload.get("items", []), seq_from, seq_to, protocol.ITEM_KINDS_FROM_STATION)
            known = _Known(self.store, station, items)
            received = self.store.received_refs(station, seq_from, seq_to) if items else {}
            quarantined, touched, marks = [], set(), []
            for item in items:
                text = _canonical(item["data"], item["kind"])
                ref, digest = str(item["data"].get("id", "")).replace("\x00", "\ufffd"), _digest_of(text)
                seen = received.get(item["seq"])
                if item["seq"] <= step.skip_through or seen is not None:
                    # A replay carries what the hub already has under that number. Other content under an old
                    # number means the station went back in time (restored from a backup) and numbered new
                    # records again: apply it rather than lose it (applying is idempotent by id). The first
                    # content received stays recorded, so replaying that old bundle later changes nothing.
                    if seen is None or seen[:2] == (item["kind"], ref) and seen[2] in (None, digest) or \
                            self.store.seen_content(station, item["seq"], digest):
                        continue
                else:
                    marks.append((item["seq"], item["kind"], ref, digest))
                try:
                    if _has_nul_json(text):  # no station writes one, and PostgreSQL text cannot hold it: set aside on both stores
                        raise ItemInvalid("记录中含有空字符(0x00)")
                    touched |= self._apply_item(station, item, paper_until=st["paper_until"], known=known)
                except ItemInvalid as exc:
                    self.store.quarantine(station, item["seq"], item["kind"], str(exc), item["data"])
                    quarantined.append({"seq": item["seq"], "reason": str(exc)})
            known.flush()
            self.store.mark_received_many(station, marks)
            self._refold_many(station, touched, known)
            acked = max(st["acked"], protocol.ack_of(payload))
            self.store.update_station(station, hwm=step.new_hwm, acked=acked, last_seen=now_iso(), **({"last_via": via} if via else {}))
            if step.status == "apply" and items:
                self.store.audit(self.user, "sync.apply", station, {"from": seq_from, "to": seq_to, "quarantined": len(quarantined)})
            out = restore.materialize(self.store, self.store.outbox_after(station, acked, protocol.MAX_ITEMS_PER_BUNDLE))
            chains = anchor.at_hub(self, st, header, payload) if header is not None else {}
        return step, acked, quarantined, out, st, chains

    def _apply_item(self, station: str, item: dict, paper_until: int = 0, known: "_Known | None" = None) -> set[str]:
        """Check one item's shape, then ask the write policy whether this station may write it, then
        write it: every refusal (``ItemInvalid``) comes before the one write, so a refused item leaves
        nothing behind without a savepoint per item. ``known``: the bundle's facts read at once; its
        new events are written when the caller flushes it (without it, at once)."""
        flush = known is None
        known = known or _Known(self.store, station, [])
        kind, data = item["kind"], item["data"]
        if not isinstance(data.get("id"), str):
            raise ItemInvalid("记录缺少编号")
        if kind == "resident" and not isinstance(data.get("id_number"), str):
            raise ItemInvalid("群众记录缺少编号或身份证号码")
        if kind == "objection" and not isinstance(data.get("notice_id"), str):
            raise ItemInvalid("公示记录格式不对")
        if kind == "infra_event" and not all(isinstance(data.get(k), str) for k in ("project_id", "type", "payload")):
            raise ItemInvalid("基础设施台账记录格式不对")
        if kind == "ledger_entry" and (not all(isinstance(data.get(k), str) for k in ("ledger", "program", "period"))
                                       or not isinstance(data.get("amount_fen"), int)):
            raise ItemInvalid("台账记录格式不对")
        if kind == "event":
            try:
                event = CaseEvent.model_validate(data)
            except ValidationError:
                raise ItemInvalid("事件格式不对") from None
            data = event.model_dump(mode="json")
        if kind == "attachment" and not isinstance(data.get("case_id"), str):
            raise ItemInvalid("扫描件格式不对")
        received = kind == "event" and data["type"] == RECEIVED
        owner = known.owner(kind, data["id"]) if kind in policy.RESTORE_KINDS else None
        facts = policy.Facts(owner=owner,
                             case_owner=known.case_owner(data["case_id"]) if kind in ("event", "attachment") else None,
                             number_case=known.number_case(str(data["payload"].get("number", ""))) if received else None,
                             paper_allowed=item["seq"] <= paper_until)
        reason = policy.judge_from_station(station, kind, data, facts, self.hub_id)
        if reason:
            raise ItemInvalid(reason)
        if kind == "event":
            try:  # a wrong PC clock is the sender's problem to fix: set aside, never absorbed into ours
                ms, counter, _ = check_received(data["stamp"], "服务站")
            except StampRejected as exc:
                raise ItemInvalid(exc.title) from None
        if kind == "attachment":
            try:
                raw = base64.b64decode(data["data"], validate=True)
            except (KeyError, TypeError, ValueError):
                raise ItemInvalid("扫描件内容损坏") from None
            if hashlib.sha256(raw).hexdigest() != data.get("sha256"):
                raise ItemInvalid("扫描件校验不符")
        # Checked: from here on, nothing refuses the item.
        known.wrote(kind, data, owner)
        if kind == "resident":
            self.store.put_resident(station, data)
        elif kind in ("notice", "objection"):
            self.store.put_board_item(station, kind, data)
        elif kind == "infra_event":
            self.store.put_infra_event(station, data)
        elif kind == "ledger_entry":
            self.store.put_ledger_entry(station, data)
        elif kind == "event":
            # folded as stored: the JSON dump made NaN and infinities null (a read-back fold sees them so)
            if data["payload"] != event.payload:
                event = event.model_copy(update={"payload": data["payload"]})
            known.insert(event, data, owner)
            if flush:
                known.flush()
            self.clock.observe_parsed(ms, counter)
            return {data["case_id"]}
        else:
            self.store.put_attachment(station, {**data, "data": raw, "size": len(raw)})
        return set()

    def _refold_many(self, station: str, case_ids: set[str], known: _Known | None = None) -> None:
        """Each case's row from the fold of its events, read at once (a new case's are the bundle's own,
        ``known``; without a bundle every case is read back), the rows written at once."""
        known = known or _Known(self.store, station, [])
        rows = []
        for case_id, events in known.events_of(sorted(case_ids)).items():
            state = fold(case_id, events)
            if state.status is not None:
                rows.append(_case_row(station, case_id, state))
        self.store.put_cases(rows)

    def _refold(self, station: str, case_id: str) -> None:
        self._refold_many(station, {case_id})

    # --- township staff ---------------------------------------------------------------------
    def case_state(self, ref: str):
        """A case for township staff: its row, folded state and events. A case of a station outside
        the account's township is refused as if it were not there (``staff_policy``)."""
        row = self.store.case(ref)
        if row is None or (self.township is not None and not staff_policy.sees(self.township, self._township_of(row["station"]))):
            raise staff_policy.case_not_found(ref, self.township)
        events = [CaseEvent.model_validate(e) for e in self.store.case_events(row["id"])]
        return row, fold(row["id"], events), events

    def _township_of(self, station: str) -> str | None:
        st = self.store.station(station)
        return st.get("township") if st else None

    def case_event(self, ref: str, etype: str, payload: dict, today: date | None = None):
        """Accept, return or decide a case; the event goes down to its station."""
        self.require("case.work")
        try:
            et = EventType(etype)
        except ValueError:
            raise ValidationFailed("未知操作", [FieldError("type", "unknown", f"乡镇可记录:{'、'.join(e.value for e in HUB_EVENTS)}")]) from None
        if et not in HUB_EVENTS:
            raise ValidationFailed("乡镇不能记录该事件", [FieldError("type", "not_hub_event", f"“{et.label}”由服务站记录")])
        with self.lock, self.store.transaction():
            return self.record_case_event(ref, et, payload, today)

    def record_case_event(self, ref: str, et: EventType, payload: dict, today: date | None = None):
        """``case_event``'s work inside the caller's lock and transaction (several decisions at once,
        all or nothing: sync/hub/decisions.py)."""
        row, state, events = self.case_state(ref)
        self.store.lock_station(row["station"])
        row, state, events = self.case_state(ref)  # as it is now that no other worker writes to it
        for e in events:  # another worker may have applied them: our stamp must still sort after each
            self.clock.observe(e.stamp)
        payload = {**payload, "on": (today or date.today()).isoformat()}
        problems = check(state, et, payload)
        if et == EventType.FORWARDED and not problems:
            from sync.hub.views import item_of
            item = item_of(self, state)
            if item is None or item.deciding_level != "县":
                problems = [FieldError("type", "not_county", f"“{state.item_name}”不由县级办理,不能转报县级")]
        if problems:
            cls = IllegalTransition if any(p.code == "illegal_transition" for p in problems) else ValidationFailed
            raise cls(f"{row['number']}:不能{et.label}", problems)
        event = CaseEvent(id=new_id(), case_id=row["id"], type=et, stamp=self.clock.now(), node=self.hub_id,
                          user=self.user, payload=payload)
        self.store.insert_event(row["station"], event.model_dump(mode="json"))
        self._refold(row["station"], row["id"])
        self.store.append_outbox(row["station"], "event", event.id, event.model_dump(mode="json"))
        self.store.audit(self.user, f"case.{et.value}", row["number"], {k: v for k, v in payload.items() if k in ("outcome", "on")})
        return fold(row["id"], events + [event])

    def send_list(self, station: str, ledger: str, program: str, period: str, rows: list[dict], source: str) -> int:
        """A subsidy or relief list for one station's ledger (and its public posting)."""
        self.require("publish")
        st = self.store.station(station.upper())
        if st is None or st["status"] != "active":
            raise NotFound(f"服务站 {station} 未登记或已停用")
        if not rows:
            raise ValidationFailed("名单是空的", [FieldError("rows", "empty", "名单中没有数据")])
        doc = {"ledger": ledger, "program": program, "period": period, "rows": rows, "source": source}
        with self.store.transaction():
            self.store.lock_station(st["code"])
            self.store.append_outbox(st["code"], "ledger_list", f"{ledger}/{program}/{period}", doc)
            self.store.audit(self.user, "publish.ledger_list", st["code"], {"program": program, "period": period, "rows": len(rows)})
        return len(rows)

    def _targets(self, stations: list[str] | None) -> list[str]:
        """The active stations to publish to: all, or the chosen ones (each must be active)."""
        active = [s["code"] for s in self.store.stations() if s["status"] == "active"]
        if stations is None:
            return active
        chosen = [c.strip().upper() for c in stations]
        unknown = [c for c in chosen if c not in active]
        if unknown:
            raise NotFound("服务站未登记或已停用:" + "、".join(unknown))
        if not chosen:
            raise ValidationFailed("没有选择服务站", [FieldError("stations", "empty", "请至少选择一个服务站")])
        return sorted(set(chosen))  # in code order: publishers lock stations in the same order (PostgreSQL)

    def publish_notice(self, kind: str, title: str, body: str, posting_from: str, posting_to: str,
                       stations: list[str] | None = None) -> int:
        """A township notice (公告 or 公示) for every station's board (or the chosen stations')."""
        self.require("publish")
        problems = [FieldError(f, "required", m) for f, v, m in (("title", title, "标题不能为空"), ("body", body, "内容不能为空"))
                    if not (v or "").strip()]
        if kind not in ("公示", "公告"):
            problems.append(FieldError("kind", "bad_kind", "类型应为 公示 或 公告"))
        try:
            if date.fromisoformat(posting_to) < date.fromisoformat(posting_from):
                problems.append(FieldError("posting_to", "reversed", "截止日期不能早于开始日期"))
            elif kind == "公示" and not self.rules().posting_long_enough(date.fromisoformat(posting_from), date.fromisoformat(posting_to)):
                problems.append(FieldError("posting_period", "too_short", f"公示期不得少于 {self.rules().posting_min_days} 天"))
        except (TypeError, ValueError):
            problems.append(FieldError("posting_period", "bad_date", "公示期须填写,格式 年-月-日"))
        if problems:
            raise ValidationFailed("公告内容有误", problems)
        doc = {"id": new_id(), "kind": kind, "title": title.strip(), "body": body.strip(),
               "posting_from": posting_from, "posting_to": posting_to}
        with self.store.transaction():
            active = self._targets(stations)
            for code in active:  # in code order: two publishers lock stations in the same order
                self.store.lock_station(code)
                self.store.append_outbox(code, "notice", doc["id"], doc)
            self.store.audit(self.user, "publish.notice", doc["id"], {"title": doc["title"], "stations": len(active)})
        return len(active)

    def publish(self, kind: str, doc: dict, stations: list[str] | None = None) -> int:
        """Send a catalog version, a year's calendar or a version of the rules to every active station
        (and later enrolees), or to the chosen stations only. Every version stays in ``published_<kind>``,
        the newest last."""
        self.require("publish")
        if kind == "catalog":
            parsed = parse_catalog(doc)
            if isinstance(parsed, list):
                raise ValidationFailed("事项清单有误", parsed)
            ref = parsed.version
        elif kind == "rules":
            parsed_rules = parse_rules(doc)
            if isinstance(parsed_rules, list):
                raise ValidationFailed("考核规则有误", parsed_rules)
            ref = parsed_rules.version
        elif kind == "calendar":
            if not isinstance(doc.get("year"), int) or not doc.get("holidays"):
                raise ValidationFailed("节假日安排有误", [FieldError("year", "bad_year", "须包含 year 和 holidays")])
            ref = str(doc["year"])
        else:
            raise ValueError(kind)
        with self.store.transaction():
            if kind == "rules":  # a station keeps the first copy of a version: a changed copy would never reach it
                same = [d for d in json.loads(self.store.setting("published_rules") or "[]") if d.get("version") == ref]
                if same and parse_rules(same[0]) != parsed_rules:
                    raise ValidationFailed("规则版本号已用过", [FieldError("version", "version_used",
                                                                    f"版本 {ref} 已下发过,内容不同:修改规则请用新的版本号")])
            published = [d for d in json.loads(self.store.setting(f"published_{kind}") or "[]")
                         if str(d.get("version") or d.get("year")) != ref]
            self.store.set_setting(f"published_{kind}", json.dumps(published + [doc], ensure_ascii=False))
            active = self._targets(stations)
            for code in active:
                self.store.lock_station(code)
                self.store.append_outbox(code, kind, ref, doc)
            self.store.audit(self.user, f"publish.{kind}", ref, {"stations": len(active)})
        return len(active)

    def rules(self) -> Rules:
        """The rules the township published last (the national defaults before any): what its own
        deadlines and statistics count with."""
        published = json.loads(self.store.setting("published_rules") or "[]")
        return Rules.model_validate(published[-1]) if published else DEFAULT_RULES

    def overdue_follow_ups(self, today: date, station: str | None = None, limit: int = 100_000) -> list[dict]:
        """Bad ratings whose 回访 or 整改 is past the due date stored in the rating (the township's view,
        for its statistics): the same rule the station's 今日 uses (``CaseState.follow_up_overdue``)."""
        out = []
        for row in self.store.cases(station, Status.RATED.value, limit, township=self.township):
            state = fold(row["id"], [CaseEvent.model_validate(e) for e in self.store.case_events(row["id"])])
            late = state.follow_up_overdue(today)
            if late:
                out.append({"station": row["station"], "number": state.number, "late": late,
                            "revisit_due": state.revisit_due, "rectify_due": state.rectify_due})
        return out

    def catalog_item(self, version: str | None, code: str | None):
        """An item as a published catalog version had it (cases keep the version they were received under)."""
        for doc in json.loads(self.store.setting("published_catalog") or "[]"):
            if doc.get("version") == version:
                parsed = parse_catalog(doc)
                return None if isinstance(parsed, list) else parsed.item(code or "")
        from station.catalog import shipped_catalog  # the version every station starts with, before any publishing
        shipped = shipped_catalog()
        return shipped.item(code or "") if shipped.version == version else None


class HubHome:
    """The hub's folder: ``hub.db`` (encrypted) and ``keys.json`` (wrapped key)."""

    def __init__(self, data_dir: Path | str):
        self.dir = Path(data_dir)
        self.db_path = self.dir / "hub.db"
        self.keys_path = self.dir / "keys.json"
        # ``township init --db postgresql://…``: where the store is (sync/hub/pgstore.py); absent: hub.db.
        self.db_conf = self.dir / "database.json"

    def dsn(self) -> str | None:
        """The PostgreSQL address this hub's store is at, or None for the SQLCipher file."""
        return json.loads(self.db_conf.read_text("utf-8"))["dsn"] if self.db_conf.exists() else None

    def open_store(self, key: bytes, create: bool = False) -> HubStore:
        dsn = self.dsn()
        if dsn:
            from sync.hub.pgstore import PostgresHubStore
            return PostgresHubStore(dsn, key, create=create)
        return SQLiteHubStore(self.db_path, key, create=create)

    def init(self, hub_id: str, name: str, username: str, passphrase: str, db: str | None = None) -> tuple[Hub, str]:
        if self.db_path.exists() or self.keys_path.exists() or self.db_conf.exists():
            raise StationError(f"目录 {self.dir} 中已经有乡镇服务器数据,不会覆盖")
        hub_id = hub_id.strip().upper()
        if not hub_id.isalnum() or not 2 <= len(hub_id) <= 12:
            raise ValidationFailed("乡镇编码无效", [FieldError("code", "bad_code", "乡镇编码应为2-12位大写字母或数字")])
        problems = keyring.check_passphrase(passphrase, {"登录名": username, "乡镇编码": hub_id, "名称": name})
        if problems:
            raise ValidationFailed("密码不符合要求", problems)
        if db is not None:
            from sync.hub.pgstore import is_dsn
            if not is_dsn(db):
                raise ValidationFailed("数据库地址无效", [FieldError("db", "bad_dsn", "应以 postgresql:// 开头")])
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        ring, key, recovery, _ = keyring.KeyRing.new_store_key(self.keys_path, username, passphrase)
        try:
            if db is not None:
                atomic_write(self.db_conf, json.dumps({"dsn": db}, ensure_ascii=False).encode("utf-8"), OWNER_ONLY)
            store = self.open_store(key, create=True)
            hub = Hub.create(store, hub_id, name, username)
        except BaseException:
            self.db_conf.unlink(missing_ok=True)  # nothing half set up is left to block a retry
            raise
        ring.save()
        staff.seed(store, [username], audited=False)
        self._logged_in(hub, username, key)
        return hub, recovery

    def _ring(self) -> keyring.KeyRing:
        if not self.db_path.exists() and not self.db_conf.exists():
            raise StationError(f"目录 {self.dir} 中没有乡镇服务器数据:请先运行 township init,或用 --data-dir 指定")
        return keyring.KeyRing.load(self.keys_path)

    def unlock(self, username: str, passphrase: str) -> Hub:
        return self.open_hub(username, self.unlock_key(username, passphrase))

    def unlock_key(self, username: str, passphrase: str) -> bytes:
        return self._ring().unlock(username, passphrase)

    def open_hub(self, username: str, key: bytes) -> Hub:
        """The hub signed in as ``username`` with the store key their passphrase unwrapped (each
        ``serve`` worker opens its own this way after the fork)."""
        hub = Hub(self.open_store(key), username)
        try:
            staff.seed(hub.store, self._ring().users())  # a hub from before staff accounts
            self._logged_in(hub, username, key)
        except BaseException:
            hub.store.close()
            raise
        return hub

    def _logged_in(self, hub: Hub, username: str, key: bytes) -> None:
        hub.role, hub.township = staff.role_for_login(hub.store, username)
        hub.home, hub.db_key = self, key

    def users(self) -> list[str]:
        return self._ring().users()
