"""Every notice an official can get renders (text, HTML and invite), says what happened, and shows staff's message;
me-toos get their line, leads their two-minute draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import col, select

from advocacy.accounts.models import User
from advocacy.db import session_scope
from advocacy.testimony import mailing, service
from advocacy.testimony.models import TestimonyNotice
from tests.testimony.conftest import sign


def test_every_kind_of_notice(make_call: Callable[..., Any], make_user: Any, staff: User) -> None:
    call = make_call()
    a, b, c = make_user(name="Ari Fictional"), make_user(name="Bo Fictional"), make_user(name="Cy Fictional")
    rendered: dict[tuple[int, str], Any] = {}

    def render_latest(*signup_ids: int) -> None:
        """What the worker would send now: each sign-up's latest notice (earlier ones are replaced by it)."""
        with session_scope() as session:
            for signup_id in signup_ids:
                notice = session.exec(
                    select(TestimonyNotice)
                    .where(TestimonyNotice.signup_id == signup_id)
                    .order_by(col(TestimonyNotice.sequence).desc())
                ).first()
                assert notice is not None
                rendered[(signup_id, notice.kind)] = mailing.notice_email(session, notice)

    lead_a, lead_b, waiting_c = (sign(p, call, role="lead") for p in (a, b, c))
    render_latest(lead_a.id, lead_b.id, waiting_c.id)
    with session_scope() as session:
        service.decide(session, lead_a.id, staff, "confirm", "See you at the Capitol.")
    render_latest(lead_a.id)
    with session_scope() as session:
        service.decide(session, lead_b.id, staff, "reassign", "The author picked two others.")
    render_latest(lead_b.id, waiting_c.id)
    with session_scope() as session:
        service.decide(session, waiting_c.id, staff, "decline", "Only two leads this time.")
    render_latest(waiting_c.id)

    assert set(rendered) == {
        (lead_a.id, "signed_up"),
        (lead_a.id, "confirmed"),
        (lead_b.id, "signed_up"),
        (lead_b.id, "reassigned"),
        (waiting_c.id, "signed_up"),
        (waiting_c.id, "promoted"),
        (waiting_c.id, "declined"),
    }
    held = rendered[(lead_a.id, "signed_up")]
    assert held.subject.startswith("Signed up to testify: ") and "the slot is tentative" in held.text
    assert "You have about two minutes" in held.text and "Members of the Committee" in held.text
    waiting = rendered[(waiting_c.id, "signed_up")]
    assert "you are on the waiting list" in waiting.text
    confirmed = rendered[(lead_a.id, "confirmed")]
    assert confirmed.subject.startswith("Confirmed as a lead witness")
    assert "See you at the Capitol." in confirmed.text and "See you at the Capitol." in (confirmed.html or "")
    reassigned = rendered[(lead_b.id, "reassigned")]
    assert "you now testify as a me-too" in reassigned.text
    assert '"Bo Fictional, Council Member, City of Sacramento, in support."' in reassigned.text
    assert "The author picked two others." in reassigned.text
    assert "A lead witness slot" in rendered[(waiting_c.id, "promoted")].text
    declined = rendered[(waiting_c.id, "declined")]
    assert declined.subject.startswith("Your testimony sign-up was declined")
    assert "Only two leads this time." in declined.text and "WHAT TO SAY" not in declined.text
    assert b"METHOD:CANCEL" in declined.attachments[0].content
    assert all(e.personalizations[0].custom_args for e in rendered.values())
