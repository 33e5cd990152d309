"""In real Chromium: an official opens a campaign's action page, reads the recipients, types a local note (the
counter follows), sends, watches the status page turn to sent without reloading, and opens the PDF; axe passes on
both pages, on a desktop and on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Position
from advocacy.campaigns.service import create_campaign
from advocacy.db import session_scope
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


def logged_in(page: Any, live_server: str, user: User) -> None:
    with session_scope() as session:
        token = accounts.start_session(session, session.get(User, user.id) or user)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server}])


def test_official_sends_a_letter_and_follows_it_to_sent(
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
        )
    logged_in(page, live_server, mayor)

    page.goto(f"{live_server}/campaigns/{campaign.id}")
    assert "SB 1256" in page.get_by_role("heading", level=1).inner_text()
    recipients = page.get_by_role("table").first.inner_text()
    assert "Chair, Assembly Local Government" in recipients and "Your Senator (SD 8)" in recipients
    assert page.frame_locator("iframe.letter-preview").locator("text=Juan Carrillo").first.is_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)

    note = page.get_by_label(re.compile("How this bill affects your city"))
    note.fill("Sacramento reviews hundreds of parcel maps a year.")
    assert page.locator("#local-note-count").inner_text().startswith("50 of 1,500 characters")
    screenshot(page, "action-page")
    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_load_state()
    print(page.url, page.inner_text("main")[:600])
    page.wait_for_url(re.compile(r"/letters/\d+$"))
    worker.drain()

    # The status page follows the letter by itself (polling every 2 s), no reload.
    status = page.get_by_role("status").first
    status.filter(has_text=re.compile(r"^\s*Sent\s*$")).wait_for(timeout=20_000)
    assert "Accepted by the mail service" in page.get_by_role("table").inner_text()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "letter-status")

    pdf_link = page.get_by_role("link", name="Open the PDF")
    assert pdf_link.is_visible()
    response = page.request.get(f"{live_server}{pdf_link.get_attribute('href')}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/campaigns/{campaign.id}")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "action-page-phone")
