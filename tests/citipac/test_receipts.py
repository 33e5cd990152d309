"""Receipts (a real WeasyPrint PDF read back with pypdf), the worker that e-mails them, the information-request
schedule run by the sweep, and the "Paid for by" rule for mass mailings."""

from __future__ import annotations

import base64
import io
from datetime import date, datetime, timedelta
from typing import Any

import pypdf
from sqlmodel import select

from advocacy.accounts.models import User
from advocacy.citipac import actors, receipts, service
from advocacy.citipac.models import CitipacMessage, MessageKind, MessageStatus
from advocacy.db import session_scope, utcnow
from advocacy.jobs import registered_sweep_tasks
from advocacy.mail import Email, MailError, MemoryMailer, SendGridMailer, reset_mailer
from tests.citipac.conftest import new_contributor, record


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def mail_to(mailer: MemoryMailer, address: str) -> list[Email]:
    return [m for m in mailer.sent if any(a.email == address for p in m.personalizations for a in p.to)]


def messages_of(contributor_id: int) -> list[CitipacMessage]:
    with session_scope() as session:
        return list(
            session.exec(
                select(CitipacMessage)
                .where(CitipacMessage.contributor_id == contributor_id)
                .order_by(CitipacMessage.id)
            ).all()
        )


def test_the_receipt_pdf_says_who_paid_for_it_and_what_was_received(treasurer: User) -> None:
    c = new_contributor(treasurer, complete=False, street="7 Vine St", city="Chico", zip_code="95926")
    entry = record(
        treasurer, c.id, "250.00", date(2030, 9, 9), reference="Check 1042", earmark="Yes on Prop 99 committee"
    ).entry
    data = receipts.receipt_pdf(entry, c, 25000, missing=("occupation", "employer"))
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == f"CitiPAC receipt {entry.tran_id}"
    text = " ".join(pdf_text(data).split())
    for expected in (
        "Contribution receipt",
        "Paid for by CitiPAC",
        "Public funds may not be used for political purposes.",
        c.display_name,
        "7 Vine St, Chico, CA 95926",
        "September 9, 2030",
        "$250.00",
        "Check (Check 1042)",
        "Yes on Prop 99 committee",
        entry.tran_id,
        "We do not yet have your occupation, employer",
        "November 8, 2030",
        "§85700",
    ):
        assert expected in text, expected


def test_the_worker_e_mails_the_receipt_once(treasurer: User, mailer: MemoryMailer, worker: Any) -> None:
    address = f"receipt-{treasurer.id}@example.org"
    c = new_contributor(treasurer, email=address)
    result = record(treasurer, c.id, "40.00", date(2030, 10, 1))
    worker.drain()
    sent = mail_to(mailer, address)
    assert len(sent) == 1
    email = sent[0]
    assert email.sender.email == "citipac@pac.advocacy.example.org"
    assert "Paid for by CitiPAC" in email.text and "$40.00" in email.subject
    assert email.attachments[0].filename == f"citipac-receipt-{result.entry.tran_id}.pdf"
    assert "Paid for by CitiPAC" in pdf_text(email.attachments[0].content)
    [message] = messages_of(c.id)
    assert message.status is MessageStatus.SENT and message.paid_for_disclaimer and message.provider_message_id
    actors.send_citipac_message(message.id)  # a redelivered message: nothing more is sent
    actors.send_citipac_message(10**9)  # an id that does not exist: nothing happens
    assert len(mail_to(mailer, address)) == 1


def test_a_refused_e_mail_fails_for_good_and_can_be_retried(treasurer: User) -> None:
    class Refusing:
        def send(self, email: Email) -> str:
            raise MailError("SendGrid refused the message (400): bad address", status=400, retryable=False)

    c = new_contributor(treasurer, email="refused@example.org")
    record(treasurer, c.id, "10.00", date(2030, 10, 2))
    [message] = messages_of(c.id)
    reset_mailer(Refusing())  # type: ignore[arg-type]
    try:
        actors.send_citipac_message(message.id)
    finally:
        reset_mailer(None)
    with session_scope() as session:
        failed = session.get(CitipacMessage, message.id)
        assert failed is not None and failed.status is MessageStatus.FAILED and "bad address" in failed.error
        assert any(m.id == message.id for m, _ in service.treasurer_queue(session, treasurer).failed_messages)
        retried = service.retry_message(session, treasurer, message.id)
        assert retried.status is MessageStatus.PENDING and retried.error == ""


