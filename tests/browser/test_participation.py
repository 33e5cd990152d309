"""A regional manager opens the participation grid in Chromium, filters it to one campaign and the cities that have
not acted, and nudges one of them; the grid, the league view and the charts pass axe-core (desktop and phone)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role
from advocacy.db import session_scope
from advocacy.letters.models import DeliveryStatus, LetterStatus
from advocacy.participation.models import Nudge
from tests.browser.support import axe_violations, describe, screenshot
from tests.helpers import create_user
from tests.participation.conftest import add_letter, close, division_cities, new_campaign

pytestmark = pytest.mark.browser


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_a_manager_filters_the_grid_and_nudges_a_city(live_server: str, page: Any) -> None:
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
        manager = create_user(session, role=Role.REGIONAL_MANAGER)
        campaign = new_campaign(session, staff)
        acted, idle = division_cities(session, 2)
        official = create_user(session, role=Role.OFFICIAL, city_geoid=acted.geoid)
        add_letter(
            session, campaign.id or 0, acted.id or 0, official, LetterStatus.SENT, deliveries=[DeliveryStatus.DELIVERED]
        )
        cookie = accounts.start_session(session, manager)
        staff_cookie = accounts.start_session(session, staff)
    try:
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])
        page.goto(f"{live_server}/participation")
        assert page.get_by_role("heading", level=1).inner_text().startswith("Participation:")
        assert page.locator("caption").first.is_visible()
        screenshot(page, "participation-grid")
        assert_accessible(page)

        page.get_by_label("Campaign").select_option(str(campaign.id))
        page.get_by_label("State").select_option("not_acted")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_load_state()
        table = page.get_by_role("table")
        assert acted.name not in table.inner_text()  # it acted: filtered out
        page.get_by_label(f"Nudge {idle.name}", exact=True).check()
        page.get_by_role("button", name="Send reminders to the selected cities").click()
        page.wait_for_load_state()
        assert "1 reminder(s) queued" in page.get_by_role("status").inner_text()
        page.goto(f"{live_server}/participation?campaign={campaign.id}&state=not_acted")
        row = page.get_by_role("row").filter(has_text=idle.name)
        assert "nudged today" in row.inner_text()
        assert_accessible(page)

        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "participation-grid-phone")
        assert_accessible(page)
        page.goto(f"{live_server}/participation/charts")
        screenshot(page, "participation-charts-phone")
        assert_accessible(page)

        page.context.clear_cookies()
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": staff_cookie, "url": live_server}])
        page.set_viewport_size({"width": 1200, "height": 900})
        page.goto(f"{live_server}/participation/league")
        assert page.get_by_role("heading", level=1).inner_text() == "League participation"
        screenshot(page, "participation-league")
        assert_accessible(page)

        with session_scope() as session:
            nudges = session.exec(select(Nudge).where(Nudge.campaign_id == campaign.id)).all()
            assert [n.city_id for n in nudges] == [idle.id]
    finally:
        with session_scope() as session:
            close(session, campaign.id or 0)
