"""An official opens the CitiPAC page in Chromium, follows a campaign's ask, is refused for a city card, then
pledges from personal funds; every page passes axe-core's WCAG 2.1 A/AA rules, on a desktop and a phone."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role
from advocacy.campaigns import service as campaigns
from advocacy.citipac import service
from advocacy.db import session_scope
from advocacy.directory.models import Bill
from tests.browser.support import axe_violations, describe, screenshot
from tests.helpers import create_user

pytestmark = pytest.mark.browser


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_an_official_pledges_to_citipac(live_server: str, page: Any) -> None:
    message = f"Help CitiPAC defend local revenue {uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
        official = create_user(session, role=Role.OFFICIAL, title="Council Member", name="Avery Fictional-Browser")
        bill = session.exec(select(Bill).order_by(col(Bill.id))).first()
        assert bill is not None
        campaign = campaigns.create_campaign(session, bill_id=bill.id, position="Oppose", created_by=staff)
        service.create_ask(session, staff, campaign_id=campaign.id, suggested_amounts="100, 250", message=message)
        cookie = accounts.start_session(session, official)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])

    page.goto(f"{live_server}/citipac")
    assert page.get_by_role("heading", level=1).inner_text() == "CitiPAC"
    assert message in page.inner_text("main")
    screenshot(page, "citipac-page")
    assert_accessible(page)

    ask = page.get_by_role("article").filter(has_text=message)
    ask.get_by_role("link", name="Pledge $250.00").click()
    page.wait_for_load_state()
    assert page.get_by_label("Amount in dollars").input_value() == "250.00"

    page.get_by_role("radio", name="My personal funds").check()
    page.get_by_label("Payment method").select_option("card")
    page.get_by_label("Whose card or account pays").select_option("city")
    page.get_by_label("Name on the check, card or account").fill("Avery Fictional-Browser")
    page.get_by_label("Street address").fill("31 Walnut Street")
    page.get_by_label("City", exact=True).fill("Sacramento")
    page.get_by_label("ZIP code").fill("95818")
    page.get_by_label("E-mail for your receipt").fill("avery.browser@gmail.com")
    page.get_by_label("Occupation").fill("Council Member")
    page.locator("#attest").check()
    page.get_by_role("button", name="Pledge").click()
    page.wait_for_load_state()

    alert = page.get_by_role("alert")
    assert "The pledge was not made." in alert.inner_text() and "city card" in alert.inner_text()
    assert page.get_by_label("Street address").input_value() == "31 Walnut Street"
    screenshot(page, "citipac-pledge-refused")
    assert_accessible(page)

    page.get_by_label("Whose card or account pays").select_option("personal")
    page.locator("#attest").check()
    page.get_by_role("button", name="Pledge").click()
    page.wait_for_load_state()
    assert re.search(r"/citipac/pledges/\d+$", page.url)
    assert page.get_by_role("heading", level=1).inner_text() == "Pledge of $250.00"
    assert "Thank you. Your pledge is recorded." in page.inner_text("main")
    screenshot(page, "citipac-pledge-made")
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/citipac")
    assert "$250.00" in page.inner_text("main")  # the pledge is listed under "Your giving"
    screenshot(page, "citipac-page-phone")
    assert_accessible(page)


def test_the_treasurer_pages_pass_axe(live_server: str, page: Any) -> None:
    from datetime import date

    from tests.citipac.conftest import make_treasurer

    with session_scope() as session:
        treasurer = make_treasurer(session)
        result = service.record_contribution(
            session,
            treasurer,
            service.ContributionInput(
                amount="120",
                method="check",
                received_on=date(2026, 2, 2),
                contributor=service.ContributorInput(
                    kind="individual", first_name="Quinn", last_name="Fictional-Axe", email="quinn.axe@example.org"
                ),
            ),
            today=date(2026, 2, 2),
        )
        cookie = accounts.start_session(session, treasurer)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])
    for path in (
        "/citipac/queue",
        "/citipac/ledger?year=2026",
        "/citipac/contributions/new",
        f"/citipac/entries/{result.entry.id}",
        f"/citipac/contributors/{result.contributor.id}",
        "/citipac/contributors",
        "/citipac/exports",
        "/citipac/settings",
        "/citipac/asks",
        "/citipac/divisions",
    ):
        page.goto(f"{live_server}{path}")
        assert page.get_by_role("heading", level=1).count() == 1, path
        violations = axe_violations(page)
        assert not violations, f"{path}: {describe(violations)}"
    screenshot(page, "citipac-divisions")
