"""The ledger chain's head (台账链头): deleting the newest entries shows, and an older database
gets its head from the entries it already holds."""
from __future__ import annotations

from ledgers import service
from station.store import migrations
from tests.ledgers.test_ledgers import imp, row, xlsx


def test_deleting_the_newest_entries_is_detected(session, tmp_path):
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 6)]))
    assert service.verify_chain(session) == (5, [])
    session.store.conn.execute("DELETE FROM ledger_entries WHERE seq >= 4")
    count, problems = service.verify_chain(session)
    assert count == 3 and any("末尾" in p and "5" in p for p in problems)


def test_entries_written_after_a_cut_do_not_hide_it(session, tmp_path):
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 6)]))
    session.store.conn.execute("DELETE FROM ledger_entries WHERE seq = 5")
    imp(session, xlsx(tmp_path / "b.xlsx", [row(9)]))  # the next entry chains from the head, not from what is left
    assert any("接不上" in p for p in service.verify_chain(session)[1])


def test_corrections_move_the_head(session, tmp_path):
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 4)]))
    first = service.entries(session, "subsidy")[0]["id"]
    service.correct(session, first, "面积核实为3.00亩", {"area": "3.00", "amount": "377.40"})
    last = session.store.one("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1")
    assert session.store.scalar("SELECT value FROM settings WHERE key = 'ledger_head'") == f"{last['seq']}:{last['hash']}"
    assert service.verify_chain(session) == (5, [])


def test_a_database_from_before_the_head_gets_one(session, tmp_path):
    imp(session, xlsx(tmp_path / "a.xlsx", [row(n) for n in range(1, 4)]))
    with session.store.transaction() as db:  # as the software before the head left it, then the upgrade step
        db.execute("DELETE FROM settings WHERE key = 'ledger_head'")
        assert any("链头" in p for p in service.verify_chain(session)[1])
        migrations._v11_ledger_head(db)
    assert service.verify_chain(session) == (3, [])
    session.store.conn.execute("DELETE FROM ledger_entries WHERE seq = 3")
    assert any("末尾" in p for p in service.verify_chain(session)[1])
