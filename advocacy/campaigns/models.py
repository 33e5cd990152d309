"""Action Agenda campaigns: a bill, the league's position on it, talking points, a letter kind and whom to write.

A campaign is the league's call to action; the letters cities send in answer belong to the letters package.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow


class Position(StrEnum):
    """The league's published positions (DOMAIN.md §3.5), and its requests to the Governor on enrolled bills."""

    SUPPORT = "Support"
    OPPOSE = "Oppose"
    SUPPORT_IF_AMENDED = "Support if Amended"
    OPPOSE_UNLESS_AMENDED = "Oppose Unless Amended"
    REQUEST_FOR_SIGNATURE = "Request for Signature"
    REQUEST_FOR_VETO = "Request for Veto"

    @property
    def to_governor(self) -> bool:
        """Signature and veto requests go to the Governor, not to a committee (DOMAIN.md §1.8)."""
        return self in (Position.REQUEST_FOR_SIGNATURE, Position.REQUEST_FOR_VETO)

    @property
    def default_kind(self) -> str:
        """The letter template folder (``templates/letters/<kind>/``) that states this position."""
        return self.name.lower().replace("request_for_", "request_")


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # being written by staff; officials do not see it
    ACTIVE = "active"  # officials can send letters
    CLOSED = "closed"  # deadline passed or the bill moved on; letters stay as records


class TargetGroup(StrEnum):
    """Who a campaign's letters go to; the people are computed from the data when a letter is prepared."""

    COMMITTEE = "committee"  # the committee now hearing the bill: chair and members
    AUTHOR = "author"
    OWN_LEGISLATORS = "own_legislators"  # the city's own Assembly member(s) and Senator(s)
    GOVERNOR = "governor"  # signature and veto requests
    ALL_ASSEMBLY = "all_assembly"  # every member of the Assembly (campaign console; see campaigns.chambers)
    ALL_SENATE = "all_senate"  # every member of the Senate


DEFAULT_TARGETS = (TargetGroup.COMMITTEE, TargetGroup.AUTHOR, TargetGroup.OWN_LEGISLATORS)
GOVERNOR_TARGETS = (TargetGroup.GOVERNOR, TargetGroup.AUTHOR, TargetGroup.OWN_LEGISLATORS)


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    bill_id: int = Field(foreign_key="bill.id", index=True)
    # The enum type is named explicitly: "position" is a keyword PostgreSQL does not accept as a type name.
    position: Position = Field(sa_type=SAEnum(Position, name="league_position"))
    talking_points: str = Field(default="", description="one point per line")
    letter_kind: str = Field(max_length=40, description="template folder under templates/letters/")
    # Comma-separated TargetGroup values; kept as text because the set is small and read whole.
    target_groups: str = Field(default=",".join(DEFAULT_TARGETS), max_length=200)
    deadline: NaiveDatetime | None = Field(default=None, description="naive UTC")
    status: CampaignStatus = Field(default=CampaignStatus.DRAFT, max_length=16, index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")

    @property
    def targets(self) -> list[TargetGroup]:
        return [TargetGroup(value) for value in self.target_groups.split(",") if value]

    @property
    def talking_point_list(self) -> list[str]:
        return [line.strip() for line in self.talking_points.splitlines() if line.strip()]
