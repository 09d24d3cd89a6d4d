"""The records documents are built from: plain, already masked, no store behind them.

Kept apart from ``printouts.data`` (which reads the store) so a document module imports only
reportlab and these: printing a receipt must not wait for the whole service layer to import.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class MaterialLine:
    name: str
    form: str
    copies: int
    gap_allowed: bool


@dataclass(frozen=True)
class CaseSheet:
    """Everything the receipt, the notice and the authorization need about one case."""

    station_name: str
    station_code: str
    station_phone: str | None
    number: str
    item_name: str
    item_code: str
    department: str
    deciding_level: str
    promised_days: int
    resident_name: str
    resident_id: str  # masked
    resident_phone: str  # masked
    resident_address: str
    received_on: date
    due_on: date | None
    due_estimated: bool
    received: tuple[MaterialLine, ...]
    missing: tuple[MaterialLine, ...]
    gap_promise: date | None
    owner_name: str
    proxy: dict | None  # name, relation, id_number (masked)
    home_visit: bool
    token: str
    printed_on: date
    # Where and when the resident can come back (服务站信息); empty until the supervisor sets them.
    station_address: str = ""
    station_hours: str = ""


@dataclass(frozen=True)
class RegisterSheet:
    """The 代办登记台账 for a period: one row per case received in it."""

    station_name: str
    period_from: date
    period_to: date
    rows: tuple[dict, ...]
    printed_on: date
    printed_by: str


@dataclass(frozen=True)
class Column:
    """A column of a printed table (long ledgers and postings alike)."""

    title: str
    key: str
    width_mm: float
    align: str = "LEFT"


@dataclass(frozen=True)
class PostingSheet:
    """A public posting (公示) for the notice board: names shown, numbers masked, with the
    posting period and where to raise an objection."""

    station_name: str
    title: str  # e.g. 石板村2026年耕地地力保护补贴发放名单公示
    subject: str  # e.g. 2026年耕地地力保护补贴
    posting_from: date
    posting_to: date
    objection_phone: str
    columns: tuple[Column, ...]
    rows: tuple[dict, ...]  # already masked: see printouts.data.posting_rows
    total_fen: int
    printed_on: date
