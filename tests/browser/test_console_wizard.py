"""League staff walk the campaign wizard in real Chromium, from the bill to launch; every page passes axe-core."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role
from advocacy.campaigns.committee_rules import seed_rules
from advocacy.campaigns.console_models import AlertRun
from advocacy.campaigns.hearings import HearingInput, create_hearing
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.db import session_scope
from advocacy.directory.models import Bill, Committee
from tests.browser.support import axe_violations, describe, screenshot
from tests.campaigns.conftest import audience_size
from tests.helpers import create_user

pytestmark = pytest.mark.browser


def check(page: Any, name: str) -> None:
    screenshot(page, name)
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_staff_walk_the_wizard_from_bill_to_launch(live_server: str, page: Any) -> None:
    with session_scope() as session:
        seed_rules(session)
        staff = create_user(session, role=Role.STAFF, name="Casey Console")
        create_user(session, role=Role.OFFICIAL, city_geoid="0658352", may_sign=True, title="Mayor")  # Portola
        token = accounts.start_session(session, staff)
        bill = session.exec(select(Bill).where(Bill.measure_type == "SB", Bill.number == 1256)).one()
        committee = session.exec(
            select(Committee).where(Committee.chamber == "Assembly", Committee.name == "Local Government")
        ).one()
        hearing = create_hearing(
            session, HearingInput(committee.id or 0, date.today() + timedelta(days=40), "13:30", "Room 1100"), staff
        )
        bill_id, hearing_id = bill.id, hearing.id
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server}])

    page.goto(f"{live_server}/console/campaigns/new")
    check(page, "console-wizard-1-bill")
    page.get_by_label("Bill", exact=True).select_option(str(bill_id))
    page.get_by_label("The league's position").select_option("Support")
    page.get_by_label(re.compile("Campaign title")).fill("Browser test: SB 1256 support")
    page.get_by_label(re.compile("Talking points")).fill("Keeps land-use decisions local.\nSaves staff time.")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/wizard/letter$"))
    check(page, "console-wizard-2-letter")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/wizard/targets$"))
    check(page, "console-wizard-3-targets")
    assert page.get_by_label(re.compile("committee now hearing")).is_checked()
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/wizard/audience$"))
    check(page, "console-wizard-4-audience")
    page.get_by_label(re.compile("And these cities")).fill("Portola")
    page.get_by_label(re.compile("^Mayors")).check()
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/wizard/deadline$"))
    check(page, "console-wizard-5-deadline")
    page.get_by_label("Hearing", exact=True).select_option(str(hearing_id))
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/wizard/preview$"))
    text = page.inner_text("main")
    campaign_id = int(re.search(r"/console/campaigns/(\d+)/", page.url).group(1))  # type: ignore[union-attr]
    officials = audience_size(campaign_id)  # our mayor, and any other test's mayor of Portola
    assert f"{officials} official{'s' if officials != 1 else ''} in 1 city" in text and "Thursday" in text
    frame = page.frame_locator("iframe.letter-frame").first
    assert "City of Portola" in frame.locator("body").inner_text()
    check(page, "console-wizard-6-preview")
    page.get_by_role("button", name="Launch the campaign").click()

    page.wait_for_url(re.compile(r"/console/campaigns/\d+\?notice="))
    assert "Launched." in page.inner_text("main")
    check(page, "console-campaign-page")
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status is CampaignStatus.ACTIVE and campaign.deadline is not None
        assert session.exec(select(AlertRun).where(AlertRun.campaign_id == campaign_id)).first() is not None

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/console/campaigns/{campaign_id}/wizard/preview")
    check(page, "console-wizard-preview-phone")


def test_template_editor_shows_errors_with_their_line_as_you_type(live_server: str, page: Any) -> None:
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF, name="Casey Editor")
        token = accounts.start_session(session, staff)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server}])
    page.goto(f"{live_server}/console/templates/new?kind=support")
    check(page, "console-template-editor")
    source = page.get_by_label(re.compile("^Body"))
    source.fill("<p>The {{ letterhead.official_name }} supports {{ bill.label }}.</p>\n<p>{{ city_nmae }}</p>")
    frame = page.frame_locator("#preview-frame")
    frame.locator("text=Unknown variable").wait_for(timeout=15_000)  # the live preview, a moment after typing
    assert "Line 2" in frame.locator("body").inner_text()
    page.get_by_label("Name").fill("Browser support letter")
    source.fill("<p>The {{ letterhead.official_name }} supports {{ bill.label }}.</p>")
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_url(re.compile(r"/console/templates/\d+\?notice="))
    assert "Saved as version 1." in page.inner_text("main")
    check(page, "console-template-saved")
