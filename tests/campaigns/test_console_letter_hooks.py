"""The hooks the letters package calls: a city's letter is written with its message variant and the hearing date,
goes to every member of a targeted chamber, and waits in the approval queue when the campaign has one."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from pypdf import PdfReader
from sqlmodel import select

from advocacy.accounts.models import User
from advocacy.campaigns import approval, templates_store, variants, wizard
from advocacy.campaigns.committee_rules import seed_rules
from advocacy.campaigns.hearings import HearingInput, create_hearing
from advocacy.campaigns.models import Campaign, TargetGroup
from advocacy.db import session_scope
from advocacy.letters import service as letters
from advocacy.letters.compose import storage_path
from advocacy.letters.models import Delivery, Letter, LetterStatus
from advocacy.mail import MemoryMailer
from tests.campaigns.conftest import committee_named
from tests.helpers import csrf_token, login

VARIANT = (
    "<p>Variant {{ 'X' }}: the {{ letterhead.official_name }} supports {{ bill.label }}"
    "{% if hearing_date %}, to be heard {{ hearing_date|long_date }}{% endif %}.</p>"
)


def test_the_sent_letter_uses_the_variant_and_the_hearing_date(
    worker: Any,
    memory_mailer: MemoryMailer,
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    signer = make_official("Yreka", may_sign=True)
    campaign = make_campaign(cities=["Yreka"])
    when = date.today() + timedelta(days=45)
    with session_scope() as session:
        seed_rules(session)
        version = templates_store.create_template(
            session, name=f"Hook {uuid.uuid4().hex[:6]}", kind="support", source=VARIANT, user=staff
        )
        row = session.get(Campaign, campaign.id)
        assert row is not None
        variants.set_variants(session, row, TargetGroup.COMMITTEE, [version.id or 0])
        committee = committee_named(session, "Assembly", "Local Government")
        hearing = create_hearing(session, HearingInput(committee.id or 0, when, "13:30", "1100"), staff)
        wizard.update_deadline(session, campaign.id or 0, wizard.DeadlineStep(hearing_id=hearing.id))
        wizard.update_targets(session, campaign.id or 0, ["committee", "all_senate"])
        wizard.launch(session, campaign.id or 0, staff)
        letter = letters.send_letter(session, campaign.id or 0, session.get(User, signer.id) or signer)
    worker.drain()
    with session_scope() as session:
        sent = session.get(Letter, letter.id)
        assert sent is not None and sent.status is LetterStatus.SENT and sent.pdf_path
        deliveries = session.exec(select(Delivery).where(Delivery.letter_id == letter.id)).all()
        senators = [d for d in deliveries if d.legislator_id and "Senat" in d.reason]
        assert len({d.legislator_id for d in senators}) == 40
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(storage_path(sent.pdf_path).read_bytes())).pages)
    assert "Variant X: the City of Yreka supports SB 1256" in " ".join(text.split())
    assert f"{when:%B} {when.day}, {when.year}" in " ".join(text.split())


def test_a_signers_send_waits_for_review_in_an_approval_campaign(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Ferndale", may_sign=True)
    campaign = make_campaign(cities=["Ferndale"], requires_approval=True)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
    login(client, signer)
    answer = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"_csrf_token": csrf_token(client), "local_note": "Our bridge."},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with session_scope() as session:
        [letter] = session.exec(select(Letter).where(Letter.campaign_id == campaign.id)).all()
        assert letter.status is LetterStatus.AWAITING_APPROVAL
        review = approval.review_of(session, letter.id or 0)
        assert review is not None and review.status == "pending" and review.local_note == "Our bridge."
        assert not session.exec(select(Delivery).where(Delivery.letter_id == letter.id)).all()  # nothing sent
