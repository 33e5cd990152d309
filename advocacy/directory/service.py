"""Typed questions about the world we act on: cities, their legislators, committees, bills, divisions.

Other packages call these (never the routes). ``get_*`` raise Litestar's ``NotFoundException`` with a message a
person can act on; ``find_*`` return ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.directory.models import (
    Bill,
    BillAction,
    Chamber,
    City,
    CityDistrict,
    Committee,
    CommitteeMembership,
    DataImport,
    DistrictChamber,
    Division,
    Legislator,
    LegislatorOffice,
)

DISTRICT_CHAMBER = {DistrictChamber.LOWER: Chamber.ASSEMBLY, DistrictChamber.UPPER: Chamber.SENATE}
# Chair first, then co-chairs and vice chairs, then members; alternates and anything unusual last.
ROLE_ORDER = {"chair": 0, "co-chair": 1, "vice chair": 2, "member": 3}
_BILL_LABEL = re.compile(r"^\s*([a-z]{2,3})\s*-?\s*(\d{1,5})\s*$", re.IGNORECASE)
_DISTRICT_LABEL = re.compile(r"^\s*(ad|sd)\s*-?\s*(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DelegationMember:
    """A legislator who represents (part of) a city's residents."""

    legislator: Legislator
    chamber: str  # "Assembly" | "Senate"
    district: int
    share: float  # of the city's 2020 residents living in the district


@dataclass(frozen=True)
class SearchResults:
    cities: list[City]
    legislators: list[Legislator]
    bills: list[Bill]

    @property
    def total(self) -> int:
        return len(self.cities) + len(self.legislators) + len(self.bills)


