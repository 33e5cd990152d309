"""Demo campaigns on real bills from the shipped data, so the letter flow can be tried at once.

The bills, committees and legislators are real; the positions and talking points are illustrative, and every
campaign title says "Demo" so that nobody mistakes them for the league's published positions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.campaigns.service import create_campaign
from advocacy.db import utcnow
from advocacy.directory.models import Bill, CommitteeMembership

# (bill, position, days to the deadline): three committee stages and one request to the Governor.
DEMO_CAMPAIGNS: list[tuple[str, Position, int]] = [
    ("SB 1256", Position.SUPPORT, 7),
    ("AB 1573", Position.OPPOSE_UNLESS_AMENDED, 9),
    ("SB 1117", Position.OPPOSE, 6),
    ("SB 1426", Position.REQUEST_FOR_SIGNATURE, 12),
]
# Excluded as demo stages: Rules only assigns bills, and Appropriations hears no letters on the suspense file.
NOT_A_HEARING = ("Rules", "Appropriations")

# Illustrative talking points, written as a league would write them so the demo letter reads like a real one; they
# are not the league's positions (every demo campaign's title says "Demo").
TALKING_POINTS: dict[str, list[str]] = {
    "SB 1256": [
        "It brings certainty to challenges under the Subdivision Map Act, so approved subdivisions, and the homes "
        "and public improvements that come with them, are not held up for years.",
        "City staff and applicants can plan around a clear timeline instead of open-ended litigation risk.",
        "It keeps the local review that makes subdivision decisions fit the community.",
    ],
    "AB 1573": [
        "Cities share the goal of planning for housing for every income level and for the residents who need it most.",
        "As written, the bill adds housing element requirements in the middle of a planning cycle, without the data "
        "or the funding cities need to meet them.",
        "We ask that the bill apply from the next housing element cycle and come with state guidance, so that cities "
        "can comply without reopening housing elements the state has already certified.",
    ],
    "SB 1117": [
        "Cities permit thousands of accessory dwelling units each year under the state's already detailed rules.",
        "A further one-size-fits-all mandate would override local standards for safety, parking and infrastructure "
        "that reflect each community.",
        "Frequent changes to accessory dwelling unit law force cities to rewrite their ordinances again and confuse "
        "homeowners who are part way through permitting.",
    ],
    "SB 1426": [
        "It streamlines the annual planning reports cities file with the state, removing duplicated and outdated "
        "requirements.",
        "It frees planning staff to process permits rather than paperwork.",
        "It keeps the state's housing data accurate while making it simpler to report.",
    ],
}


def _bill(session: Session, label: str) -> Bill | None:
    measure, _, number = label.partition(" ")
    return session.exec(select(Bill).where(Bill.measure_type == measure, Bill.number == int(number))).first()


def _has_hearing_committee(session: Session, bill: Bill) -> bool:
    if bill.committee_id is None or any(word in bill.pending_committee_name for word in NOT_A_HEARING):
        return False
    return (
        session.exec(select(CommitteeMembership).where(CommitteeMembership.committee_id == bill.committee_id)).first()
        is not None
    )


def create_demo_campaigns(session: Session) -> list[Campaign]:
    """Create the demo campaigns that do not exist yet (safe to run again); returns every demo campaign."""
    campaigns: list[Campaign] = []
    for label, position, days in DEMO_CAMPAIGNS:
        bill = _bill(session, label)
        if bill is None or bill.id is None:
            continue
        if not position.to_governor and not _has_hearing_committee(session, bill):
            continue  # the data moved on: the bill is no longer before a committee that hears it
        title = f"Demo: {bill.label} — {position.value}"
        existing = session.exec(select(Campaign).where(Campaign.bill_id == bill.id, Campaign.title == title)).first()
        if existing is None:
            existing = create_campaign(
                session,
                bill_id=bill.id,
                position=position,
                title=title,
                talking_points="\n".join(TALKING_POINTS[label]),
                deadline=utcnow() + timedelta(days=days),
                status=CampaignStatus.ACTIVE,
            )
        campaigns.append(existing)
    return campaigns


def add_to_demo(session: Session, summary: Any) -> None:
    """``advocacy demo`` extension (advocacy.demo.EXTENSIONS): the campaigns, listed in the demo's summary."""
    campaigns = create_demo_campaigns(session)
    summary.add_section("Campaigns", [f"/campaigns/{c.id}  {c.title}" for c in campaigns])
