"""The approval queue: a signer's Send holds the letter for league review (``awaiting_approval``); staff return it
with a comment the signer sees (a draft again), or approve it and it is queued, rendered and sent as the signer's.
Every move into and out of the held state, the refusals, and everything that reads letter statuses."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import col, select

from advocacy.accounts.models import User
from advocacy.campaigns import agenda, alerts, approval, audience, stats, wizard
from advocacy.campaigns.console_models import AlertRun, LetterReview, ReconfirmRequest, ReviewStatus
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import stage_of
from advocacy.db import session_scope, utcnow
from advocacy.letters import records
from advocacy.letters import service as letters
from advocacy.letters.delivery import stuck_letters
from advocacy.letters.models import Delivery, DeliveryStatus, Letter, LetterStatus
from advocacy.mail import MemoryMailer
from advocacy.participation.service import ACTED, CityState, states
from tests.campaigns.conftest import city_named
from tests.helpers import api_token, bearer, csrf_token, login

HELD = "Held for league review"


def launched(make_campaign: Callable[..., Campaign], staff: User, city: str, **plan: Any) -> Campaign:
    campaign = make_campaign(cities=[city], requires_approval=True, **plan)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
    return campaign


def the_letter(campaign_id: int) -> Letter:
    with session_scope() as session:
        [letter] = session.exec(select(Letter).where(Letter.campaign_id == campaign_id)).all()
        return letter


def review_id_of(letter_id: int) -> int:
    with session_scope() as session:
        review = approval.review_of(session, letter_id)
        assert review is not None
        return review.id or 0


def press_send(client: Any, campaign_id: int, note: str) -> Any:
    return client.post(
        f"/campaigns/{campaign_id}/letters",
        data={"_csrf_token": csrf_token(client), "local_note": note, "action": "send"},
        follow_redirects=False,
    )


def letter_payloads(fake: Any, letter_id: int) -> list[dict[str, Any]]:
    return [
        p
        for p in fake.accepted
        if any(x.get("custom_args", {}).get("letter_id") == str(letter_id) for x in p["personalizations"])
    ]


def test_held_returned_with_a_comment_resubmitted_approved_and_sent(
    client: Any,
    worker: Any,
    sendgrid: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    signer = make_official("Plymouth", may_sign=True)
    campaign = launched(make_campaign, staff, "Plymouth")
    login(client, signer)
    page = client.get(f"/campaigns/{campaign.id}")
    assert "league staff read each letter before it is delivered" in page.text

    # The signer presses Send: the letter is held, not queued; nothing is rendered or sent meanwhile.
    sent = press_send(client, campaign.id or 0, "Main St.")
    assert sent.status_code == 303
    letter = the_letter(campaign.id or 0)
    assert sent.headers["location"] == f"/letters/{letter.id}"
    assert letter.status is LetterStatus.AWAITING_APPROVAL and letter.signer_id == signer.id
    assert letter.local_note == "Main St." and letter.next_step_at is None and letter.queued_at is None
    worker.drain()
    with session_scope() as session:
        assert session.get(Letter, letter.id).status is LetterStatus.AWAITING_APPROVAL  # type: ignore[union-attr]
        assert not session.exec(select(Delivery).where(Delivery.letter_id == letter.id)).all()
    assert not letter_payloads(sendgrid, letter.id or 0)

    # Its pages say so (not "Draft: waiting for a signature"), and offer no Send.
    status_page = client.get(f"/letters/{letter.id}")
    assert HELD in status_page.text and "waiting for a signature" not in status_page.text
    assert "Main St." in status_page.text and f'action="/letters/{letter.id}/send"' not in status_page.text
    action_page = client.get(f"/campaigns/{campaign.id}")
    assert HELD in action_page.text and "Send the letter</button>" not in action_page.text
    polled = client.get(f"/letters/{letter.id}/status").json()
    assert polled["status"] == "awaiting_approval" and polled["status_label"] == HELD

    # A second press, and the API with a replayed Idempotency-Key, find the one letter and change nothing.
    assert press_send(client, campaign.id or 0, "Something else").headers["location"] == f"/letters/{letter.id}"
    with session_scope() as session:
        headers = {**bearer(api_token(session, signer)), "Idempotency-Key": "approval-1"}
    for _ in range(2):
        answer = client.post(f"/api/v1/campaigns/{campaign.id}/letters", json={"local_note": "x"}, headers=headers)
        assert answer.status_code == 202 and answer.json()["id"] == letter.id
        assert answer.json()["status"] == "awaiting_approval"
    assert the_letter(campaign.id or 0).local_note == "Main St."

    # Staff see it in the queue and on the campaign's page; they return it with a comment.
    review_id = review_id_of(letter.id or 0)
    login(client, staff)
    queue = client.get("/console/reviews")
    assert queue.status_code == 200 and "Plymouth" in queue.text and "Main St." in queue.text
    console = client.get(f"/console/campaigns/{campaign.id}")
    assert HELD in console.text and "1 waiting" in console.text
    token = csrf_token(client)
    empty = client.post(f"/console/reviews/{review_id}", data={"_csrf_token": token, "action": "return"})
    assert empty.status_code == 422 and "Say what the signer should change" in empty.text
    assert the_letter(campaign.id or 0).status is LetterStatus.AWAITING_APPROVAL
    comment = "Please name the project and its cost."
    returned = client.post(
        f"/console/reviews/{review_id}",
        data={"_csrf_token": token, "action": "return", "comment": comment},
        follow_redirects=False,
    )
    assert returned.status_code == 303
    assert the_letter(campaign.id or 0).status is LetterStatus.DRAFT
    assert "Plymouth" not in client.get("/console/reviews").text

    # The signer is e-mailed the comment and the link (once: a redelivered message and the sweep send nothing more).
    worker.drain()
    notices = [p for p in sendgrid.accepted if "letter-returned" in p.get("categories", [])]
    assert len(notices) == 1 and notices[0]["personalizations"][0]["to"][0]["email"] == signer.email
    body = next(c["value"] for c in notices[0]["content"] if c["type"] == "text/plain")
    assert comment in body and f"/letters/{letter.id}" in body and "has not been sent" in body
    from advocacy.campaigns import actors as campaign_actors
    from advocacy.campaigns.approval import RETURN_NOTICE_STUCK, sweep_return_notices

    campaign_actors.notify_returned.send(review_id)
    with session_scope() as session:
        review = session.get(LetterReview, review_id)
        assert review is not None and review.signer_notified_at is not None
        review.decided_at = utcnow() - 2 * RETURN_NOTICE_STUCK  # long ago: the sweep would look at it
        session.add(review)
        session.commit()
        assert sweep_return_notices(session) == 0  # already told
    worker.drain()
    assert len([p for p in sendgrid.accepted if "letter-returned" in p.get("categories", [])]) == 1

    # The signer sees the comment on the action page, the letter page and through the API, and sends again.
    login(client, signer)
    action_page = client.get(f"/campaigns/{campaign.id}")
    assert comment in action_page.text and "Send the letter</button>" in action_page.text
    assert ">Main St.</textarea>" in action_page.text
    assert comment in client.get(f"/letters/{letter.id}").text
    with session_scope() as session:
        api = client.get(f"/api/v1/letters/{letter.id}", headers=bearer(api_token(session, signer))).json()
    assert api["status"] == "draft" and api["review_comment"] == comment
    note = "The Main Street project, $2.1 million."
    assert press_send(client, campaign.id or 0, note).status_code == 303
    letter = the_letter(campaign.id or 0)
    assert letter.status is LetterStatus.AWAITING_APPROVAL and letter.local_note == note
    assert comment not in client.get(f"/campaigns/{campaign.id}").text
    with session_scope() as session:
        review = approval.review_of(session, letter.id or 0)
        assert review is not None and review.status == ReviewStatus.PENDING and review.local_note == note

    # Staff approve: queued as the signer's, then rendered and sent by the workers.
    login(client, staff)
    approved = client.post(
        f"/console/reviews/{review_id}",
        data={"_csrf_token": csrf_token(client), "action": "approve"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    letter = the_letter(campaign.id or 0)
    assert letter.status in (LetterStatus.QUEUED, LetterStatus.RENDERED, LetterStatus.SENT)
    assert letter.signer_id == signer.id and letter.queued_at is not None
    worker.drain()
    letter = the_letter(campaign.id or 0)
    assert letter.status is LetterStatus.SENT, letter.error
    with session_scope() as session:
        deliveries = session.exec(select(Delivery).where(Delivery.letter_id == letter.id)).all()
        emailed = [d for d in deliveries if d.channel == "email"]
        assert emailed and all(d.status is DeliveryStatus.ACCEPTED for d in emailed)
        review = approval.review_of(session, letter.id or 0)
        assert review is not None and review.status == ReviewStatus.APPROVED and review.reviewer_id == staff.id
        found = stats.campaign_stats(session, session.get(Campaign, campaign.id) or campaign)
        assert found.letters_by_status == {"sent": 1} and found.pending_reviews == 0
    [payload] = letter_payloads(sendgrid, letter.id or 0)
    [attachment] = payload["attachments"]
    text = " ".join(
        (p.extract_text() or "") for p in PdfReader(io.BytesIO(base64.b64decode(attachment["content"]))).pages
    )
    assert "$2.1 million" in " ".join(text.split()) and signer.name in " ".join(text.split())

    login(client, signer)
    assert "Sent" in client.get(f"/letters/{letter.id}/status").json()["status_label"]
    assert client.get(f"/letters/{letter.id}/pdf").content == base64.b64decode(attachment["content"])


def test_refused_moves_change_nothing(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Sutter Creek", may_sign=True)
    helper = make_official("Sutter Creek", may_sign=False, title="Council Member")
    campaign = launched(make_campaign, staff, "Sutter Creek")
    with session_scope() as session:
        # Only a signer's Send holds a letter: an official who may not sign is refused, and writes nothing.
        with pytest.raises(letters.NotAllowed, match="Only an official who may sign"):
            letters.send_letter(session, campaign.id or 0, session.get(User, helper.id) or helper, "x")
        session.rollback()
        assert not session.exec(select(Letter).where(Letter.campaign_id == campaign.id)).all()
        # Their request for a signature makes a draft: nothing for staff to decide yet.
        draft = letters.request_signature(session, campaign.id or 0, session.get(User, helper.id) or helper, "Oak")
        assert draft.status is LetterStatus.DRAFT
        with pytest.raises(letters.LetterError, match="not held for review: it is draft"):
            letters.release_held(session, draft.id or 0)
        with pytest.raises(letters.LetterError, match="not held for review"):
            letters.return_held(session, draft.id or 0)
        session.rollback()
        assert approval.review_of(session, draft.id or 0) is None

    # The signer sends the prepared draft from the link in the signature request: it is held, not queued.
    login(client, signer)
    pressed = client.post(
        f"/letters/{draft.id}/send", data={"_csrf_token": csrf_token(client), "local_note": "Oak Ave."}
    )
    assert pressed.status_code == 200 and HELD in pressed.text
    held = the_letter(campaign.id or 0)
    assert held.id == draft.id and held.status is LetterStatus.AWAITING_APPROVAL and held.signer_id == signer.id
    review_id = review_id_of(held.id or 0)

    with session_scope() as session:
        # A signer who may no longer sign cannot be approved for: the letter stays held.
        session.execute(update(User).where(col(User.id) == signer.id).values(may_sign=False))
        session.commit()
        with pytest.raises(letters.NotAllowed, match="may no longer sign"):
            approval.approve(session, review_id, staff)
        session.rollback()
        session.execute(update(User).where(col(User.id) == signer.id).values(may_sign=True))
        session.commit()
        assert session.get(Letter, held.id).status is LetterStatus.AWAITING_APPROVAL  # type: ignore[union-attr]
        assert not session.exec(select(Delivery).where(Delivery.letter_id == held.id)).all()

        approval.approve(session, review_id, staff)
        assert session.get(Letter, held.id).status is LetterStatus.QUEUED  # type: ignore[union-attr]
        # A decided letter is decided: no second approval, no return, no hold again from the letters side.
        with pytest.raises(approval.ReviewError, match="already approved"):
            approval.approve(session, review_id, staff)
        with pytest.raises(approval.ReviewError, match="already approved"):
            approval.return_letter(session, review_id, staff, "Too late.")
        with pytest.raises(letters.LetterError, match="not held for review: it is queued"):
            letters.return_held(session, held.id or 0)
        with pytest.raises(letters.LetterError, match="not held for review"):
            letters.release_held(session, held.id or 0)
        session.rollback()
        again = letters.send_letter(session, campaign.id or 0, session.get(User, signer.id) or signer, "New")
        assert again.id == held.id and again.status is LetterStatus.QUEUED and again.local_note == "Oak Ave."
        assert len(session.exec(select(Delivery).where(Delivery.letter_id == held.id)).all()) > 0

    with session_scope() as session:
        with pytest.raises(approval.ReviewError, match="no approval queue"):
            approval.submit_for_review(session, (make_campaign(cities=["Sutter Creek"])).id or 0, signer)
        with pytest.raises(approval.ReviewError, match="There is no review"):
            approval.approve(session, 10**9, staff)


def test_a_second_official_and_a_replay_find_the_one_held_letter(
    staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    mayor = make_official("Ione", may_sign=True)
    manager = make_official("Ione", may_sign=True, title="City Manager")
    campaign = launched(make_campaign, staff, "Ione")
    with session_scope() as session:
        first = approval.submit_for_review(session, campaign.id or 0, session.get(User, mayor.id) or mayor, "A")
        second = letters.send_letter(session, campaign.id or 0, session.get(User, manager.id) or manager, "B")
        replay = letters.send_idempotent(session, campaign.id or 0, session.get(User, mayor.id) or mayor, "A", "k1")
        again = letters.send_idempotent(session, campaign.id or 0, session.get(User, mayor.id) or mayor, "A", "k1")
        assert first.id == second.id == replay.id == again.id
        assert len(session.exec(select(Letter).where(Letter.campaign_id == campaign.id)).all()) == 1
        assert len(session.exec(select(LetterReview).where(LetterReview.campaign_id == campaign.id)).all()) == 1
        letter = session.get(Letter, first.id)
        assert letter is not None and letter.local_note == "A" and letter.signer_id == mayor.id


def test_the_sweep_leaves_held_letters_alone(
    staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Biggs", may_sign=True)
    campaign = launched(make_campaign, staff, "Biggs")
    with session_scope() as session:
        letter = letters.send_letter(session, campaign.id or 0, session.get(User, signer.id) or signer, "")
        long_ago = utcnow() - timedelta(days=3)
        session.execute(update(Letter).where(col(Letter.id) == letter.id).values(status_changed_at=long_ago))
        session.commit()
        assert letter.id not in {stuck.id for stuck in stuck_letters(session)}  # held: a person decides, no worker
        assert session.get(Letter, letter.id).status is LetterStatus.AWAITING_APPROVAL  # type: ignore[union-attr]


def test_a_held_letter_is_the_city_acting_but_not_a_sent_letter(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Maricopa", may_sign=True)
    waiting = make_official("Avenal", may_sign=False, title="City Manager")
    campaign = make_campaign(cities=["Maricopa", "Avenal"], requires_approval=True)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
        letter = letters.send_letter(session, campaign.id or 0, session.get(User, signer.id) or signer, "Our roads")
        maricopa, avenal = city_named(session, "Maricopa"), city_named(session, "Avenal")
        stage = stage_of(session, session.get(Campaign, campaign.id) or campaign)

        # Acted: the campaign's page counts the city, and reminders skip it.
        assert maricopa.id in audience.acted_city_ids(session, campaign.id or 0, stage.key)
        found = stats.campaign_stats(session, session.get(Campaign, campaign.id) or campaign)
        assert found.letters_by_status == {"awaiting_approval": 1} and found.pending_reviews == 1
        assert found.cities_acted == 1 and found.letter_rows == [("awaiting_approval", HELD, 1)]
        reminder = wizard.send_reminder(session, campaign.id or 0, staff)
        mailer = MemoryMailer()
        alerts.process_run(session, reminder.id or 0, mailer=mailer)
        reminded = {p.to[0].email for email in mailer.sent for p in email.personalizations}
        assert waiting.email in reminded and signer.email not in reminded

        # The participation grid: acted, not sent.
        grid = states(session, [campaign.id or 0], [maricopa.id or 0, avenal.id or 0])
        assert grid[(campaign.id or 0, maricopa.id or 0)] is CityState.HELD_FOR_REVIEW in ACTED
        assert grid[(campaign.id or 0, avenal.id or 0)] is CityState.NOT_STARTED

        # Records: found by its status, exported with it.
        wanted = records.parse_filter(status="awaiting_approval")
        found_records = records.search(session, session.get(User, signer.id) or signer, wanted)
        assert [r.letter.id for r in found_records] == [letter.id]
        assert ",awaiting_approval," in records.to_csv(found_records)

    login(client, signer)
    page = client.get("/letters?status=awaiting_approval")
    assert page.status_code == 200 and f"/letters/{letter.id}" in page.text
    assert "Awaiting approval" in page.text  # the status filter offers it


def _approval_campaign_on(bill_id: int, staff: User, city: str) -> int:
    with session_scope() as session:
        campaign = wizard.start_campaign(session, wizard.BillStep(bill_id=bill_id), staff)
        wizard.update_audience(session, campaign.id or 0, division_ids=[], cities=[city], roles=[])
        wizard.update_deadline(
            session,
            campaign.id or 0,
            wizard.DeadlineStep(override_date=date.today() + timedelta(days=10), requires_approval=True),
        )
        wizard.launch(session, campaign.id or 0, staff)
        return campaign.id or 0


def test_when_the_bill_moves_on_a_held_letter_is_superseded_and_its_signer_asked_again(
    client: Any,
    memory_mailer: MemoryMailer,
    staff: User,
    own_bill: Callable[..., Any],
    make_official: Callable[..., User],
) -> None:
    signer = make_official("Huron", may_sign=True)
    bill = own_bill()
    campaign_id = _approval_campaign_on(bill.id, staff, "Huron")
    with session_scope() as session:
        held = letters.send_letter(session, campaign_id, session.get(User, signer.id) or signer, "Our canal.")
        assert held.status is LetterStatus.AWAITING_APPROVAL
        review_id = review_id_of(held.id or 0)
        report = agenda.update_agenda(
            session, bill.id, agenda.AgendaInput(label="", version_date=date(2026, 5, 4)), staff
        )
        assert "1 letter(s) to re-confirm" in report.stage_changes[0]
        old = session.get(Letter, held.id)
        assert old is not None and old.status is LetterStatus.SUPERSEDED
        review = session.get(LetterReview, review_id)
        assert review is not None and review.status == ReviewStatus.SUPERSEDED
        assert held.id not in {row.letter.id for row in approval.queue(session)}
        with pytest.raises(approval.ReviewError, match="already superseded"):
            approval.approve(session, review_id, staff)
        request = session.exec(select(ReconfirmRequest).where(ReconfirmRequest.old_letter_id == held.id)).one()
        run = session.exec(
            select(AlertRun).where(AlertRun.campaign_id == campaign_id).order_by(col(AlertRun.id).desc())
        ).first()
        assert run is not None
        alerts.process_run(session, run.id or 0, mailer=memory_mailer)
    [mail] = [m for m in memory_mailer.sent if "re-confirm" in m.subject]
    path = re.sub(r"^https?://[^/]+", "", mail.personalizations[0].substitutions["-action_link-"])
    page = client.get(path)
    assert page.status_code == 200 and "Our canal." in page.text
    pressed = client.post(path, data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert pressed.status_code == 303
    with session_scope() as session:
        request = session.get(ReconfirmRequest, request.id) or request
        new = session.get(Letter, request.confirmed_letter_id)
        # Re-confirmed in a campaign with the approval queue: held again, at the new stage.
        assert new is not None and new.id != held.id and new.status is LetterStatus.AWAITING_APPROVAL
        assert new.stage.endswith("@2026-05-04") and new.local_note == "Our canal."
        assert approval.review_of(session, new.id or 0) is not None
    done = client.get(path)
    assert "held for league review before delivery" in done.text
    following = client.get(pressed.headers["location"])
    assert following.status_code == 200 and HELD in following.text


def test_the_approval_queue_pages_and_api_are_staff_only(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Calipatria", may_sign=True)
    campaign = launched(make_campaign, staff, "Calipatria")
    with session_scope() as session:
        letter = letters.send_letter(session, campaign.id or 0, session.get(User, signer.id) or signer, "")
    review_id = review_id_of(letter.id or 0)
    login(client, signer)
    assert client.get("/console/reviews", follow_redirects=False).status_code == 403
    refused = client.post(
        f"/console/reviews/{review_id}", data={"_csrf_token": csrf_token(client), "action": "approve"}
    )
    assert refused.status_code == 403
    assert the_letter(campaign.id or 0).status is LetterStatus.AWAITING_APPROVAL
    with session_scope() as session:
        headers = bearer(api_token(session, staff))
    found = client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=headers).json()
    assert found["letters_by_status"] == {"awaiting_approval": 1}
    schema = json.dumps(client.get("/schema/openapi.json").json())
    assert "awaiting_approval" in schema and "review_comment" in schema


def test_a_lost_return_notice_is_sent_by_the_sweep_once(
    client: Any,
    worker: Any,
    sendgrid: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    import dramatiq

    from advocacy.campaigns.approval import RETURN_NOTICE_STUCK, sweep_return_notices

    signer = make_official("Sutter Creek", may_sign=True)
    campaign = launched(make_campaign, staff, "Sutter Creek")
    login(client, signer)
    press_send(client, campaign.id or 0, "")
    worker.drain()  # the launch's alerts
    letter = the_letter(campaign.id or 0)
    review_id = review_id_of(letter.id or 0)
    broker = dramatiq.get_broker()
    enqueue = broker.enqueue

    def lost_on_alerts(message: Any, *, delay: int | None = None) -> Any:
        # A broker outage: the notice's message is gone. Dropped here, not flushed after the fact: the running
        # worker is woken by the enqueue and would take the message before a flush.
        return message if message.queue_name == "alerts" else enqueue(message, delay=delay)

    broker.enqueue = lost_on_alerts  # type: ignore[method-assign]
    try:
        with session_scope() as session:
            approval.return_letter(session, review_id, staff, "Add a sentence on our downtown.")
    finally:
        del broker.enqueue  # the class's own method again

    def notices() -> list[dict[str, Any]]:
        return [p for p in sendgrid.accepted if "letter-returned" in p.get("categories", [])]

    with session_scope() as session:
        assert sweep_return_notices(session) == 0  # too fresh: its message may still be on its way
        review = session.get(LetterReview, review_id)
        assert review is not None and review.signer_notified_at is None
        review.decided_at = utcnow() - 2 * RETURN_NOTICE_STUCK
        session.add(review)
        session.commit()
        assert sweep_return_notices(session) == 1
    worker.drain()
    assert len(notices()) == 1 and "downtown" in str(notices()[0]["content"])
    with session_scope() as session:
        assert sweep_return_notices(session) == 0