def _get(session: Session, model: type[Any], row_id: int, what: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundException(f"There is no {what} with id {row_id}.")
    return row


# ---------------------------------------------------------------------------------------------- cities


def get_city(session: Session, city_id: int) -> City:
    """The city, or 404 "There is no city with id …"."""
    city: City = _get(session, City, city_id, "city")
    return city


def find_city(session: Session, id_or_geoid: str) -> City | None:
    """A city by its 7-digit Census GEOID (e.g. "0644000") or by its id."""
    text = id_or_geoid.strip()
    if not text.isdigit():
        return None
    if len(text) == 7:
        found = session.exec(select(City).where(City.geoid == text)).first()
        if found is not None:
            return found
    return session.get(City, int(text)) if len(text) < 10 else None


def city_districts(session: Session, city_id: int) -> list[CityDistrict]:
    """Every Assembly, then Senate, district the city touches, biggest share of residents first."""
    return list(
        session.exec(
            select(CityDistrict)
            .where(CityDistrict.city_id == city_id)
            .order_by(col(CityDistrict.chamber), col(CityDistrict.share).desc(), col(CityDistrict.district))
        ).all()
    )


def city_delegation(session: Session, city_id: int) -> list[DelegationMember]:
    """The active legislators whose districts hold some of the city's residents: Assembly first, biggest share first."""
    rows = session.exec(
        select(CityDistrict, Legislator)
        .join(Legislator, (col(Legislator.district) == CityDistrict.district))
        .where(CityDistrict.city_id == city_id, col(CityDistrict.share) > 0, col(Legislator.active).is_(True))
    ).all()
    members = [
        DelegationMember(legislator, DISTRICT_CHAMBER[part.chamber].value, part.district, part.share)
        for part, legislator in rows
        if legislator.chamber == DISTRICT_CHAMBER[part.chamber]
    ]
    return sorted(members, key=lambda m: (m.chamber != "Assembly", -m.share, m.district))


def city_officials(session: Session, city_id: int) -> list[User]:
    """The city's active officials (users with the official role), by name."""
    return list(
        session.exec(
            select(User)
            .where(User.city_id == city_id, User.role == Role.OFFICIAL, col(User.active).is_(True))
            .order_by(col(User.name))
        ).all()
    )


def list_cities(session: Session, q: str = "", limit: int = 50) -> list[City]:
    """Cities whose name (or official name) contains ``q``, names starting with it first; all cities if empty."""
    statement = select(City)
    text = q.strip().lower()
    if text:
        statement = statement.where(
            or_(
                func.lower(col(City.name)).contains(text, autoescape=True),
                func.lower(col(City.official_name)).contains(text, autoescape=True),
                col(City.geoid) == text,
            )
        )
        starts = func.lower(col(City.name)).startswith(text, autoescape=True)
        statement = statement.order_by(starts.desc(), col(City.name))
    else:
        statement = statement.order_by(col(City.name))
    return list(session.exec(statement.limit(limit)).all())


# ---------------------------------------------------------------------------------------------- divisions


def list_divisions(session: Session) -> list[tuple[Division, int]]:
    """Every Regional Division with its number of cities, by name."""
    rows = session.exec(
        select(Division, func.count(col(City.id)))
        .join(City, col(City.division_id) == Division.id, isouter=True)
        .group_by(col(Division.id))
        .order_by(col(Division.name))
    ).all()
    return [(division, int(count)) for division, count in rows]


def get_division(session: Session, division_id: int) -> Division:
    division: Division = _get(session, Division, division_id, "Regional Division")
    return division


def get_division_by_slug(session: Session, slug: str) -> Division:
    """A Regional Division by its slug (e.g. "los-angeles-county"), or 404."""
    division = session.exec(select(Division).where(Division.slug == slug.strip().lower())).first()
    if division is None:
        raise NotFoundException(f"There is no Regional Division {slug!r}. See /divisions for the list.")
    return division


def division_cities(session: Session, division_id: int) -> list[City]:
    """The division's cities by name."""
    return list(session.exec(select(City).where(City.division_id == division_id).order_by(col(City.name))).all())


# ---------------------------------------------------------------------------------------------- legislators


def get_legislator(session: Session, legislator_id: int) -> Legislator:
    """The legislator (active or retired), or 404."""
    legislator: Legislator = _get(session, Legislator, legislator_id, "legislator")
    return legislator


def legislator_offices(session: Session, legislator_id: int) -> list[LegislatorOffice]:
    """Capitol office first, then district offices, in file order."""
    offices = session.exec(
        select(LegislatorOffice)
        .where(LegislatorOffice.legislator_id == legislator_id)
        .order_by(col(LegislatorOffice.id))
    ).all()
    return sorted(offices, key=lambda o: o.classification != "capitol")


def legislator_committees(session: Session, legislator_id: int) -> list[tuple[Committee, str]]:
    """The committees the legislator sits on, with the role: chairs first, then by committee name."""
    rows = session.exec(
        select(Committee, CommitteeMembership.role)
        .join(CommitteeMembership, col(CommitteeMembership.committee_id) == Committee.id)
        .where(CommitteeMembership.legislator_id == legislator_id)
    ).all()
    return sorted(((c, role) for c, role in rows), key=lambda r: (ROLE_ORDER.get(r[1], 9), r[0].name))


def legislator_bills(session: Session, legislator_id: int) -> list[Bill]:
    """Bills the legislator authored, by measure type and number."""
    return list(
        session.exec(
            select(Bill).where(Bill.author_id == legislator_id).order_by(col(Bill.measure_type), col(Bill.number))
        ).all()
    )


def districts_represented(session: Session, legislator: Legislator) -> list[tuple[City, float]]:
    """The cities with residents in the legislator's district, and the share of each city living there."""
    chamber = DistrictChamber.LOWER if legislator.chamber == Chamber.ASSEMBLY else DistrictChamber.UPPER
    rows = session.exec(
        select(City, CityDistrict.share)
        .join(CityDistrict, col(CityDistrict.city_id) == City.id)
        .where(
            CityDistrict.chamber == chamber, CityDistrict.district == legislator.district, col(CityDistrict.share) > 0
        )
        .order_by(col(City.name))
    ).all()
    return [(city, share) for city, share in rows]


# ---------------------------------------------------------------------------------------------- committees


def get_committee(session: Session, committee_id: int) -> Committee:
    committee: Committee = _get(session, Committee, committee_id, "committee")
    return committee


def committee_members(session: Session, committee_id: int) -> list[tuple[Legislator, str]]:
    """Chair, vice chair, then members by family name."""
    rows = session.exec(
        select(Legislator, CommitteeMembership.role)
        .join(CommitteeMembership, col(CommitteeMembership.legislator_id) == Legislator.id)
        .where(CommitteeMembership.committee_id == committee_id)
    ).all()
    return sorted(
        ((m, role) for m, role in rows),
        key=lambda r: (ROLE_ORDER.get(r[1], 9), r[0].family_name or r[0].name, r[0].name),
    )


def committee_bills(session: Session, committee_id: int) -> list[Bill]:
    """Bills waiting in the committee now."""
    return list(
        session.exec(
            select(Bill).where(Bill.committee_id == committee_id).order_by(col(Bill.measure_type), col(Bill.number))
        ).all()
    )


def list_committees(session: Session) -> list[Committee]:
    return list(session.exec(select(Committee).order_by(col(Committee.chamber), col(Committee.name))).all())


# ---------------------------------------------------------------------------------------------- bills


def get_bill(session: Session, bill_id: int) -> Bill:
    bill: Bill = _get(session, Bill, bill_id, "bill")
    return bill


def find_bill(session: Session, label: str) -> Bill | None:
    """A bill of the current session by its label: "AB 123", "ab123", "SB-5"."""
    match = _BILL_LABEL.match(label)
    if not match:
        return None
    return session.exec(
        select(Bill)
        .where(Bill.measure_type == match.group(1).upper(), Bill.number == int(match.group(2)))
        .order_by(col(Bill.session).desc())
    ).first()


def bill_actions(session: Session, bill_id: int) -> list[BillAction]:
    """The bill's recorded actions, oldest first."""
    return list(
        session.exec(select(BillAction).where(BillAction.bill_id == bill_id).order_by(col(BillAction.position))).all()
    )


def list_bills(session: Session, q: str = "", limit: int = 50) -> list[Bill]:
    """Bills matching ``q``: a label ("AB 123", "ab123") or words that all appear in the title or author's name."""
    statement = select(Bill)
    match = _BILL_LABEL.match(q)
    if match:
        statement = statement.where(Bill.measure_type == match.group(1).upper(), Bill.number == int(match.group(2)))
    else:
        for word in q.lower().split():
            statement = statement.where(
                or_(
                    func.lower(col(Bill.title)).contains(word, autoescape=True),
                    func.lower(col(Bill.author_name)).contains(word, autoescape=True),
                )
            )
    statement = statement.order_by(col(Bill.measure_type), col(Bill.number)).limit(limit)
    return list(session.exec(statement).all())


# ---------------------------------------------------------------------------------------------- search


def search(session: Session, q: str, limit: int = 25) -> SearchResults:
    """Cities, legislators and bills matching ``q`` (case-insensitive); empty for an empty query."""
    text = q.strip()
    if not text:
        return SearchResults([], [], [])
    return SearchResults(
        list_cities(session, text, limit), _find_legislators(session, text, limit), list_bills(session, text, limit)
    )


def _find_legislators(session: Session, q: str, limit: int) -> list[Legislator]:
    statement = select(Legislator).where(col(Legislator.active).is_(True))
    district = _DISTRICT_LABEL.match(q)
    if district:  # "AD 12" / "SD 3"
        chamber = Chamber.ASSEMBLY if district.group(1).lower() == "ad" else Chamber.SENATE
        statement = statement.where(Legislator.chamber == chamber, Legislator.district == int(district.group(2)))
    else:
        for word in q.lower().split():
            statement = statement.where(func.lower(col(Legislator.name)).contains(word, autoescape=True))
    statement = statement.order_by(col(Legislator.family_name), col(Legislator.name)).limit(limit)
    return list(session.exec(statement).all())


# ---------------------------------------------------------------------------------------------- data provenance


def last_imports(session: Session) -> dict[str, DataImport]:
    """The latest load of each source ("shipped", "openstates") that changed something."""
    latest: dict[str, DataImport] = {}
    for row in session.exec(select(DataImport).order_by(col(DataImport.finished_at))).all():
        latest[row.source] = row
    return latest
