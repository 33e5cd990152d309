"""What the JSON API says about cities, legislators, committees and bills (documented at /schema)."""

from __future__ import annotations

import datetime as dt
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from advocacy.directory.models import Bill, BillAction, City, Committee, Division, Legislator, LegislatorOffice
from advocacy.directory.service import DelegationMember


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DivisionRef(_FromRow):
    id: int
    slug: str = Field(description='e.g. "los-angeles-county"')
    name: str


class CitySummary(_FromRow):
    id: int
    geoid: str = Field(description="Census place GEOID (06 + place FIPS)")
    name: str
    county: str
    is_member: bool = Field(description="member city of the league")
    division: DivisionRef | None = Field(None, description="Regional Division")

    @classmethod
    def of(cls, city: City, division: Division | None) -> CitySummary:
        return cls.model_validate({**city.model_dump(), "division": _division(division)})


class DistrictShare(BaseModel):
    chamber: str = Field(description="Assembly | Senate")
    district: int
    share: float = Field(description="fraction of the city's 2020 residents living in the district (0 to 1)")


class LegislatorSummary(_FromRow):
    id: int
    ocd_id: str = Field(description="Open States person id")
    name: str
    chamber: str = Field(description="Assembly | Senate")
    district: int
    party: str
    email: str
    capitol_address: str
    capitol_phone: str
    active: bool = Field(description="false once retired by an Open States refresh")

    @classmethod
    def of(cls, legislator: Legislator) -> LegislatorSummary:
        return cls.model_validate({**legislator.model_dump(), "chamber": str(legislator.chamber)})


class DelegationEntry(BaseModel):
    chamber: str = Field(description="Assembly | Senate")
    district: int
    share: float = Field(description="fraction of the city's residents in this legislator's district")
    legislator: LegislatorSummary


class CityDetail(CitySummary):
    official_name: str
    lsad: str = Field(description="city | town")
    county_fips: str
    latitude: float | None
    longitude: float | None
    membership_note: str
    districts: list[DistrictShare] = Field(description="every district the city touches, with residents' shares")
    delegation: list[DelegationEntry] = Field(description="legislators representing its residents, Assembly first")

    @classmethod
    def build(
        cls, city: City, division: Division | None, districts: list[DistrictShare], delegation: list[DelegationMember]
    ) -> CityDetail:
        members = [
            DelegationEntry(
                chamber=m.chamber, district=m.district, share=m.share, legislator=LegislatorSummary.of(m.legislator)
            )
            for m in delegation
        ]
        return cls.model_validate(
            {**city.model_dump(), "division": _division(division), "districts": districts, "delegation": members}
        )


class OfficeOut(_FromRow):
    classification: str = Field(description="capitol | district")
    name: str
    address: str
    phone: str
    fax: str


class CommitteeSummary(BaseModel):
    id: int
    ocd_id: str = Field(description="Open States organization id")
    name: str
    full_name: str = Field(description='e.g. "Assembly Committee on Local Government"')
    chamber: str = Field(description="Assembly | Senate | Joint")

    @classmethod
    def of(cls, committee: Committee) -> CommitteeSummary:
        assert committee.id is not None
        return cls(
            id=committee.id,
            ocd_id=committee.ocd_id,
            name=committee.name,
            full_name=committee.full_name,
            chamber=str(committee.chamber),
        )


class CommitteeSeat(BaseModel):
    role: str = Field(description="chair | vice chair | co-chair | member | …")
    committee: CommitteeSummary


class LegislatorDetail(LegislatorSummary):
    given_name: str
    family_name: str
    start_date: date | None
    capitol_fax: str
    website: str
    image: str
    offices: list[OfficeOut]
    committees: list[CommitteeSeat]

    @classmethod
    def build(
        cls, legislator: Legislator, offices: list[LegislatorOffice], committees: list[tuple[Committee, str]]
    ) -> LegislatorDetail:
        seats = [CommitteeSeat(role=role, committee=CommitteeSummary.of(c)) for c, role in committees]
        return cls.model_validate(
            {
                **legislator.model_dump(),
                "chamber": str(legislator.chamber),
                "offices": [OfficeOut.model_validate(o) for o in offices],
                "committees": seats,
            }
        )


class CommitteeMember(BaseModel):
    role: str = Field(description="chair | vice chair | co-chair | member | …")
    legislator: LegislatorSummary


class CommitteeDetail(CommitteeSummary):
    classification: str
    url: str
    other_names: list[str]
    letter_channel: str = Field(description="where it takes position letters: email | portal | portal_only")
    members: list[CommitteeMember] = Field(description="chair, vice chair, then members by name")

    @classmethod
    def build(cls, committee: Committee, members: list[tuple[Legislator, str]]) -> CommitteeDetail:
        base = CommitteeSummary.of(committee).model_dump()
        return cls(
            **base,
            classification=committee.classification,
            url=committee.url,
            other_names=[n for n in committee.other_names.splitlines() if n],
            letter_channel=committee.letter_channel,
            members=[CommitteeMember(role=role, legislator=LegislatorSummary.of(m)) for m, role in members],
        )


class BillSummary(_FromRow):
    id: int
    label: str = Field(description='e.g. "AB 1567"')
    session: str = Field(description='e.g. "20252026"')
    measure_type: str
    number: int
    title: str
    status: str
    status_date: date | None
    version_date: date | None = Field(description="the version letters refer to: last amendment, else introduction")
    author_name: str
    author_id: int | None
    committee_id: int | None = Field(description="the committee now hearing it, if known")
    pending_committee_name: str


class ActionOut(_FromRow):
    date: dt.date  # the module-qualified type: a field named ``date`` would shadow ``date``
    chamber: str
    action: str


class BillDetail(BillSummary):
    origin_chamber: str
    relating_clause: str
    introduced_date: date | None
    last_action_date: date | None
    last_action: str
    topics: list[str]
    leginfo_url: str
    author: LegislatorSummary | None
    committee: CommitteeSummary | None
    actions: list[ActionOut] = Field(description="recorded actions, oldest first")

    @classmethod
    def build(
        cls, bill: Bill, author: Legislator | None, committee: Committee | None, actions: list[BillAction]
    ) -> BillDetail:
        return cls.model_validate(
            {
                **bill_summary(bill).model_dump(),
                "origin_chamber": str(bill.origin_chamber),
                "relating_clause": bill.relating_clause,
                "introduced_date": bill.introduced_date,
                "last_action_date": bill.last_action_date,
                "last_action": bill.last_action,
                "topics": [t for t in bill.topics.split(",") if t],
                "leginfo_url": bill.leginfo_url,
                "author": LegislatorSummary.of(author) if author else None,
                "committee": CommitteeSummary.of(committee) if committee else None,
                "actions": [ActionOut.model_validate(a) for a in actions],
            }
        )


def bill_summary(bill: Bill) -> BillSummary:
    return BillSummary.model_validate({**bill.model_dump(), "label": bill.label})


def _division(division: Division | None) -> DivisionRef | None:
    return DivisionRef.model_validate(division) if division is not None else None
