"""Background steps of a letter, on the ``letters`` queue: ids in, one service call, the next step enqueued.

``render_letter`` renders and delivers a fresh letter in one message; ``deliver_letter`` is the step for retries
after the provider asked to wait (429, 5xx, timeouts) and for the sweep's nudges. In a worker process both hand
their provider calls to the process's sender threads (``sender.py``) once the claim is committed.

Every actor is idempotent (the service checks the letter's status first), so a redelivered message or a sweep
nudge for work already done does nothing. Retry timings come from the settings when a message is sent, so tests
and operators can change them without re-declaring actors.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import dramatiq
from sqlmodel import Session

from advocacy import broker as _broker  # the broker is set before any actor is declared
from advocacy.db import session_scope
from advocacy.jobs import sweep_task
from advocacy.letters import delivery, notices, sender
from advocacy.mail import get_mailer
from advocacy.settings import get_settings

QUEUE = "letters"
# An official watches a sent letter's status live: an idle worker picks it up within a tenth of a second instead of
# up to the worker timeout (1 s) of dramatiq's backoff. Ten Redis calls a second per idle worker process.
_broker.poll_promptly(QUEUE, every_ms=100)
_settings = get_settings()
# dramatiq's own cap sits above ours: the letter's send_attempts (in the database) decides when to give up, and
# survives redeliveries and sweep nudges, which dramatiq's per-message count does not.
_RETRY_OPTIONS: dict[str, Any] = {
    "max_retries": _settings.letter_max_send_attempts + 2,
    "min_backoff": _settings.letter_retry_min_backoff_ms,
    "max_backoff": _settings.letter_retry_max_backoff_ms,
}


@dramatiq.actor(queue_name=QUEUE, time_limit=120_000, **_RETRY_OPTIONS)
def render_letter(letter_id: int) -> None:
    with session_scope() as session:
        try:
            delivery.render_letter(session, letter_id, mailer=get_mailer(), hand_off=sender_hand_off())
        except delivery.RetryLater as retry:
            # The PDF is stored and the letter is rendered: only the delivery waits, in a message of its own.
            send_deliver(letter_id, retry.delay_ms)


@dramatiq.actor(queue_name=QUEUE, time_limit=120_000, **_RETRY_OPTIONS)
def deliver_letter(letter_id: int) -> None:
    with session_scope() as session:
        try:
            delivery.deliver_letter(session, letter_id, mailer=get_mailer(), hand_off=sender_hand_off())
        except delivery.RetryLater as retry:
            # dramatiq's Retries middleware re-enqueues after this delay (>= the provider's Retry-After).
            raise dramatiq.Retry(str(retry), delay=retry.delay_ms) from None


def sender_hand_off() -> delivery.HandOff | None:
    """Where the provider calls go: this process's sender threads if worker.py installed them."""
    threads = sender.installed()
    if threads is None:
        return None
    return lambda sending: threads.submit(partial(send_in_thread, sending))


def send_in_thread(sending: delivery.Sending) -> None:
    """A handed-off letter's provider calls, in a session of the sender thread's own."""
    with session_scope() as session:
        try:
            sending.run(session, get_mailer())
        except delivery.RetryLater as retry:
            # The message that claimed the letter is long acknowledged: the retry is a message of its own.
            send_deliver(sending.letter_id, retry.delay_ms)


@dramatiq.actor(queue_name=QUEUE, time_limit=60_000, max_retries=5, min_backoff=5_000)
def notify_signers(signature_request_id: int) -> None:
    with session_scope() as session:
        notices.send_signature_request(session, signature_request_id, mailer=get_mailer())


def send_deliver(letter_id: int, delay_ms: int | None = None) -> None:
    """Enqueue ``deliver_letter`` with the retry timings the settings hold now."""
    settings = get_settings()
    deliver_letter.send_with_options(
        args=(letter_id,),
        delay=delay_ms,
        max_retries=settings.letter_max_send_attempts + 2,
        min_backoff=settings.letter_retry_min_backoff_ms,
        max_backoff=settings.letter_retry_max_backoff_ms,
    )


@sweep_task("letters")
def sweep_letters(session: Session) -> int:
    return delivery.sweep_letters(session)
