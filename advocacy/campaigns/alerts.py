"""Action alerts: the e-mail that asks officials to act, sent by a worker in batches, every alert recorded.

A run (``AlertRun``) is one mailing: the launch alert, a reminder, or the re-confirm requests after the bill changed.
Its recipients are chosen by the worker when it starts (so a reminder skips every city that acted up to that
moment) and recorded as ``Alert`` rows; then up to 1,000 of them at a time are claimed with a conditional UPDATE
(two workers handed the same run never claim the same row), sent in one provider call with one personalization
each, and marked sent with the provider's message id. A provider that asks us to wait (429, 5xx, timeout) gets its
batch back as pending and the actor retries later; a refusal marks that batch failed with the reason.

Launch and reminder alerts are bulk mail: each carries a one-click unsubscribe (RFC 8058: ``List-Unsubscribe`` with
an HTTPS link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``), honoured at once, even for a run already
under way. Re-confirm requests are about the signer's own letter (transactional): no unsubscribe, sent regardless.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, literal, null, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from advocacy.accounts.models import User
from advocacy.campaigns import links
from advocacy.campaigns.audience import acted_cities_select, audience_of, audience_select
from advocacy.campaigns.console_models import (
    Alert,
    AlertOptOut,
    AlertRun,
    AlertStatus,
    CampaignPlan,
    ReconfirmRequest,
    RunKind,
    RunStatus,
)
from advocacy.campaigns.deadlines import format_deadline, time_left
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import bill_of, stage_of
from advocacy.db import after_commit, utcnow
from advocacy.mail import MAX_PERSONALIZATIONS, Address, Email, Mailer, MailError, Personalization, render_email
from advocacy.settings import get_settings

log = logging.getLogger("advocacy.campaigns.alerts")

BATCH_SIZE = MAX_PERSONALIZATIONS  # SendGrid takes at most 1,000 personalizations per call
STUCK_AFTER = timedelta(minutes=10)  # a claimed batch older than this is taken back by the sweep
RECONFIRM_VALID_FOR = timedelta(days=14)  # re-confirm links when the new stage has no deadline yet
TOKENS = {"name": "-official_name-", "link": "-action_link-", "unsubscribe": "-unsubscribe_link-"}


class AlertError(ValueError):
    """A run that cannot start (no deadline, closed campaign …); nothing was changed."""


class AlertRetry(Exception):
    """The provider asked us to wait; the actor retries the run after ``delay_ms``."""

    def __init__(self, reason: str, delay_ms: int) -> None:
        super().__init__(reason)
        self.delay_ms = delay_ms


def base_url() -> str:
    return get_settings().base_url.rstrip("/")


def plan_of(session: Session, campaign_id: int) -> CampaignPlan | None:
    return session.exec(select(CampaignPlan).where(CampaignPlan.campaign_id == campaign_id)).first()


# ----------------------------------------------------------------------------------------------- starting a run


def start_run(session: Session, campaign: Campaign, kind: RunKind, user: User | None, stage_key: str = "") -> AlertRun:
    """Add a run (the caller commits); the worker is nudged after the commit."""
    if kind is not RunKind.RECONFIRM and campaign.deadline is None:
        raise AlertError("Set the campaign's deadline first: alert links are valid until the deadline.")
    if kind is not RunKind.RECONFIRM and campaign.deadline is not None and campaign.deadline <= utcnow():
        raise AlertError("The campaign's deadline has passed: extend it before alerting anyone.")
    run = AlertRun(
        campaign_id=campaign.id or 0,
        kind=kind,
        stage_key=stage_key or stage_of(session, campaign).key,
        created_by_id=user.id if user else None,
    )
    session.add(run)
    session.flush()
    run_id = run.id or 0
    after_commit(session, lambda: enqueue_run(run_id))
    return run


def enqueue_run(run_id: int) -> None:
    from advocacy.campaigns import actors

    actors.send_alert_run.send(run_id)


# ----------------------------------------------------------------------------------------------- the worker step


def process_run(session: Session, run_id: int, *, mailer: Mailer, batch_size: int = BATCH_SIZE) -> int:
    """Choose the run's recipients (first time), then send batch after batch; returns alerts sent now.

    Idempotent: a finished run does nothing, a half-sent one carries on where it stopped."""
    run = session.get(AlertRun, run_id)
    if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
        return 0
    if run.status == RunStatus.QUEUED:
        _prepare(session, run)
    sent = 0
    while (count := _send_batch(session, run, mailer, min(batch_size, BATCH_SIZE))) is not None:
        sent += count
    _finish(session, run)
    return sent


def _recipients_select(session: Session, run: AlertRun, campaign: Campaign) -> Any:
    common = (
        literal(run.id),
        literal(campaign.id),
        literal(AlertStatus.PENDING.value),
        literal(""),
        literal(""),
        literal(""),
    )
    if run.kind == RunKind.RECONFIRM:
        return (
            sa_select(col(User.id), col(User.email), col(ReconfirmRequest.city_id), *common, col(ReconfirmRequest.id))
            .select_from(ReconfirmRequest)
            .join(User, col(User.id) == ReconfirmRequest.signer_id)
            .where(
                col(ReconfirmRequest.campaign_id) == campaign.id,
                col(ReconfirmRequest.stage_key) == run.stage_key,
                col(ReconfirmRequest.notified_at).is_(None),
                col(User.active).is_(True),
            )
        )
    query = audience_select(
        audience_of(plan_of(session, campaign.id or 0)),
        col(User.id),
        col(User.email),
        col(User.city_id),
        *common,
        null(),
    )
    if run.kind == RunKind.REMINDER:
        query = query.where(col(User.city_id).not_in(acted_cities_select(campaign.id or 0, run.stage_key)))
    return query


def _prepare(session: Session, run: AlertRun) -> None:
    campaign = session.get(Campaign, run.campaign_id)
    assert campaign is not None
    columns = [
        "user_id",
        "email",
        "city_id",
        "run_id",
        "campaign_id",
        "status",
        "claim",
        "error",
        "message_id",
        "reconfirm_id",
    ]
    try:
        session.execute(insert(Alert).from_select(columns, _recipients_select(session, run, campaign)))
        run.total = _count(session, run.id or 0)
        run.status, run.started_at = RunStatus.SENDING, utcnow()
        run.last_progress_at = run.started_at
        session.add(run)
        session.commit()
    except IntegrityError:
        session.rollback()  # another worker prepared this run a moment ago: carry on with its recipients
        session.refresh(run)
    log.info("alert run %s (%s): %d recipient(s)", run.id, run.kind, run.total)


def _count(session: Session, run_id: int, status: str | None = None) -> int:
    query = select(func.count(col(Alert.id))).where(Alert.run_id == run_id)
    if status is not None:
        query = query.where(Alert.status == status)
    return int(session.execute(query).scalar_one())


def _claim(session: Session, run: AlertRun, size: int) -> tuple[str, list[int]] | None:
    """Claim up to ``size`` pending alerts: ``(claim, ids)``, ``(claim, [])`` after a lost race, None when done."""
    ids = list(
        session.exec(
            select(Alert.id)
            .where(Alert.run_id == run.id, Alert.status == AlertStatus.PENDING)
            .order_by(col(Alert.id))
            .limit(size)
        ).all()
    )
    if not ids:
        return None
    claim = secrets.token_hex(8)
    session.execute(
        update(Alert)
        .where(col(Alert.id).in_(ids), col(Alert.status) == AlertStatus.PENDING)
        .values(status=AlertStatus.SENDING, claim=claim, claimed_at=utcnow())
    )
    session.commit()
    claimed = session.exec(select(Alert.id).where(Alert.claim == claim, Alert.status == AlertStatus.SENDING)).all()
    return claim, [i for i in claimed if i is not None]


def _send_batch(session: Session, run: AlertRun, mailer: Mailer, size: int) -> int | None:
    claimed = _claim(session, run, size)
    if claimed is None:
        return None
    claim, ids = claimed
    if not ids:
        return 0
    opted_out = (
        set(
            session.exec(
                select(AlertOptOut.user_id).where(
                    col(AlertOptOut.user_id).in_(select(Alert.user_id).where(Alert.claim == claim))
                )
            ).all()
        )
        if run.kind != RunKind.RECONFIRM
        else set()
    )
    rows = session.exec(
        select(Alert, User)
        .join(User, col(User.id) == Alert.user_id)
        .where(Alert.claim == claim)
        .order_by(col(Alert.id))
    ).all()
    skipped = [alert.id for alert, user in rows if user.id in opted_out]
    to_send = [(alert, user) for alert, user in rows if user.id not in opted_out]
    if skipped:
        session.execute(
            update(Alert).where(col(Alert.id).in_(skipped)).values(status=AlertStatus.SKIPPED, error="unsubscribed")
        )
    if to_send:
        try:
            message_id = mailer.send(build_email(session, run, to_send))
        except MailError as exc:
            return _mail_failed(session, run, claim, exc)
        now = utcnow()
        session.execute(
            update(Alert)
            .where(col(Alert.claim) == claim, col(Alert.status) == AlertStatus.SENDING)
            .values(status=AlertStatus.SENT, sent_at=now, message_id=message_id[:120])
        )
        if run.kind == RunKind.RECONFIRM:
            session.execute(
                update(ReconfirmRequest)
                .where(col(ReconfirmRequest.id).in_([a.reconfirm_id for a, _ in to_send if a.reconfirm_id]))
                .values(notified_at=now)
            )
        run.mail_calls += 1
    _progress(session, run)
    return len(to_send)


def _mail_failed(session: Session, run: AlertRun, claim: str, exc: MailError) -> int:
    if exc.retryable:
        session.execute(
            update(Alert).where(col(Alert.claim) == claim).values(status=AlertStatus.PENDING, claim="", claimed_at=None)
        )
        session.commit()
        delay = int((exc.retry_after or 5) * 1000)
        raise AlertRetry(exc.reason, max(delay, 1000))
    session.execute(
        update(Alert)
        .where(col(Alert.claim) == claim, col(Alert.status) == AlertStatus.SENDING)
        .values(status=AlertStatus.FAILED, error=exc.reason[:500])
    )
    run.mail_calls += 1
    run.error = exc.reason
    log.error("alert run %s: a batch was refused: %s", run.id, exc.reason)
    _progress(session, run)
    return 0


def _progress(session: Session, run: AlertRun) -> None:
    run.sent = _count(session, run.id or 0, AlertStatus.SENT)
    run.failed = _count(session, run.id or 0, AlertStatus.FAILED)
    run.last_progress_at = utcnow()
    session.add(run)
    session.commit()


def _finish(session: Session, run: AlertRun) -> None:
    session.refresh(run)
    if run.status != RunStatus.SENDING or _count(session, run.id or 0, AlertStatus.SENDING):
        return  # another worker still holds a batch; it finishes the run
    run.sent = _count(session, run.id or 0, AlertStatus.SENT)
    run.failed = _count(session, run.id or 0, AlertStatus.FAILED)
    run.status = RunStatus.FAILED if run.total and run.failed == run.total else RunStatus.DONE
    run.finished_at = utcnow()
    session.add(run)
    session.commit()


# ----------------------------------------------------------------------------------------------- the e-mail


@dataclass(frozen=True)
class Links:
    action: str
    unsubscribe: str


def links_for(run: AlertRun, campaign: Campaign, alert: Alert) -> Links:
    base = base_url()
    if run.kind == RunKind.RECONFIRM:
        expires = campaign.deadline if campaign.deadline and campaign.deadline > utcnow() else None
        expires = expires or utcnow() + RECONFIRM_VALID_FOR
        token = links.reconfirm_token(alert.reconfirm_id or 0, alert.user_id, expires)
        return Links(f"{base}/reconfirm/{token}", "")
    assert campaign.deadline is not None  # start_run refuses runs without one
    token = links.action_token(alert.user_id, campaign.id or 0, campaign.deadline)
    return Links(f"{base}/act/{token}", f"{base}/unsubscribe/{links.unsubscribe_token(alert.user_id)}")


def build_email(session: Session, run: AlertRun, rows: list[tuple[Alert, User]]) -> Email:
    """One e-mail with one personalization per recipient (name and links substituted per recipient)."""
    campaign = session.get(Campaign, run.campaign_id)
    assert campaign is not None
    bill = bill_of(session, campaign)
    stage = stage_of(session, campaign, bill)
    settings = get_settings()
    template = "letter_reconfirm" if run.kind == RunKind.RECONFIRM else "action_alert"
    subject, text, html = render_email(
        template,
        {
            "kind": run.kind,
            "campaign": campaign,
            "bill": bill,
            "stage": stage,
            "deadline": format_deadline(campaign.deadline),
            "time_left": time_left(campaign.deadline, utcnow()),
            "talking_points": campaign.talking_point_list,
            "official_name": TOKENS["name"],
            "action_link": TOKENS["link"],
            "unsubscribe_link": TOKENS["unsubscribe"],
        },
    )
    personalizations = []
    for alert, user in rows:
        found = links_for(run, campaign, alert)
        headers = {}
        substitutions = {TOKENS["name"]: user.name, TOKENS["link"]: found.action}
        if found.unsubscribe:
            substitutions[TOKENS["unsubscribe"]] = found.unsubscribe
            headers = {
                "List-Unsubscribe": f"<{found.unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        personalizations.append(
            Personalization(
                to=[Address(alert.email, user.name)],
                substitutions=substitutions,
                headers=headers,
                custom_args={"alert_id": str(alert.id), "alert_run_id": str(run.id)},
            )
        )
    return Email(
        subject=subject,
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        html=html,
        personalizations=personalizations,
        categories=["letter-reconfirm" if run.kind == RunKind.RECONFIRM else "action-alert"],
        custom_args={"campaign_id": str(campaign.id)},
    )


# ----------------------------------------------------------------------------------------------- the sweep


def sweep_runs(session: Session) -> int:
    """Take back batches claimed too long ago (a killed worker) and nudge runs that stopped making progress."""
    cutoff = utcnow() - STUCK_AFTER
    session.execute(
        update(Alert)
        .where(col(Alert.status) == AlertStatus.SENDING, col(Alert.claimed_at) < cutoff)
        .values(status=AlertStatus.PENDING, claim="", claimed_at=None)
    )
    stuck = session.exec(
        select(AlertRun).where(
            col(AlertRun.status).in_((RunStatus.QUEUED, RunStatus.SENDING)),
            func.coalesce(col(AlertRun.last_progress_at), col(AlertRun.created_at)) < cutoff,
        )
    ).all()
    ids = [run.id or 0 for run in stuck]
    session.commit()
    for run_id in ids:
        enqueue_run(run_id)
    return len(ids)


def runs_of(session: Session, campaign_id: int) -> list[AlertRun]:
    return list(
        session.exec(select(AlertRun).where(AlertRun.campaign_id == campaign_id).order_by(col(AlertRun.id))).all()
    )
