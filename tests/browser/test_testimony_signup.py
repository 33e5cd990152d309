"""An official signs up to testify as a me-too in real Chromium, sees the line to state, and cancels; every page
passes axe-core's WCAG 2.1 A/AA rules, on a desktop and on a phone."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role
from advocacy.campaigns.hearings import HearingInput, create_hearing
from advocacy.campaigns.service import create_campaign
from advocacy.db import session_scope, utcnow
from advocacy.directory.models import Bill, Chamber, Committee
from advocacy.testimony import service
from advocacy.testimony.calendar import to_pacific
from tests.browser.support import axe_violations, describe, screenshot
from tests.helpers import create_user

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _no_queued_mail_left_behind() -> Iterator[None]:
    """The live server queues the sign-up's e-mails on the in-process broker, where no worker runs in tests; a
    later test's worker must not send them."""
    import dramatiq

    from advocacy.jobs import import_actors

    import_actors()
    dramatiq.get_broker().flush_all()
    yield
    dramatiq.get_broker().flush_all()


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_an_official_signs_up_to_testify_and_cancels(live_server: str, page: Any) -> None:
    suffix = uuid.uuid4().hex[:6]
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
        official = create_user(session, role=Role.OFFICIAL, title="Council Member", name=f"Quinn Fictional {suffix}")
        bill = session.exec(select(Bill).where(Bill.measure_type == "AB").order_by(Bill.number)).first()
        committee = session.exec(
            select(Committee).where(Committee.chamber == Chamber.ASSEMBLY, Committee.name == "Local Government")
        ).first()
        assert bill is not None and committee is not None
        campaign = create_campaign(
            session,
            bill_id=bill.id or 0,
            position="Support",
            title=f"Testify for {bill.label} {suffix}",
            talking_points="Keeps local decisions local.\nProtects local revenue.",
            created_by=staff,
        )
        day = to_pacific(utcnow()).date() + timedelta(days=45)
        hearing = create_hearing(
            session, HearingInput(committee.id or 0, day, "13:30", "1021 O Street, Room 1100"), staff
        )
        call = service.open_call(session, service.CallInput(campaign.id or 0, hearing.id or 0, file_order=2), staff)
        cookie = accounts.start_session(session, official)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])

    page.goto(f"{live_server}/testimony")
    assert page.get_by_role("heading", level=1).inner_text() == "Testimony at hearings"
    screenshot(page, "testimony-hearings")
    assert_accessible(page)

    link = page.locator(f'a[href="/testimony/calls/{call.id}"]')  # other tests' calls may name the same bill
    assert link.inner_text() == f"Sign up to testify on {bill.label}"
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/testimony/calls/{call.id}")
    assert page.get_by_label("Your name").input_value() == official.name
    assert page.get_by_label("Your city").input_value() == "City of Sacramento"
    screenshot(page, "testimony-call")
    assert_accessible(page)

    page.get_by_role("radio", name=re.compile(r"^Me-too")).check()
    page.get_by_label("Your title").fill("Vice Mayor")
    page.get_by_role("button", name="Sign up to testify").click()
    page.wait_for_load_state()
    assert re.search(r"/testimony/signups/\d+$", page.url)
    assert page.get_by_role("heading", level=1).inner_text() == f"Your sign-up: {bill.label}"
    main = page.inner_text("main")
    assert "Confirmed" in main
    assert f"{official.name}, Vice Mayor, City of Sacramento, in support." in main
    assert page.get_by_role("link", name=re.compile("Add the hearing to your calendar")).is_visible()
    screenshot(page, "testimony-signup")
    assert_accessible(page)

    page.get_by_role("button", name="Cancel this sign-up").click()
    page.wait_for_load_state()
    assert "Your sign-up is cancelled." in page.get_by_role("status").first.inner_text()
    assert "Cancelled" in page.inner_text("main")
    assert page.get_by_role("button", name="Cancel this sign-up").count() == 0
    screenshot(page, "testimony-cancelled")
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/testimony/calls/{call.id}")
    assert page.get_by_role("button", name="Sign up to testify").is_visible()
    screenshot(page, "testimony-call-phone")
    assert_accessible(page)
