"""A record named by part of its id (what listings show: its last eight characters) resolves to that
record or to nothing, never to whichever of several comes first. Found by an outside review: with
time-ordered ids (station/core/ids.py) every id made in the same minute shares its first eight
characters, and the prefix lookups then picked another ledger entry, project or notice."""
from pathlib import Path

import pytest

from ledgers import infra
from station.core.ids import new_id, short
from station.errors import NotFound, ValidationFailed
from tests.test_cli import ok, run


@pytest.fixture
def ids(session):
    made = [new_id() for _ in range(5)]  # one minute: the same first eight characters
    with session.store.transaction() as db:
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
        db.conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in made])
    assert len({i[:8] for i in made}) == 1
    return made


@pytest.mark.parametrize("ref, expect", [
    (lambda ids: ids[2], lambda ids: ids[2]),                      # the whole id
    (lambda ids: ids[2].upper(), lambda ids: ids[2]),              # typed in capitals
    (lambda ids: short(ids[2]), lambda ids: ids[2]),               # what a listing shows
    (lambda ids: " " + ids[2][-12:] + " ", lambda ids: ids[2]),    # more of the end, with spaces
    (lambda ids: ids[2][:30], lambda ids: ids[2]),                 # enough of the start to be one
    (lambda ids: ids[2][:8], ValidationFailed),                    # the start every id of the minute shares
    (lambda ids: ids[2][-7:], lambda ids: None),                   # too short to be looked up by part
    (lambda ids: "%", lambda ids: None),                           # a pattern is not an id
    (lambda ids: "________", lambda ids: None),
    (lambda ids: "00000000", lambda ids: None),                    # fits nothing
])
def test_resolve_id(session, ids, ref, expect):
    if expect is ValidationFailed:
        with pytest.raises(ValidationFailed, match="不止一条"):
            session.store.resolve_id("t", "id", ref(ids))
    else:
        assert session.store.resolve_id("t", "id", ref(ids)) == expect(ids)


def test_a_project_paid_by_its_shown_id_is_that_project_and_a_shared_start_is_refused(session):
    first = infra.create(session, "三组通组公路硬化", "一事一议财政奖补", "185000.00", "旧州镇建筑队")
    second = infra.create(session, "五组饮水管网改造", "一事一议财政奖补", "60000.00", "旧州镇建筑队")
    assert first[:8] == second[:8]
    infra.pay(session, short(second), "1000", "旧州镇建筑队")
    assert (infra.get(session, first).paid_fen, infra.get(session, second).paid_fen) == (0, 100_000)
    with pytest.raises(ValidationFailed):
        infra.pay(session, second[:8], "1000", "旧州镇建筑队")
    with pytest.raises(NotFound):
        infra.get(session, "ffffffff")


@pytest.fixture
def cli_station(tmp_path) -> Path:
    d = tmp_path / "st"
    ok(run(d, "init", "--code", "XX0101", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬", "--json"))
    return d


def test_the_notice_the_cli_shows_is_the_one_published(cli_station):
    made = [ok(run(cli_station, "notice", "new", "--title", title, "--body", "内容。", "--json"))["id"] for title in ("停水通知", "停电通知")]
    assert made[0][:8] == made[1][:8]
    listing = ok(run(cli_station, "notice", "list"))
    assert short(made[0]) in listing and short(made[1]) in listing
    ok(run(cli_station, "notice", "publish", short(made[1]), "--from", "2099-01-01", "--to", "2099-01-07"))
    board = {n["id"]: where for where, rows in ok(run(cli_station, "notice", "list", "--json")).items() for n in rows}
    assert (board[made[0]], board[made[1]]) == ("drafts", "upcoming")
    refused = run(cli_station, "notice", "publish", made[0][:8], "--from", "2099-01-01", "--to", "2099-01-07")
    assert refused.returncode != 0 and "不止一条" in refused.stdout + refused.stderr
