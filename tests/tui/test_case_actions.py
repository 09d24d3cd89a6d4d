"""The keys a case offers follow its state: a step the township took (on paper, transcribed by
the clerk) is not offered again once the case has moved past it."""
from __future__ import annotations

from station.services import cases
from station.tui.screens.case_detail import CaseDetailScreen
from tests.tui.conftest import app_for, settle


def _offered(screen: CaseDetailScreen, etype: str) -> bool:
    return bool(screen.check_action("event", (etype,)))


async def test_a_rated_case_offers_no_township_step_a_submitted_one_does(station_dir):
    app = app_for(station_dir, watch_sticks=False, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        rated = cases.list_cases(app.session, status="rated", limit=1)[0]["number"]
        submitted = cases.list_cases(app.session, status="submitted", limit=1)[0]["number"]
        app.open_case(rated)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseDetailScreen) and screen.state.paper  # its township steps were transcribed
        assert not _offered(screen, "accepted_by_township") and not _offered(screen, "decided")
        app.open_case(submitted)
        await settle(pilot)
        assert _offered(app.screen, "accepted_by_township")
