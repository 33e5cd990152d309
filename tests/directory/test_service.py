"""The typed questions other packages ask the directory."""

from __future__ import annotations

import pytest
from litestar.exceptions import NotFoundException
from sqlmodel import Session

from advocacy.directory import service


def _city(session: Session, geoid: str):  # type: ignore[no-untyped-def]
    city = service.find_city(session, geoid)
    assert city is not None, geoid
    return city


def test_find_city_by_geoid_or_id(db: Session) -> None:
    fresno = _city(db, "0627000")
    assert fresno.name == "Fresno"
    assert service.find_city(db, str(fresno.id)) == fresno
    assert service.find_city(db, "Fresno") is None and service.find_city(db, "9999999") is None


def test_get_city_404_says_what_is_missing(db: Session) -> None:
    with pytest.raises(NotFoundException, match="There is no city with id 987654"):
        service.get_city(db, 987654)


def test_single_district_city_has_one_member_per_house(db: Session) -> None:
    palo_alto = _city(db, "0655282")
    delegation = service.city_delegation(db, palo_alto.id)
    assert [(m.chamber, m.share) for m in delegation] == [("Assembly", 1.0), ("Senate", 1.0)]
    assembly, senate = delegation
    assert assembly.legislator.chamber == "Assembly" and assembly.district == assembly.legislator.district
    assert senate.legislator.chamber == "Senate"


def test_los_angeles_is_split_and_shares_sum_to_one(db: Session) -> None:
    la = _city(db, "0644000")
    delegation = service.city_delegation(db, la.id)
    assembly = [m for m in delegation if m.chamber == "Assembly"]
    senate = [m for m in delegation if m.chamber == "Senate"]
    assert len(assembly) == 13 and len(senate) == 6
    assert delegation[: len(assembly)] == assembly  # Assembly first
    assert [m.share for m in assembly] == sorted((m.share for m in assembly), reverse=True)
    assert sum(m.share for m in assembly) == pytest.approx(1, abs=0.002)
    assert sum(m.share for m in senate) == pytest.approx(1, abs=0.002)
    assert all(m.legislator.active for m in delegation)


def test_zero_share_districts_are_not_in_the_delegation(db: Session) -> None:
    sf = _city(db, "0667000")
    districts = service.city_districts(db, sf.id)
    assert any(d.share == 0 for d in districts)
    delegation = service.city_delegation(db, sf.id)
    assert all(m.share > 0 for m in delegation)
    assert {(m.chamber, m.district) for m in delegation} == {
        ("Assembly" if d.chamber == "lower" else "Senate", d.district) for d in districts if d.share > 0
    }


def test_committee_members_chair_first(db: Session) -> None:
    committee = next(c for c in service.list_committees(db) if c.name == "Local Government" and c.chamber == "Assembly")
    members = service.committee_members(db, committee.id or 0)
    roles = [role for _, role in members]
    assert roles[0] == "chair" and roles[1] == "vice chair" and set(roles[2:]) == {"member"}
    rest = [m.family_name for m, _ in members[2:]]
    assert rest == sorted(rest)
    chair = members[0][0]
    assert (committee, "chair") in service.legislator_committees(db, chair.id or 0)


def test_bill_lookups(db: Session) -> None:
    for label in ("AB 1567", "ab1567", "Ab-1567"):
        found = service.list_bills(db, label)
        assert [b.label for b in found] == ["AB 1567"], label
    bill = service.find_bill(db, "AB 1567")
    assert bill is not None
    actions = service.bill_actions(db, bill.id or 0)
    assert [a.position for a in actions] == list(range(len(actions))) and len(actions) == 10
    titled = service.list_bills(db, "GENERAL plan")
    assert bill in titled and all("general plan" in b.title.lower() for b in titled)


def test_search_is_case_insensitive_across_kinds(db: Session) -> None:
    results = service.search(db, "SACRAMENTO")
    assert "Sacramento" in [c.name for c in results.cities]
    assert [b.label for b in service.search(db, "sb1072").bills] == ["SB 1072"]
    wicks = service.search(db, "wicks")
    assert [leg.name for leg in wicks.legislators] == ["Buffy Wicks"]
    assert service.search(db, "AD 6").legislators[0].district == 6
    assert service.search(db, "   ").total == 0
    assert service.search(db, "100%_").total == 0  # wildcards are literal


def test_divisions(db: Session) -> None:
    divisions = service.list_divisions(db)
    assert len(divisions) == 16 and sum(count for _, count in divisions) == 482
    la_county = service.get_division_by_slug(db, "los-angeles-county")
    cities = service.division_cities(db, la_county.id or 0)
    assert len(cities) == 86 and "Los Angeles" in [c.name for c in cities]
    with pytest.raises(NotFoundException, match="no Regional Division 'atlantis'"):
        service.get_division_by_slug(db, "atlantis")
