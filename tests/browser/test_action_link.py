"""In real Chromium: an official opens the one-click link of an action alert (never logged in), sends the letter,
watches it turn to sent and opens the PDF; then tries another page and is asked to log in. axe passes on the link's
pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts.models import Role
from advocacy.campaigns import links
from advocacy.campaigns.models import CampaignStatus, Position
from advocacy.campaigns.service import create_campaign
from advocacy.db import session_scope, utcnow
from advocacy.directory.models import Bill
from advocacy.mail import MemoryMailer, reset_mailer
from tests.browser.support import axe_violations, describe, screenshot
from tests.helpers import create_user

pytestmark = pytest.mark.browser


@pytest.fixture()
def memory_mailer() -> Any:
    mailer = MemoryMailer()
    reset_mailer(mailer)
    yield mailer
    reset_mailer(None)


def test_alert_link_sends_and_follows_the_letter_and_opens_nothing_else(
    live_server: str, page: Any, worker: Any, memory_mailer: MemoryMailer
) -> None:
    with session_scope() as session:
        mayor = create_user(session, role=Role.OFFICIAL, city_geoid="0664000", may_sign=True, title="Mayor")
        bill = session.exec(select(Bill).where(Bill.measure_type == "SB", Bill.number == 1256)).one()
        campaign = create_campaign(
            session,
            bill_id=bill.id or 0,
            position=Position.SUPPORT,
            talking_points="Keeps subdivision review local and timely.",
            status=CampaignStatus.ACTIVE,
        )
        other = create_campaign(session, bill_id=bill.id or 0, position=Position.SUPPORT, status=CampaignStatus.ACTIVE)
    token = links.action_token(mayor.id or 0, campaign.id or 0, utcnow() + timedelta(days=7))

    # The alert's link: the action page itself, for the mayor, without logging in.
    page.goto(f"{live_server}/act/{token}")
    assert "SB 1256" in page.get_by_role("heading", level=1).inner_text() or campaign.title in page.inner_text("h1")
    assert mayor.name in page.inner_text("main") and "from the league's action alert" in page.inner_text("main")
    assert page.frame_locator("iframe.letter-preview").locator("text=Juan Carrillo").first.is_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "alert-link-action-page")

    page.get_by_label(re.compile("How this bill affects your city")).fill("Sacramento reviews many parcel maps.")
    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url(re.compile(rf"/act/{re.escape(token)}/letter$"))
    worker.drain()
    page.get_by_role("status").first.filter(has_text=re.compile(r"^\s*Sent\s*$")).wait_for(timeout=20_000)
    assert "Accepted by the mail service" in page.get_by_role("table").inner_text()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "alert-link-letter-sent")
    pdf_link = page.get_by_role("link", name="Open the PDF")
    assert pdf_link.get_attribute("href") == f"/act/{token}/letter/pdf"
    response = page.request.get(f"{live_server}{pdf_link.get_attribute('href')}")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    assert not [c for c in page.context.cookies() if c["name"] == "advocacy_session"]  # no login happened

    # Anything else asks for a normal login: the city's letters, another campaign.
    for path in ("/letters", f"/campaigns/{other.id}"):
        page.goto(f"{live_server}{path}")
        page.wait_for_url(re.compile(r"/login\?next="))
        assert page.get_by_role("heading", level=1).inner_text().startswith("Log in")
    screenshot(page, "alert-link-other-page-asks-for-login")

    # A forged link gets a clear page.
    page.goto(f"{live_server}/act/{token[:-4]}abcd")
    assert "This link cannot be used" in page.get_by_role("heading", level=1).inner_text()
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_a_held_letter_returned_with_a_comment_reads_well(live_server: str, page: Any) -> None:
    from advocacy.campaigns import approval, wizard
    from advocacy.campaigns.models import Campaign
    from advocacy.letters.models import Letter
    from tests.campaigns.conftest import bill_by_label

    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF, name="Casey Reviewer")
        mayor = create_user(session, role=Role.OFFICIAL, city_geoid="0664000", may_sign=True, title="Mayor")
        started = wizard.start_campaign(
            session, wizard.BillStep(bill_id=bill_by_label(session, "SB 1256").id or 0, position="Support"), staff
        )
        wizard.update_deadline(
            session,
            started.id or 0,
            wizard.DeadlineStep(override_date=utcnow().date() + timedelta(days=9), requires_approval=True),
        )
        session.get(Campaign, started.id).status = CampaignStatus.ACTIVE  # type: ignore[union-attr]
        session.commit()
    token = links.action_token(mayor.id or 0, started.id or 0, utcnow() + timedelta(days=7))

    page.goto(f"{live_server}/act/{token}")
    assert "league staff read each letter before it is delivered" in page.inner_text("main")
    page.get_by_label(re.compile("How this bill affects your city")).fill("Our Main Street.")
    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url(re.compile(r"/letter$"))
    assert "Held for league review" in page.get_by_role("status").first.inner_text()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "alert-link-letter-held")

    with session_scope() as session:
        letter = session.exec(select(Letter).where(Letter.campaign_id == started.id)).one()
        review = approval.review_of(session, letter.id or 0)
        assert review is not None
        approval.return_letter(session, review.id or 0, staff, "Please name the project and what it costs.")
    page.goto(f"{live_server}/act/{token}")
    alert = page.get_by_role("alert")
    assert "Please name the project and what it costs." in alert.inner_text()
    note = page.get_by_label(re.compile("How this bill affects your city"))
    assert note.input_value() == "Our Main Street."
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "alert-link-letter-returned")
    note.fill("Our Main Street project, $2.1 million.")
    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url(re.compile(r"/letter$"))
    assert "Held for league review" in page.get_by_role("status").first.inner_text()
