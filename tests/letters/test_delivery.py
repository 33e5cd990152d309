"""Delivery against the fake SendGrid: retries (429 with Retry-After, 5xx, timeouts) deliver exactly once; a 400
is final with its reason and staff are alerted; past the retry cap deliveries fail visibly; redelivered actor
messages and duplicate deliver runs do nothing twice."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import event, text
from sqlmodel import select

from advocacy.campaigns.models import Campaign
from advocacy.db import get_engine, session_scope, utcnow
from advocacy.letters import actors, delivery
from advocacy.letters.models import Channel, Delivery, DeliveryStatus, Letter, LetterStatus
from advocacy.letters.service import RefusedMove, send_letter
from advocacy.mail import Email, MemoryMailer, SendGridMailer
from tests.letters.conftest import STAFF_ALERTS


def send(make_campaign: Any, make_official: Any) -> int:
    campaign, mayor = make_campaign("SB 1256"), make_official()
    with session_scope() as session:
        return send_letter(session, campaign.id, mayor, "").id or 0


def letter_and_emails(letter_id: int) -> tuple[Letter, list[Delivery]]:
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        emails = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.channel == Channel.EMAIL)
        ).all()
        return letter, list(emails)


def calls_for(fake: Any, letter_id: int) -> list[Any]:
    return [r for r in fake.requests if f'"letter_id": "{letter_id}"' in r.body.decode()]


def alerts(fake: Any) -> list[dict[str, Any]]:
    return [p for p in fake.accepted if p["personalizations"][0]["to"][0]["email"] == STAFF_ALERTS]


def test_429_honouring_retry_after_then_5xx_then_202_delivers_once(
    worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    sendgrid.script(429, 500, 503, retry_after=1)
    started = time.monotonic()
    letter_id = send(make_campaign, make_official)
    worker.drain()
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.SENT and letter.send_attempts == 4
    assert all(d.status is DeliveryStatus.ACCEPTED and d.attempts == 4 and d.error == "" for d in emails)
    assert [r.status for r in calls_for(sendgrid, letter_id)] == [429, 500, 503, 202]
    assert len([p for p in sendgrid.accepted if p in [r.json() for r in calls_for(sendgrid, letter_id)]]) == 1
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After: 1 was honoured
    assert not alerts(sendgrid)


def test_a_timeout_is_retried_and_delivers_once(
    worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    # The first request gets no answer within the client's 1 s timeout (and is then refused, as a real timeout
    # that never reached SendGrid would be); the retry is accepted.
    sendgrid.hang(2.5)
    sendgrid.script(500)
    letter_id = send(make_campaign, make_official)
    worker.drain()
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.SENT and letter.send_attempts == 2
    deadline = time.monotonic() + 5
    while len(calls_for(sendgrid, letter_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the fake records the hung request only when it finally answers it
    assert sorted(r.status for r in calls_for(sendgrid, letter_id)) == [202, 500]
    assert all(d.status is DeliveryStatus.ACCEPTED for d in emails)


def test_400_is_final_with_its_reason_and_staff_alerted(
    worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    sendgrid.script(400)
    letter_id = send(make_campaign, make_official)
    worker.drain()
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.FAILED and letter.send_attempts == 1
    assert "SendGrid refused the message (400)" in letter.error
    assert all(d.status is DeliveryStatus.FAILED and "(400)" in d.error for d in emails)
    assert len(calls_for(sendgrid, letter_id)) == 1  # never retried
    [alert] = alerts(sendgrid)
    assert f"Letter {letter_id}" in alert["subject"] and "(400)" in alert["content"][0]["value"]


def test_past_the_retry_cap_deliveries_fail_and_show_it(
    worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any, fast_letters: Any
) -> None:
    sendgrid.script(*([503] * fast_letters.letter_max_send_attempts))
    letter_id = send(make_campaign, make_official)
    worker.drain()
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.FAILED
    assert letter.send_attempts == fast_letters.letter_max_send_attempts
    assert all(d.status is DeliveryStatus.FAILED and d.error.startswith("Gave up after 4 attempts") for d in emails)
    assert len(calls_for(sendgrid, letter_id)) == 4 and len(alerts(sendgrid)) == 1


def test_redelivered_messages_do_nothing_twice(
    worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    letter_id = send(make_campaign, make_official)
    worker.drain()
    first, _ = letter_and_emails(letter_id)
    assert first.status is LetterStatus.SENT
    # The broker hands both messages out again (at-least-once delivery), twice.
    for _ in range(2):
        actors.render_letter.send(letter_id)
        actors.send_deliver(letter_id)
    worker.drain()
    again, emails = letter_and_emails(letter_id)
    assert len(calls_for(sendgrid, letter_id)) == 1
    assert (again.pdf_path, again.pdf_sha256, again.send_attempts, again.version) == (
        first.pdf_path,
        first.pdf_sha256,
        first.send_attempts,
        first.version,
    )
    assert all(d.attempts == 1 for d in emails)


class BlockingMailer(MemoryMailer):
    """Holds every send until released: a provider call that is still under way."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, email: Email) -> str:
        self.entered.set()
        assert self.release.wait(10)
        return super().send(email)


