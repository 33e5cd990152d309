"""Testimony e-mails on the ``testimony`` queue: an id in, one send, idempotent (the row's claim decides), and the
sweep that creates due reminders and nudges anything a lost message left behind."""

from __future__ import annotations

from typing import Any

import dramatiq
from sqlmodel import Session

from advocacy import broker as _broker  # noqa: F401  (the broker is set before any actor is declared)
from advocacy.db import session_scope
from advocacy.jobs import sweep_task
from advocacy.mail import get_mailer
from advocacy.testimony import mailing

QUEUE = "testimony"
# A retryable provider error (429, 5xx, timeout) raises out of the send: dramatiq retries with backoff, and the
# sweep nudges again should the retries run out.
_RETRIES: dict[str, Any] = {"max_retries": 8, "min_backoff": 15_000, "max_backoff": 1_800_000, "time_limit": 60_000}


@dramatiq.actor(queue_name=QUEUE, **_RETRIES)
def send_testimony_notice(notice_id: int) -> None:
    with session_scope() as session:
        mailing.send_notice(session, notice_id, mailer=get_mailer())


@dramatiq.actor(queue_name=QUEUE, **_RETRIES)
def send_testimony_reminder(reminder_id: int) -> None:
    with session_scope() as session:
        mailing.send_reminder(session, reminder_id, mailer=get_mailer())


@sweep_task("testimony")
def sweep_testimony(session: Session) -> int:
    return mailing.sweep(session).nudges
