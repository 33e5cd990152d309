"""The world we act on: Regional Divisions, cities and their districts, legislators, committees, bills.

Each table has an integer id for URLs and foreign keys, and the natural key of its source data (Census GEOID,
Open States id, bill number) so that loading the data again updates rows in place and duplicates nothing.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow


class Chamber(StrEnum):
    ASSEMBLY = "Assembly"
    SENATE = "Senate"
    JOINT = "Joint"


class DistrictChamber(StrEnum):
    """Census / Open States codes: ``lower`` is the Assembly, ``upper`` the Senate."""

    LOWER = "lower"
    UPPER = "upper"


class Division(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(unique=True, max_length=100)
    counties_whole: str = ""
    counties_partial: str = ""
    composition_confidence: str = Field(default="", max_length=16)
    sources: str = ""
    notes: str = ""


class City(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    geoid: str = Field(unique=True, index=True, max_length=7, description="Census place GEOID (06 + FIPS)")
    ocd_id: str = Field(max_length=200)
    name: str = Field(index=True, max_length=100)
    official_name: str = Field(max_length=100)
    lsad: str = Field(max_length=8, description="city | town")
    county: str = Field(max_length=60)
    county_fips: str = Field(max_length=5)
    latitude: float | None = None
    longitude: float | None = None
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    division_confidence: str = Field(default="", max_length=8)
    division_basis: str = ""
    is_member: bool = Field(default=True, description="member of the league")
    membership_note: str = ""
    # Letterhead: an uploaded seal or logo (stored under storage_dir), shown on the city's letters.
    seal_path: str | None = Field(default=None, max_length=300)
    address: str = Field(default="", max_length=300, description="City Hall street address for letterhead")


class CityDistrict(SQLModel, table=True):
    """A part of a city in one Assembly or Senate district, with its share of the city's 2020 residents."""

    __table_args__ = (UniqueConstraint("city_id", "chamber", "district"),)

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="city.id", index=True)
    chamber: DistrictChamber = Field(max_length=8)
    district: int
    share: float


class Legislator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ocd_id: str = Field(unique=True, index=True, max_length=100)
    name: str = Field(index=True, max_length=120)
    given_name: str = Field(default="", max_length=60)
    family_name: str = Field(default="", max_length=60)
    chamber: Chamber = Field(max_length=8)
    district: int
    party: str = Field(default="", max_length=40)
    start_date: date | None = None
    email: str = Field(default="", max_length=200)
    capitol_address: str = Field(default="", max_length=300)
    capitol_phone: str = Field(default="", max_length=40)
    capitol_fax: str = Field(default="", max_length=40)
    website: str = Field(default="", max_length=300)
    image: str = Field(default="", max_length=500)
    active: bool = Field(default=True, index=True, description="false once retired by an Open States refresh")


class LegislatorOffice(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    legislator_id: int = Field(foreign_key="legislator.id", index=True)
    classification: str = Field(max_length=16, description="capitol | district")
    name: str = Field(default="", max_length=120)
    address: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=40)
    fax: str = Field(default="", max_length=40)


class Committee(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ocd_id: str = Field(unique=True, index=True, max_length=100)
    name: str = Field(index=True, max_length=200)
    chamber: Chamber = Field(max_length=8)
    classification: str = Field(default="committee", max_length=40)
    url: str = Field(default="", max_length=300)
    other_names: str = Field(default="", description="alternative names, one per line")
    # Where the committee takes position letters (DOMAIN.md §1.2): "email", "portal" or "portal_only".
    letter_channel: str = Field(default="portal", max_length=16)
    email: str = Field(default="", max_length=200, description="committee inbox, where letters are e-mailed")

    @property
    def full_name(self) -> str:
        prefix = {"Assembly": "Assembly", "Senate": "Senate", "Joint": "Joint"}[self.chamber]
        # Open States names select committees two ways: "Wildfire Prevention Select", "Select Committee on X".
        if self.name.startswith("Select Committee on "):
            return f"{prefix} {self.name}"
        if self.name.endswith(" Select"):
            return f"{prefix} Select Committee on {self.name.removesuffix(' Select')}"
        return f"{prefix} Committee on {self.name}"


class CommitteeRole(StrEnum):
    CHAIR = "chair"
    VICE_CHAIR = "vice chair"
    MEMBER = "member"


class CommitteeMembership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("committee_id", "legislator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True)
    legislator_id: int = Field(foreign_key="legislator.id", index=True)
    role: str = Field(default=CommitteeRole.MEMBER, max_length=40)


class Bill(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("session", "measure_type", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    session: str = Field(max_length=9, description="e.g. 20252026")
    measure_type: str = Field(max_length=4, description="AB, SB, ACA, SCR, …")
    number: int
    origin_chamber: Chamber = Field(max_length=8)
    title: str
    relating_clause: str = ""
    author_name: str = Field(default="", max_length=120)
    author_id: int | None = Field(default=None, foreign_key="legislator.id", index=True)
    status: str = Field(default="Introduced", max_length=40)
    status_date: date | None = None
    introduced_date: date | None = None
    # The date of the version letters must refer to (DOMAIN.md §1.4): the last amendment, else introduction.
    version_date: date | None = None
    last_action_date: date | None = None
    last_action: str = ""
    pending_committee_name: str = Field(default="", max_length=200)
    committee_id: int | None = Field(default=None, foreign_key="committee.id", index=True)
    topics: str = Field(default="", description="comma-separated tags")
    leginfo_url: str = Field(default="", max_length=300)
    source_id: str = Field(default="", max_length=40)

    @property
    def label(self) -> str:
        return f"{self.measure_type} {self.number}"


class BillAction(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    bill_id: int = Field(foreign_key="bill.id", index=True)
    position: int = Field(description="order within the bill's history")
    date: date
    chamber: str = Field(default="", max_length=8)
    action: str


class DataImport(SQLModel, table=True):
    """One load of reference data: the shipped snapshot or an Open States refresh, with what it changed.

    The shipped load looks here: once legislators and committees have been refreshed from Open States, loading
    the (older) shipped snapshot again must not put the old members back.
    """

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20, index=True, description="shipped | openstates")
    finished_at: NaiveDatetime = Field(default_factory=utcnow)  # naive UTC, as everywhere
    summary: str = Field(default="", description="what changed, one line per change")