def test_a_second_deliver_run_during_the_call_sends_nothing(
    make_campaign: Any, make_official: Any, memory_mailer: Any
) -> None:
    letter_id = send(make_campaign, make_official)
    with session_scope() as session:
        assert delivery.render_letter(session, letter_id)
    mailer = BlockingMailer()

    def run() -> None:
        with session_scope() as session:
            delivery.deliver_letter(session, letter_id, mailer=mailer)

    first = threading.Thread(target=run)
    first.start()
    assert mailer.entered.wait(10)
    run()  # the duplicate: its deliveries are claimed ("sending", not stale) by the first run
    mailer.release.set()
    first.join(10)
    assert len(mailer.sent) == 1
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.SENT and all(d.status is DeliveryStatus.ACCEPTED for d in emails)


def test_backoff_grows_and_never_undercuts_retry_after(fast_letters: Any) -> None:
    assert [delivery.backoff_ms(n, None) for n in (1, 2, 3, 4, 5)] == [50, 100, 200, 400, 400]
    assert delivery.backoff_ms(1, 30) == 30_001


def test_two_workers_rendering_at_once_keep_one_pdf(make_campaign: Any, make_official: Any) -> None:
    letter_id = send(make_campaign, make_official)
    with session_scope() as late:
        assert late.get(Letter, letter_id) is not None  # the late worker read the letter while it was queued
        with session_scope() as early:
            assert delivery.render_letter(early, letter_id)
        assert not delivery.render_letter(late, letter_id)  # it renders too, then loses at commit
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.RENDERED and letter.pdf_path
        assert delivery.storage_path(letter.pdf_path).read_bytes().startswith(b"%PDF")
        files = list(delivery.storage_path(letter.pdf_path).parent.glob(f"{letter_id}-*.pdf"))
        assert files == [delivery.storage_path(letter.pdf_path)]


