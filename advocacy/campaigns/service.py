"""Campaigns: create them, find them, and say which committee stage a campaign's letters are for now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from advocacy.accounts.models import User
from advocacy.campaigns.models import (
    DEFAULT_TARGETS,
    GOVERNOR_TARGETS,
    Campaign,
    CampaignStatus,
    Position,
    TargetGroup,
)
from advocacy.db import utcnow
from advocacy.directory.models import Bill, Committee


class CampaignError(ValueError):
    """Bad input for a campaign; the message is meant for the person who asked."""


class CampaignNotFound(LookupError):
    """No such campaign, or not one the caller may see."""


@dataclass(frozen=True)
class Stage:
    """Where the bill is now, which decides who must receive a letter (DOMAIN.md §1.4: each committee directly).

    ``key`` changes when the bill moves to another committee, reaches the Governor, or is amended: a letter is
    written once per campaign, city and key.
    """

    key: str
    committee: Committee | None
    label: str  # "Assembly Committee on Local Government", "the Governor", "the floor"


def create_campaign(
    session: Session,
    *,
    bill_id: int,
    position: Position | str,
    talking_points: str = "",
    title: str = "",
    letter_kind: str = "",
    targets: list[TargetGroup] | None = None,
    deadline: datetime | None = None,
    status: CampaignStatus = CampaignStatus.ACTIVE,
    created_by: User | None = None,
) -> Campaign:
    """Create a campaign and commit it."""
    from advocacy.letters.document import KINDS

    bill = session.get(Bill, bill_id)
    if bill is None:
        raise CampaignError(f"no bill with id {bill_id}")
    try:
        position = Position(position)
    except ValueError:
        raise CampaignError(f"unknown position {position!r}; one of: {', '.join(Position)}") from None
    kind = letter_kind or position.default_kind
    if kind not in KINDS:
        raise CampaignError(f"unknown letter kind {kind!r}; one of: {', '.join(KINDS)}")
    groups = list(targets or (GOVERNOR_TARGETS if position.to_governor else DEFAULT_TARGETS))
    if TargetGroup.GOVERNOR in groups and not position.to_governor:
        raise CampaignError("only requests for signature or veto are sent to the Governor")
    if TargetGroup.COMMITTEE in groups and position.to_governor:
        raise CampaignError("a request to the Governor goes to no committee: the bill has left the Legislature")
    campaign = Campaign(
        title=title.strip() or f"{bill.label}: {position.value}",
        bill_id=bill_id,
        position=position,
        talking_points=talking_points.strip(),
        letter_kind=kind,
        target_groups=",".join(groups),
        deadline=deadline,
        status=status,
        created_by_id=created_by.id if created_by else None,
    )
    session.add(campaign)
    session.commit()
    return campaign


def get_campaign(session: Session, campaign_id: int, *, include_drafts: bool = False) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or (campaign.status is CampaignStatus.DRAFT and not include_drafts):
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return campaign


def list_campaigns(
    session: Session, *, statuses: tuple[CampaignStatus, ...] = (CampaignStatus.ACTIVE,)
) -> list[Campaign]:
    """Campaigns in ``statuses``, the nearest deadline first (no deadline last)."""
    rows = session.exec(select(Campaign).where(col(Campaign.status).in_(statuses)).order_by(col(Campaign.id))).all()
    return sorted(rows, key=lambda c: (c.deadline is None, c.deadline or utcnow(), c.id or 0))


def set_status(session: Session, campaign: Campaign, status: CampaignStatus) -> Campaign:
    campaign.status = CampaignStatus(status)
    session.add(campaign)
    session.commit()
    return campaign


def bill_of(session: Session, campaign: Campaign) -> Bill:
    bill = session.get(Bill, campaign.bill_id)
    if bill is None:  # a foreign key guarantees it; kept for the type checker
        raise CampaignNotFound(f"campaign {campaign.id} names a missing bill")
    return bill


def stage_of(session: Session, campaign: Campaign, bill: Bill | None = None) -> Stage:
    """The committee stage of ``campaign`` now: the Governor for requests on enrolled bills, else the committee
    the data says is hearing the bill, else the floor; at the bill's current version."""
    bill = bill or bill_of(session, campaign)
    version = bill.version_date or bill.introduced_date
    suffix = f"@{version.isoformat()}" if version else ""
    if campaign.position.to_governor:
        return Stage(key=f"governor{suffix}", committee=None, label="the Governor")
    committee = session.get(Committee, bill.committee_id) if bill.committee_id else None
    if committee is None:
        return Stage(key=f"floor{suffix}", committee=None, label="the floor")
    return Stage(key=f"committee:{committee.ocd_id}{suffix}", committee=committee, label=committee.full_name)


def committee_short_name(committee: Committee) -> str:
    """ "Assembly Local Government": how reasons and lists name a committee."""
    return f"{committee.chamber} {committee.name}"
