"""Postings (公示) from a ledger period: one line per household as it stands after corrections,
every identity, bank and phone number masked — here, in one place, for the board and for paper."""
from __future__ import annotations

from station.core.masking import mask_bank, mask_id, mask_phone
from station.core.money import format_fen
from station.core.ordering import group_key
from station.errors import FieldError, ValidationFailed
from station.services.session import Session

MASKED_FIELDS = {"id_number": mask_id, "bank_card": mask_bank, "phone": mask_phone}


def posting_rows(raw: list[dict]) -> tuple[tuple[dict, ...], int]:
    """Rows with every identity, bank and phone number masked, amounts formatted; and the total in fen."""
    rows, total = [], 0
    for i, r in enumerate(raw, 1):
        row = {k: (MASKED_FIELDS[k](v) if k in MASKED_FIELDS else v) for k, v in r.items()}
        if "amount_fen" in r:
            total += r["amount_fen"]
            row["amount"] = format_fen(r["amount_fen"])
            del row["amount_fen"]
        row["seq"] = str(i)
        rows.append(row)
    return tuple(rows), total


def period_rows(session: Session, ledger: str, program: str, period: str) -> tuple[tuple[dict, ...], int]:
    raw = session.store.query(
        "SELECT head_name AS name, village_group, id_number, bank_card, "
        "max(CASE WHEN kind != 'reversal' THEN area END) AS area, sum(amount_fen) AS amount_fen FROM ledger_entries "
        "WHERE ledger = ? AND program = ? AND period = ? GROUP BY id_number HAVING sum(amount_fen) != 0 "
        "ORDER BY village_group, min(seq)", (ledger, program, period))
    if not raw:
        raise ValidationFailed("没有可公示的记录", [FieldError("period", "empty", f"{program} {period} 没有台账记录")])
    rows = [{k: (v if v is not None else "") for k, v in r.items()} for r in raw]
    # SQL orders groups by code point (一组, 三组, 二组…); a stable sort keeps the entry order within a group
    return posting_rows(sorted(rows, key=lambda r: group_key(r["village_group"])))


def draft_notice(session: Session, ledger: str, program: str, period: str) -> str:
    """A draft 公示 on the board from a ledger period (publish it with its posting period)."""
    from station.services import bulletin
    rows, total = period_rows(session, ledger, program, period)
    label = {"subsidy": "发放名单", "relief": "救助对象名单"}[ledger]
    body = (f"根据有关规定,现将{period}{program}{label}予以公示,共 {len(rows)} 户,合计 {format_fen(total)} 元。"
            "公示期内如有异议,请向本站反映。")
    return bulletin.new_notice(session, "公示", f"{period}{program}{label}公示", body,
                               posting={"ledger": ledger, "program": program, "period": period, "rows": list(rows), "total_fen": total})