def test_a_worker_that_lost_the_race_claims_nothing_and_sends_nothing(
    sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    """The late worker read the letter and its deliveries while they were queued and pending; by its claim, the
    early worker has rendered, claimed and sent them. The version check stops the late claim before it touches a
    delivery (on PostgreSQL the deliveries' UPDATE is gated on the letter's in one statement)."""
    letter_id = send(make_campaign, make_official)
    mailer = SendGridMailer(sendgrid.api_key, sendgrid.url)
    with session_scope() as late:
        held = late.get(Letter, letter_id), delivery.deliveries_of(late, letter_id)  # held: the identity map is weak
        assert held[0] is not None and held[0].status is LetterStatus.QUEUED
        assert held[1] and all(d.status is DeliveryStatus.PENDING for d in held[1] if d.channel is Channel.EMAIL)
        with session_scope() as early:
            delivery.render_letter(early, letter_id, mailer=mailer)
        assert not delivery.render_letter(late, letter_id, mailer=mailer)

    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.SENT and letter.send_attempts == 1
    assert emails and all(d.status is DeliveryStatus.ACCEPTED and d.attempts == 1 for d in emails)
    assert len(calls_for(sendgrid, letter_id)) == 1
    files = list(delivery.storage_path(letter.pdf_path).parent.glob(f"{letter_id}-*.pdf"))
    assert files == [delivery.storage_path(letter.pdf_path)]


def test_the_render_step_writes_its_letter_and_claim_in_one_statement_on_postgresql(
    sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    """After rendering, the letter's new state and the claim of its e-mails are one statement on PostgreSQL (one
    round trip for the render thread, and no flush of the ORM); two elsewhere. What they write is read back."""
    letter_id = send(make_campaign, make_official)
    with session_scope() as session:
        queued = session.get(Letter, letter_id)
        assert queued is not None
        version = queued.version
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    handed: list[delivery.Sending] = []
    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        with session_scope() as session:
            mailer = SendGridMailer(sendgrid.api_key, sendgrid.url)
            assert not delivery.render_letter(session, letter_id, mailer=mailer, hand_off=handed.append)
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)

    writes = [s for s in statements if not s.startswith("SELECT")]
    if get_engine().dialect.name == "postgresql":
        [statement] = writes
        assert statement.startswith("WITH letter_update AS (UPDATE letter SET") and ") UPDATE delivery SET" in statement
    else:
        assert [s.split()[:2] for s in writes] == [["UPDATE", "letter"], ["UPDATE", "delivery"]]
    [sending] = handed  # the provider call, handed to a sender thread: not made here
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.RENDERED and letter.version == version + 1 and letter.send_attempts == 1
    assert letter.rendered_at and letter.pdf_path and letter.pdf_sha256 and letter.next_step_at == letter.rendered_at
    assert delivery.storage_path(letter.pdf_path).read_bytes().startswith(b"%PDF")
    assert emails and all(d.status is DeliveryStatus.SENDING and d.attempts == 1 for d in emails)
    # The step's objects hold what was written, so the sender thread's session has nothing stale to flush.
    assert (sending.letter.version, sending.letter.status) == (letter.version, letter.status)
    assert {(d.id, d.status, d.attempts) for d in sending.deliveries if d.channel is Channel.EMAIL} == {
        (d.id, d.status, d.attempts) for d in emails
    }
    assert not calls_for(sendgrid, letter_id)


def pdf_text_of(letter: Letter) -> str:
    data = delivery.storage_path(letter.pdf_path or "").read_bytes()
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_pdf_is_the_letter_as_sent_not_as_staff_edited_it_later(make_campaign: Any, make_official: Any) -> None:
    letter_id = send(make_campaign, make_official)
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.document  # stored when it was queued
        campaign = session.get(Campaign, letter.campaign_id)
        assert campaign is not None
        campaign.talking_points = "A point staff wrote after the mayor pressed Send."
        session.add(campaign)
        session.commit()
        assert delivery.render_letter(session, letter_id)
        text = pdf_text_of(letter)
    assert "Keeps decisions about local land use with local councils." in text
    assert "after the mayor pressed Send" not in text


def test_the_stored_document_is_the_one_the_data_compose(make_campaign: Any, make_official: Any) -> None:
    """What Send stores equals what the worker would compose from the letter, its deliveries and the data; a letter
    queued before documents were stored (empty ``document``) is composed and renders as before."""
    letter_id = send(make_campaign, make_official)
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        stored = delivery.letter_document(session, letter)
        letter.document = ""
        session.add(letter)
        session.commit()
        assert delivery.letter_document(session, letter) == stored
        assert delivery.render_letter(session, letter_id)
        assert stored.signer.name in pdf_text_of(letter)


def test_moving_many_deliveries_checks_every_move_and_writes_them_at_once(
    make_campaign: Any, make_official: Any
) -> None:
    letter_id = send(make_campaign, make_official)
    with session_scope() as session:
        emails = [d for d in delivery.deliveries_of(session, letter_id) if d.channel is Channel.EMAIL]
        with pytest.raises(RefusedMove, match="pending → accepted is not allowed"):
            delivery.move_deliveries(session, emails, DeliveryStatus.ACCEPTED, utcnow(), message_id="x")
        session.rollback()
        delivery.move_deliveries(session, emails, DeliveryStatus.SENDING, utcnow(), count_attempt=True)
        assert not session.dirty  # the loaded objects read as written: nothing left for a flush
        assert {(d.status, d.attempts) for d in emails} == {(DeliveryStatus.SENDING, 1)}
        session.commit()
    _, stored = letter_and_emails(letter_id)
    assert {(d.status, d.attempts) for d in stored} == {(DeliveryStatus.SENDING, 1)}


class ActsAfterTheCall(SendGridMailer):
    """The real client against the fake; ``after_call`` runs once SendGrid has answered, before the step goes on."""

    def __init__(self, fake: Any) -> None:
        super().__init__(fake.api_key, fake.url, timeout=1.0)

    def send(self, email: Email) -> str:
        message_id = super().send(email)
        self.after_call()
        return message_id

    def after_call(self) -> None:
        raise NotImplementedError


class LetterTouchedDuringTheCall(ActsAfterTheCall):
    """While the call is under way something else writes the letter (its version moves on), as a sweep nudge after
    a long stall would."""

    def __init__(self, fake: Any, letter_id: int) -> None:
        super().__init__(fake)
        self.letter_id = letter_id

    def after_call(self) -> None:
        with get_engine().begin() as connection:
            connection.execute(text("UPDATE letter SET version = version + 1 WHERE id = :id"), {"id": self.letter_id})


def test_accepted_calls_are_recorded_even_when_the_letter_cannot_settle_and_the_sweep_never_resends_them(
    sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    letter_id = send(make_campaign, make_official)
    with session_scope() as session:
        delivery.render_letter(session, letter_id, mailer=LetterTouchedDuringTheCall(sendgrid, letter_id))

    letter, emails = letter_and_emails(letter_id)
    assert len(calls_for(sendgrid, letter_id)) == 1
    # The deliveries were recorded the moment SendGrid took them; only the letter's own settling lost the race.
    assert emails and all(d.status is DeliveryStatus.ACCEPTED and d.message_id for d in emails)
    assert letter.status is LetterStatus.RENDERED and letter.sent_at is None

    with session_scope() as session:  # what the sweep's nudge runs, once the letter looks stuck
        delivery.deliver_letter(session, letter_id, mailer=SendGridMailer(sendgrid.api_key, sendgrid.url))
    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.SENT and letter.sent_at is not None
    assert len(calls_for(sendgrid, letter_id)) == 1  # settled without a second call


class StatementsAfterTheCall(ActsAfterTheCall):
    """Counts the SQL statements run once SendGrid has answered."""

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.after: list[str] = []
        self.answered = False
        event.listen(get_engine(), "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.answered:
            self.after.append(statement)

    def after_call(self) -> None:
        self.answered = True

    def close(self) -> None:
        event.remove(get_engine(), "before_cursor_execute", self._count)
        super().close()


def test_an_accepted_letter_is_recorded_and_settled_in_one_statement_on_postgresql(
    sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    """The record of the accepted call and the letter's "sent" are one statement on PostgreSQL (one round trip, one
    commit to disk, in a sender thread that takes the GIL from rendering at every round trip); two elsewhere."""
    letter_id = send(make_campaign, make_official)
    mailer = StatementsAfterTheCall(sendgrid)
    try:
        with session_scope() as session:
            delivery.render_letter(session, letter_id, mailer=mailer)
    finally:
        mailer.close()

    letter, emails = letter_and_emails(letter_id)
    assert letter.status is LetterStatus.SENT and letter.sent_at is not None
    assert emails and all(d.status is DeliveryStatus.ACCEPTED and d.message_id for d in emails)
    if get_engine().dialect.name == "postgresql":
        [statement] = [" ".join(s.split()) for s in mailer.after]
        assert statement.startswith("WITH accepted AS (UPDATE delivery") and ") UPDATE letter SET" in statement
    else:
        assert [s.split()[:2] for s in mailer.after] == [["UPDATE", "delivery"], ["UPDATE", "letter"]]


def test_a_letters_deliveries_move_without_touching_an_index(make_campaign: Any, make_official: Any) -> None:
    """docs/architecture.md, "Delivery rows are updated in place": no index of ``delivery`` holds a column its moves
    write, and on PostgreSQL the claim and the acceptance are HOT updates (the new row version on its page)."""
    letter_id = send(make_campaign, make_official)
    table = Delivery.__table__  # type: ignore[attr-defined]
    indexed = {column.name for index in table.indexes for column in index.columns}
    indexed |= {column.name for constraint in table.constraints for column in getattr(constraint, "columns", [])}
    written = {"status", "status_changed_at", "message_id", "attempts", "error", "receipt_number", "submitted_at"}
    assert indexed and not indexed & written, indexed & written
    on_postgresql = get_engine().dialect.name == "postgresql"
    hot = updated = 0
    options: Any = None
    for to, values in ((DeliveryStatus.SENDING, {}), (DeliveryStatus.ACCEPTED, {"message_id": "msg-1"})):
        with session_scope() as session:
            emails = [d for d in delivery.deliveries_of(session, letter_id) if d.channel is Channel.EMAIL]
            assert len(emails) >= 3
            before = xact_updates(session) if on_postgresql else (0, 0)
            sending = to is DeliveryStatus.SENDING
            delivery.move_deliveries(session, emails, to, utcnow(), count_attempt=sending, **values)
            if on_postgresql:
                after = xact_updates(session)
                hot, updated = hot + after[0] - before[0], updated + after[1] - before[1]
                options = session.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'delivery'")).scalar()
            session.commit()
    if on_postgresql:
        # Most, not all: a page shared with other letters' rows can be full before its dead versions are pruned.
        # All 28 here; with pages filled to the brim (no fillfactor) 13 of 28; an index on a moved column: none.
        assert updated == 2 * len(emails) and hot >= 0.75 * updated, (hot, updated)
        assert options == ["fillfactor=70"]


def xact_updates(session: Any) -> tuple[int, int]:
    """HOT and all row updates of ``delivery`` this backend has not yet reported to the statistics."""
    query = text(
        "SELECT pg_stat_get_xact_tuples_hot_updated(oid), pg_stat_get_xact_tuples_updated(oid)"
        " FROM pg_class WHERE relname = 'delivery'"
    )
    hot, updated = session.execute(query).one()
    return hot, updated
