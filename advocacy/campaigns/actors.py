"""Background work of the campaign console, on the ``alerts`` queue: ids in, one service call.

``send_alert_run`` is idempotent (a finished run does nothing, a half-sent one carries on), and the sweep takes
back batches a killed worker held and nudges runs that stopped making progress.
"""

from __future__ import annotations

import dramatiq
from sqlmodel import Session

from advocacy import broker as _broker  # noqa: F401  (the broker is set before any actor is declared)
from advocacy.campaigns import alerts, approval
from advocacy.db import session_scope
from advocacy.jobs import sweep_task
from advocacy.mail import get_mailer

QUEUE = "alerts"


@dramatiq.actor(queue_name=QUEUE, time_limit=30 * 60_000, max_retries=10, min_backoff=5_000, max_backoff=600_000)
def send_alert_run(run_id: int) -> None:
    with session_scope() as session:
        try:
            alerts.process_run(session, run_id, mailer=get_mailer())
        except alerts.AlertRetry as retry:
            raise dramatiq.Retry(str(retry), delay=retry.delay_ms) from None


@dramatiq.actor(queue_name=QUEUE, time_limit=60_000, max_retries=5, min_backoff=5_000)
def notify_returned(review_id: int) -> None:
    """Tell a signer that staff returned their letter (once: a redelivered message finds it sent)."""
    with session_scope() as session:
        approval.send_return_notice(session, review_id, mailer=get_mailer())


@sweep_task("letter-return-notices")
def sweep_return_notices(session: Session) -> int:
    return approval.sweep_return_notices(session)


@sweep_task("campaign-alerts")
def sweep_alerts(session: Session) -> int:
    return alerts.sweep_runs(session)
