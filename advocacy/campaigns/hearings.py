"""Committee hearings (committee, date, time, room) and the letter deadline each one sets through its committee's
rule. A campaign follows its hearing: when staff move a hearing, the deadlines of the campaigns that use it (and
whose deadline staff have not overridden) move with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from advocacy.accounts.models import User
from advocacy.campaigns.committee_rules import checked_label, deadline_rule_of, rule_for
from advocacy.campaigns.console_models import CampaignPlan, CommitteeRule, Hearing
from advocacy.campaigns.deadlines import RuleError, compute_deadline, format_deadline, parse_time
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.db import utcnow
from advocacy.directory.models import Committee


class HearingError(ValueError):
    """Bad input for a hearing; nothing was changed."""


@dataclass
class HearingInput:
    committee_id: int
    hearing_date: date
    hearing_time: str = ""
    room: str = ""
    notes: str = ""


@dataclass(frozen=True)
class DeadlineInfo:
    """A hearing's letter deadline, with the rule it came from (``deadline`` is None when no rule is known)."""

    deadline: datetime | None
    rule_text: str
    source_url: str
    checked: str
    missing: str = ""  # why there is no deadline

    @property
    def text(self) -> str:
        """The deadline in Pacific time, as people read it."""
        return format_deadline(self.deadline) if self.deadline else self.missing


@dataclass(frozen=True)
class HearingRow:
    hearing: Hearing
    committee: Committee
    info: DeadlineInfo


def _clean(session: Session, data: HearingInput) -> HearingInput:
    if session.get(Committee, data.committee_id) is None:
        raise HearingError(f"There is no committee with id {data.committee_id}.")
    when = data.hearing_time.strip()
    if when:
        try:
            when = parse_time(when).strftime("%H:%M")
        except RuleError as exc:
            raise HearingError(str(exc)) from None
    room = " ".join(data.room.split())
    if len(room) > 80 or len(data.notes) > 500:
        raise HearingError("The room takes at most 80 characters and the notes at most 500.")
    return HearingInput(data.committee_id, data.hearing_date, when, room, data.notes.strip())


def create_hearing(session: Session, data: HearingInput, user: User | None) -> Hearing:
    data = _clean(session, data)
    hearing = Hearing(
        committee_id=data.committee_id,
        hearing_date=data.hearing_date,
        hearing_time=data.hearing_time,
        room=data.room,
        notes=data.notes,
        created_by_id=user.id if user else None,
    )
    session.add(hearing)
    session.commit()
    return hearing


def get_hearing(session: Session, hearing_id: int) -> Hearing:
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise HearingError(f"There is no hearing with id {hearing_id}.")
    return hearing


def update_hearing(session: Session, hearing_id: int, data: HearingInput, user: User | None) -> Hearing:
    """Change a hearing; campaigns that follow it get their deadline recomputed (unless overridden). Commits."""
    hearing = get_hearing(session, hearing_id)
    data = _clean(session, data)
    hearing.committee_id, hearing.hearing_date = data.committee_id, data.hearing_date
    hearing.hearing_time, hearing.room, hearing.notes = data.hearing_time, data.room, data.notes
    session.add(hearing)
    session.flush()
    info = deadline_info(session, hearing)
    for plan, campaign in _following(session, hearing_id):
        if not plan.deadline_overridden and campaign.status is not CampaignStatus.CLOSED:
            campaign.deadline = info.deadline
            session.add(campaign)
    session.commit()
    return hearing


def delete_hearing(session: Session, hearing_id: int) -> None:
    hearing = get_hearing(session, hearing_id)
    if _following(session, hearing_id):
        raise HearingError("Campaigns follow this hearing; pick another hearing for them first.")
    session.delete(hearing)
    session.commit()


def _following(session: Session, hearing_id: int) -> list[tuple[CampaignPlan, Campaign]]:
    rows = session.exec(
        select(CampaignPlan, Campaign)
        .join(Campaign, col(Campaign.id) == CampaignPlan.campaign_id)
        .where(CampaignPlan.hearing_id == hearing_id)
    ).all()
    return [(plan, campaign) for plan, campaign in rows]


def deadline_info(session: Session, hearing: Hearing, rule: CommitteeRule | None = None) -> DeadlineInfo:
    rule = rule or rule_for(session, hearing.committee_id)
    if rule is None:
        return DeadlineInfo(
            None, "", "", "", missing="This committee has no letter rule yet: add it, or set the deadline by hand."
        )
    deadline_rule = deadline_rule_of(rule)
    return DeadlineInfo(
        deadline=compute_deadline(deadline_rule, hearing.hearing_date),
        rule_text=deadline_rule.describe(),
        source_url=rule.source_url,
        checked=checked_label(rule),
    )


def list_hearings(session: Session, *, committee_id: int | None = None, upcoming: bool = True) -> list[HearingRow]:
    """Hearings (upcoming ones by default, soonest first) with their committees and deadlines."""
    query = select(Hearing, Committee).join(Committee, col(Committee.id) == Hearing.committee_id)
    if committee_id is not None:
        query = query.where(Hearing.committee_id == committee_id)
    if upcoming:
        query = query.where(col(Hearing.hearing_date) >= utcnow().date())
    rows = session.exec(query.order_by(col(Hearing.hearing_date), col(Hearing.id))).all()
    return [HearingRow(hearing, committee, deadline_info(session, hearing)) for hearing, committee in rows]


def next_hearing(session: Session, committee_id: int, on_or_after: date) -> Hearing | None:
    return session.exec(
        select(Hearing)
        .where(Hearing.committee_id == committee_id, col(Hearing.hearing_date) >= on_or_after)
        .order_by(col(Hearing.hearing_date), col(Hearing.id))
    ).first()


def describe_hearing(hearing: Hearing, committee: Committee | None) -> str:
    """ "Assembly Committee on Local Government, Wednesday, April 1, 2026, 1:30 p.m., Room 1100"."""
    from advocacy.campaigns.deadlines import WEEKDAYS, clock

    day = hearing.hearing_date
    parts = [committee.full_name if committee else "", f"{WEEKDAYS[day.weekday()]}, {day:%B} {day.day}, {day.year}"]
    if hearing.hearing_time:
        parts.append(clock(parse_time(hearing.hearing_time)))
    if hearing.room:
        parts.append(hearing.room)
    return ", ".join(p for p in parts if p)
