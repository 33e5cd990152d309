"""In real Chromium: a letter whose city's delegation has a message variant of its own is previewed as two letters,
sent, followed to sent with a link to each PDF; a committee that takes letters only on paper gets a mail packet that
an official marks as mailed. axe passes on every page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from advocacy.db import session_scope
from advocacy.letters.compose import california_date
from advocacy.letters.models import Delivery, DeliveryStatus
from advocacy.mail import MemoryMailer
from tests.browser.support import ARTIFACTS, axe_violations, describe, screenshot
from tests.browser.test_letter_flow import logged_in, memory_mailer  # noqa: F401  (a fixture)
from tests.letters.conftest import SACRAMENTO, make_campaign, make_official  # noqa: F401  (fixtures)
from tests.letters.test_committee_channels import committee_with_rule  # noqa: F401  (a fixture)
from tests.letters.test_variant_documents import DAVIS, delegation_campaign  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


def test_two_documents_are_previewed_sent_and_linked(
    live_server: str,
    page: Any,
    worker: Any,
    memory_mailer: MemoryMailer,  # noqa: F811
    delegation_campaign: Any,  # noqa: F811
    make_official: Any,  # noqa: F811
) -> None:
    campaign, _ = delegation_campaign()
    mayor = make_official(geoid=DAVIS)
    logged_in(page, live_server, mayor)

    page.goto(f"{live_server}/campaigns/{campaign.id}")
    assert "The letters, exactly as they will be sent" in page.content()
    frames = page.locator("iframe.letter-preview")
    assert frames.count() == 2
    delegation = page.frame_locator("iframe.letter-preview").nth(1)
    assert delegation.locator("text=Dear Assembly Member Aguiar-Curry and Senator Cabaldon:").is_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "letter-documents-action-page")
    other = page.context.new_page()  # the delegation's preview alone, to look at
    other.goto(f"{live_server}/campaigns/{campaign.id}")
    other.locator("iframe.letter-preview").nth(1).screenshot(path=str(ARTIFACTS / "letter-documents-preview.png"))
    other.close()

    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url("**/letters/*")
    worker.drain()
    page.get_by_text("Sent", exact=True).wait_for()
    links = page.locator(".documents a")
    assert links.count() == 2 and links.nth(1).inner_text() == "The letter to the city's own legislators"
    assert links.nth(1).get_attribute("href").endswith("/pdf?document=own_legislators")
    answer = page.request.get(live_server + links.nth(1).get_attribute("href"))
    assert answer.ok and answer.body().startswith(b"%PDF")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "letter-documents-letter-page")
    assert len(memory_mailer.sent) == 2


def test_a_mail_packet_is_marked_as_mailed(
    live_server: str,
    page: Any,
    worker: Any,
    memory_mailer: MemoryMailer,  # noqa: F811
    committee_with_rule: Any,  # noqa: F811
    make_official: Any,  # noqa: F811
) -> None:
    campaign, committee = committee_with_rule(rule=(False, False, True))
    mayor = make_official(geoid=SACRAMENTO)
    logged_in(page, live_server, mayor)
    page.goto(f"{live_server}/campaigns/{campaign.id}")
    recipients = page.get_by_role("table").first.inner_text()
    assert "By mail (a person prints and mails the PDF)" in recipients
    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url("**/letters/*")
    worker.drain()
    page.reload()
    assert page.get_by_role("heading", name="Packet to mail").is_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    screenshot(page, "letter-mail-packet")
    page.get_by_label(f"Day the letter to {committee.full_name} was mailed").fill(california_date().isoformat())
    page.get_by_role("button", name="Mark as mailed").click()
    page.get_by_text(f"Mailed to {committee.full_name} on").wait_for()
    with session_scope() as session:
        [row] = session.exec(select(Delivery).where(Delivery.committee_id == committee.id)).all()
        assert row.status is DeliveryStatus.MAILED
    screenshot(page, "letter-mail-packet-mailed")
