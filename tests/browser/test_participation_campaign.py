"""League staff open one campaign across every member city in Chromium (from the league view), filter it to one
division's cities that have not acted, and nudge one; the list passes axe-core (desktop and phone)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role
from advocacy.db import session_scope
from advocacy.directory.models import Division
from advocacy.letters.models import DeliveryStatus, LetterStatus
from advocacy.participation.models import MailState, Nudge
from tests.browser.support import axe_violations, describe, screenshot
from tests.helpers import create_user
from tests.participation.conftest import add_letter, close, division_cities, new_campaign

pytestmark = pytest.mark.browser


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_staff_filter_a_campaigns_cities_and_nudge_one(live_server: str, page: Any, worker: Any) -> None:
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
        campaign = new_campaign(session, staff)
        delivered, drafting, idle = division_cities(session, 3)
        division = session.get(Division, idle.division_id)
        assert division is not None
        official = create_user(session, role=Role.OFFICIAL, city_geoid=delivered.geoid)
        add_letter(
            session,
            campaign.id or 0,
            delivered.id or 0,
            official,
            LetterStatus.SENT,
            deliveries=[DeliveryStatus.DELIVERED],
        )
        add_letter(session, campaign.id or 0, drafting.id or 0, official, LetterStatus.DRAFT, signature_requested=True)
        create_user(session, role=Role.OFFICIAL, city_geoid=idle.geoid)
        cookie = accounts.start_session(session, staff)
    try:
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])
        page.goto(f"{live_server}/participation/league")
        page.get_by_role("link", name=campaign.title, exact=True).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == f"{campaign.title}: every member city"
        counts = page.locator(".state-counts").inner_text()
        assert "Delivered 1" in counts and "Awaiting signature 1" in counts
        screenshot(page, "participation-campaign")
        assert_accessible(page)

        page.get_by_label("State", exact=True).select_option("not_acted")
        page.get_by_label("Division", exact=True).select_option(division.slug)
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_load_state()
        assert f"state=not_acted&division={division.slug}" in page.url  # a shareable URL
        assert page.get_by_role("heading", level=1).inner_text() == f"{campaign.title}: {division.name} Division"
        table = page.get_by_role("table")
        assert delivered.name not in table.inner_text()  # it acted: filtered out
        assert drafting.name in table.inner_text()
        page.get_by_label(f"Nudge {idle.name}", exact=True).check()
        page.get_by_role("button", name="Send reminders to the selected cities").click()
        page.wait_for_load_state()
        assert "1 reminder(s) queued" in page.get_by_role("status").inner_text()
        assert f"division={division.slug}" in page.url  # back on the same filtered list
        row = page.get_by_role("row").filter(has_text=idle.name)
        assert "nudged today" in row.inner_text()
        screenshot(page, "participation-campaign-filtered")
        assert_accessible(page)

        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "participation-campaign-phone")
        assert_accessible(page)

        worker.drain()
        with session_scope() as session:
            nudges = session.exec(select(Nudge).where(Nudge.campaign_id == campaign.id)).all()
            assert [(n.city_id, n.status) for n in nudges] == [(idle.id, MailState.SENT)]
    finally:
        with session_scope() as session:
            close(session, campaign.id or 0)
