"""CitiPAC's background work, on the ``citipac`` queue: e-mail receipts, information requests and notices.

``send_citipac_message`` takes a message id and is idempotent: a message already sent (or failed for good) is left
alone, and a claim on the message's attempt count keeps two workers from both sending it. The sweep creates the
information requests each day makes due (each step at most once, by a unique key) and re-sends nudges for e-mail
whose worker message was lost.
"""

from __future__ import annotations

import logging

import dramatiq
from sqlmodel import Session

from advocacy import broker as _broker  # noqa: F401  (the broker is set before any actor is declared)
from advocacy.citipac import receipts, service
from advocacy.citipac.config import get_citipac_settings
from advocacy.db import session_scope
from advocacy.jobs import sweep_task
from advocacy.mail import MailError, get_mailer

log = logging.getLogger("advocacy.citipac")
QUEUE = "citipac"
MAX_ATTEMPTS = 6


@dramatiq.actor(
    queue_name=QUEUE, time_limit=120_000, max_retries=MAX_ATTEMPTS, min_backoff=15_000, max_backoff=3_600_000
)
def send_citipac_message(message_id: int) -> None:
    with session_scope() as session:
        parts = service.claim_message(session, message_id)
        if parts is None:
            return
        try:
            email = receipts.build_email(parts)
            provider_id = get_mailer().send(email)
        except MailError as exc:
            final = not exc.retryable or parts.message.attempts >= MAX_ATTEMPTS
            service.mark_message_failed(session, message_id, exc.reason, final=final)
            if final:
                log.warning("citipac message %s failed: %s", message_id, exc.reason)
                return
            raise dramatiq.Retry(exc.reason, delay=int((exc.retry_after or 30) * 1000)) from None
        service.mark_message_sent(session, message_id, provider_id, parts.paid_for)


def enqueue(message_ids: list[int]) -> None:
    for message_id in message_ids:
        send_citipac_message.send(message_id)


@sweep_task("citipac")
def sweep_citipac(session: Session) -> int:
    """Create today's information requests and nudge e-mail that has waited too long; returns nudges sent."""
    created = service.schedule_info_requests(session)
    stuck = service.stuck_messages(session, get_citipac_settings().message_stuck_seconds)
    ids = sorted(set(created) | set(stuck))
    enqueue(ids)
    return len(ids)