def test_receipts_go_through_the_real_sendgrid_client(treasurer: User, fake_sendgrid: Any) -> None:
    address = f"sg-{treasurer.id}@example.org"
    c = new_contributor(treasurer, email=address)
    record(treasurer, c.id, "20.00", date(2030, 10, 3))
    [message] = messages_of(c.id)
    reset_mailer(SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url))
    try:
        actors.send_citipac_message(message.id)
    finally:
        reset_mailer(None)
    [payload] = fake_sendgrid.accepted
    assert payload["personalizations"][0]["to"] == [{"email": address, "name": c.display_name}]
    assert payload["categories"] == ["citipac", "receipt"]
    attachment = payload["attachments"][0]
    assert attachment["type"] == "application/pdf"
    assert base64.b64decode(attachment["content"]).startswith(b"%PDF")


def test_information_requests_follow_the_schedule_at_most_once_per_step(treasurer: User) -> None:
    c = new_contributor(
        treasurer,
        complete=False,
        street="1 Oak St",
        city="Davis",
        zip_code="95616",
        email=f"steps-{treasurer.id}@example.org",
    )
    received = date(2031, 2, 1)
    entry = record(treasurer, c.id, "120.00", received, today=received).entry
    assert [m.step for m in messages_of(c.id) if m.kind is MessageKind.INFO_REQUEST] == [0]
    schedule = [(0, []), (19, []), (20, [1]), (20, []), (39, []), (40, [2]), (55, [3]), (60, []), (61, [])]
    for day, expected_steps in schedule:
        with session_scope() as session:
            created = service.schedule_info_requests(session, received + timedelta(days=day))
            steps = [
                session.get(CitipacMessage, i).step
                for i in created
                if session.get(CitipacMessage, i).contributor_id == c.id  # type: ignore[union-attr]
            ]  # type: ignore[union-attr]
        assert steps == expected_steps, day
    keys = sorted(m.key for m in messages_of(c.id) if m.kind is MessageKind.INFO_REQUEST)
    assert keys == [f"info_request:{entry.id}:{step}" for step in range(4)]


def test_a_late_sweep_sends_only_the_latest_step(treasurer: User) -> None:
    c = new_contributor(
        treasurer,
        complete=False,
        street="1 Oak St",
        city="Davis",
        zip_code="95616",
        email=f"late-{treasurer.id}@example.org",
    )
    received = date(2031, 3, 1)
    record(treasurer, c.id, "120.00", received, today=received + timedelta(days=45))  # recorded late, day 45
    assert [m.step for m in messages_of(c.id) if m.kind is MessageKind.INFO_REQUEST] == [2]


def test_the_sweep_task_is_registered_and_nudges_pending_mail(treasurer: User) -> None:
    assert "citipac" in registered_sweep_tasks()
    c = new_contributor(treasurer, email=f"nudge-{treasurer.id}@example.org")
    record(treasurer, c.id, "10.00", date(2030, 10, 4))
    [message] = messages_of(c.id)
    with session_scope() as session:
        assert message.id not in service.stuck_messages(session, 600)
        assert message.id in service.stuck_messages(session, -60)
        nudged = actors.sweep_citipac(session)
    assert nudged >= 0


def test_info_request_and_paid_for_once_more_than_200_went_out_this_month(
    treasurer: User, mailer: MemoryMailer
) -> None:
    address = f"mass-{treasurer.id}@example.org"
    c = new_contributor(treasurer, complete=False, street="1 Oak St", city="Davis", zip_code="95616", email=address)
    today = service.today_in_california()
    record(treasurer, c.id, "150.00", today, today=today)
    [request] = [m for m in messages_of(c.id) if m.kind is MessageKind.INFO_REQUEST]
    now = utcnow()
    with session_scope() as session:
        already = service.sent_this_month(session, MessageKind.INFO_REQUEST, now)
        for n in range(max(0, 200 - already)):
            session.add(
                CitipacMessage(
                    kind=MessageKind.INFO_REQUEST,
                    key=f"mass-{c.id}-{n}",
                    contributor_id=c.id,
                    to_email="someone@example.org",
                    status=MessageStatus.SENT,
                    sent_at=datetime(now.year, now.month, 1, 0, 0, 1),
                )
            )
        session.commit()
    actors.send_citipac_message(request.id)
    [email] = [m for m in mail_to(mailer, address) if "needs your" in m.subject]
    assert "occupation, employer" in email.subject
    assert "Paid for by CitiPAC" in email.text and "§85700" in email.text
    with session_scope() as session:
        assert session.get(CitipacMessage, request.id).paid_for_disclaimer  # type: ignore[union-attr]
