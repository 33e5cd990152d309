"""What a campaign's staff page and ``GET /api/v1/campaigns/{id}/stats`` show: letters by status, cities that acted
against those targeted, failed or bounced deliveries with their reasons, the alerts sent, and the time left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from advocacy.campaigns import audience
from advocacy.campaigns.alerts import plan_of, runs_of
from advocacy.campaigns.console_models import AlertRun, CampaignPlan, CampaignStage
from advocacy.campaigns.deadlines import format_deadline, time_left
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import Stage, bill_of, stage_of
from advocacy.campaigns.stale import out_of_date_letters, stages_of
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City
from advocacy.letters.models import DELIVERY_LABELS, LETTER_LABELS, Delivery, DeliveryStatus, Letter, LetterStatus

PROBLEM_DELIVERIES = (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.DROPPED)
#: Deliveries a person completes (the Position Letter Portal, or paper), in the order the staff page lists them.
BY_A_PERSON = (
    DeliveryStatus.PORTAL_PENDING,
    DeliveryStatus.PORTAL_SUBMITTED,
    DeliveryStatus.MAIL_PENDING,
    DeliveryStatus.MAILED,
)


@dataclass(frozen=True)
class Problem:
    letter_id: int
    city: str
    recipient: str
    email: str
    status: str
    reason: str


@dataclass
class CampaignStats:
    campaign: Campaign
    bill: Bill
    stage: Stage
    plan: CampaignPlan | None
    letters_by_status: dict[str, int]
    cities_targeted: int
    cities_acted: int
    acted_city_names: list[str]
    problems: list[Problem]
    runs: list[AlertRun]
    alerts_sent: int
    deadline_text: str
    time_left: str
    seconds_left: int | None
    out_of_date: list[tuple[Letter, str]] = field(default_factory=list)
    stages: list[CampaignStage] = field(default_factory=list)
    pending_reviews: int = 0  # letters awaiting approval
    # Portal and mail deliveries by status (people submit or mail them), and the letters still waiting for one.
    by_a_person: dict[str, int] = field(default_factory=dict)
    waiting_for_a_person: list[tuple[int, str, str]] = field(default_factory=list)  # (letter id, city, status)

    @property
    def by_a_person_rows(self) -> list[tuple[str, str, int]]:
        """``(status, label, count)`` of portal and mail deliveries, for the staff page."""
        return [
            (status.value, DELIVERY_LABELS[status], self.by_a_person[status.value])
            for status in BY_A_PERSON
            if self.by_a_person.get(status.value)
        ]

    @property
    def letters_total(self) -> int:
        return sum(self.letters_by_status.values())

    @property
    def letter_rows(self) -> list[tuple[str, str, int]]:
        """``(status, label, count)`` in the order a letter moves through them, for the staff page."""
        return [
            (status.value, LETTER_LABELS[status], self.letters_by_status[status.value])
            for status in LetterStatus
            if self.letters_by_status.get(status.value)
        ]


def campaign_stats(session: Session, campaign: Campaign, now: datetime | None = None) -> CampaignStats:
    now = now or utcnow()
    campaign_id = campaign.id or 0
    bill = bill_of(session, campaign)
    stage = stage_of(session, campaign, bill)
    plan = plan_of(session, campaign_id)
    by_status = {
        str(status): int(count)
        for status, count in session.execute(
            select(Letter.status, func.count(col(Letter.id)))
            .where(Letter.campaign_id == campaign_id)
            .group_by(Letter.status)
        ).all()
    }
    acted = audience.acted_city_ids(session, campaign_id, stage.key)
    targeted = audience.targeted_city_ids(session, audience.audience_of(plan))
    names = {c.id: c.name for c in session.exec(select(City).where(col(City.id).in_(acted))).all()} if acted else {}
    runs = runs_of(session, campaign_id)
    city_names = _city_names(session, campaign_id)
    by_a_person, waiting = _by_a_person(session, campaign_id, city_names)
    return CampaignStats(
        campaign=campaign,
        bill=bill,
        stage=stage,
        plan=plan,
        letters_by_status=by_status,
        cities_targeted=len(targeted | acted),
        cities_acted=len(acted),
        acted_city_names=sorted(names.values()),
        problems=problems(session, campaign_id, city_names),
        runs=runs,
        alerts_sent=sum(run.sent for run in runs),
        deadline_text=format_deadline(campaign.deadline),
        time_left=time_left(campaign.deadline, now),
        seconds_left=int((campaign.deadline - now).total_seconds()) if campaign.deadline else None,
        out_of_date=[
            (letter, city_names.get(letter.city_id, ""))
            for letter in out_of_date_letters(session, campaign_id, stage.key)
        ],
        stages=stages_of(session, campaign_id),
        pending_reviews=by_status.get(LetterStatus.AWAITING_APPROVAL.value, 0),
        by_a_person=by_a_person,
        waiting_for_a_person=waiting,
    )


def _by_a_person(
    session: Session, campaign_id: int, city_names: dict[int, str]
) -> tuple[dict[str, int], list[tuple[int, str, str]]]:
    """Portal and mail deliveries of the campaign's current letters (superseded ones are history) by status, and
    the letters whose portal submission or mailing is still to do."""
    rows = session.execute(
        select(Delivery.status, Letter.id, Letter.city_id)
        .join(Letter, col(Letter.id) == Delivery.letter_id)
        .where(
            Letter.campaign_id == campaign_id,
            Letter.status != LetterStatus.SUPERSEDED,
            col(Delivery.status).in_(BY_A_PERSON),
        )
        .order_by(col(Letter.id))
    ).all()
    counts: dict[str, int] = {}
    waiting = []
    for raw, letter_id, city_id in rows:
        status = DeliveryStatus(raw)
        counts[status.value] = counts.get(status.value, 0) + 1
        if status in (DeliveryStatus.PORTAL_PENDING, DeliveryStatus.MAIL_PENDING):
            waiting.append((int(letter_id), city_names.get(int(city_id), ""), DELIVERY_LABELS[status]))
    return counts, waiting[:200]


def _city_names(session: Session, campaign_id: int) -> dict[int, str]:
    rows = session.execute(
        select(City.id, City.name)
        .join(Letter, col(Letter.city_id) == City.id)
        .where(Letter.campaign_id == campaign_id)
        .distinct()
    ).all()
    return {int(row[0]): str(row[1]) for row in rows}


def problems(session: Session, campaign_id: int, city_names: dict[int, str]) -> list[Problem]:
    rows = session.exec(
        select(Delivery, Letter)
        .join(Letter, col(Letter.id) == Delivery.letter_id)
        .where(Letter.campaign_id == campaign_id, col(Delivery.status).in_(PROBLEM_DELIVERIES))
        .order_by(col(Delivery.status_changed_at).desc())
        .limit(500)
    ).all()
    return [
        Problem(
            letter_id=letter.id or 0,
            city=city_names.get(letter.city_id, ""),
            recipient=delivery.name,
            email=delivery.email,
            status=str(delivery.status),
            reason=delivery.error or "(no reason given)",
        )
        for delivery, letter in rows
    ]


def run_progress(run: AlertRun) -> dict[str, object]:
    """A run as the progress poller and the API show it."""
    done = run.sent + run.failed
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "total": run.total,
        "sent": run.sent,
        "failed": run.failed,
        "mail_calls": run.mail_calls,
        "percent": round(100 * done / run.total) if run.total else (100 if run.status == "done" else 0),
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
    }
