"""Participation e-mails on the ``participation`` queue: an id in, one service call, safe to run twice (a nudge or
digest already sent is left alone), and the weekly digest sweep."""

from __future__ import annotations

from typing import Any

import dramatiq
from sqlmodel import Session

from advocacy import broker as _broker  # noqa: F401  (the broker is set before any actor is declared)
from advocacy.db import session_scope
from advocacy.jobs import sweep_task
from advocacy.mail import get_mailer
from advocacy.participation import service

QUEUE = "participation"
# A retryable provider error raises out of the service: dramatiq retries with backoff; the sweep nudges digests.
_RETRIES: dict[str, Any] = {"max_retries": 6, "min_backoff": 15_000, "max_backoff": 900_000, "time_limit": 60_000}


@dramatiq.actor(queue_name=QUEUE, **_RETRIES)
def send_nudge(nudge_id: int) -> None:
    with session_scope() as session:
        service.send_nudge(session, nudge_id, mailer=get_mailer())


@dramatiq.actor(queue_name=QUEUE, **_RETRIES)
def send_digest(digest_id: int) -> None:
    with session_scope() as session:
        service.send_digest(session, digest_id, mailer=get_mailer())


@sweep_task("participation-digest")
def sweep_digests(session: Session) -> int:
    """Creates this week's digests (once per manager and ISO week) and queues every one not yet sent, including
    those a dead worker left ``sending``."""
    return len(service.create_due_digests(session))


@sweep_task("participation-nudges")
def sweep_nudges(session: Session) -> int:
    """Queues again the nudges whose message was lost (still pending) or whose worker died mid-send (still
    ``sending``) after ``participation_mail_stuck_seconds``."""
    return len(service.requeue_stale_nudges(session))
