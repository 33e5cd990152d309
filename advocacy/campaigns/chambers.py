"""Targets beyond the letters package's own: every member of the Assembly or of the Senate.

``letters.recipients.compute_recipients`` knows the committee, the author, the city's delegation and the Governor;
campaigns that target a whole chamber add its members here (the letters package calls ``chamber_recipients``, and
the console's preview and counts use it now). Members already on the list for another reason keep that reason.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from advocacy.campaigns.models import Campaign, TargetGroup
from advocacy.directory.models import Chamber, Legislator
from advocacy.letters.models import Channel
from advocacy.letters.recipients import Recipient, honorific

CHAMBER_GROUPS = {TargetGroup.ALL_ASSEMBLY: Chamber.ASSEMBLY, TargetGroup.ALL_SENATE: Chamber.SENATE}


def chamber_recipients(session: Session, campaign: Campaign, existing: list[Recipient]) -> list[Recipient]:
    """The members of each targeted chamber not already in ``existing``, ordered by district."""
    chambers = [CHAMBER_GROUPS[group] for group in campaign.targets if group in CHAMBER_GROUPS]
    if not chambers:
        return []
    taken = {r.key for r in existing}
    members = session.exec(
        select(Legislator)
        .where(col(Legislator.chamber).in_(chambers), col(Legislator.active).is_(True))
        .order_by(col(Legislator.chamber), col(Legislator.district))
    ).all()
    added: list[Recipient] = []
    for legislator in members:
        key = f"legislator:{legislator.id}"
        if key in taken:
            continue
        code = "AD" if legislator.chamber == Chamber.ASSEMBLY else "SD"
        added.append(
            Recipient(
                key=key,
                channel=Channel.EMAIL,
                name=honorific(legislator),
                email=legislator.email,
                reasons=[f"Member of the {legislator.chamber} ({code} {legislator.district})"],
                legislator=legislator,
                sort_order=len(existing) + len(added),
            )
        )
    return added
