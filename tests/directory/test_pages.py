"""The public pages render the right content (and the city page lists its officials: names and titles only)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from advocacy.accounts.models import Role
from advocacy.db import session_scope
from advocacy.directory import service
from tests.helpers import create_user


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_home_lists_divisions_and_search(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'role="search"' in page.text and 'href="/divisions/los-angeles-county"' in page.text
    assert "South San Joaquin Valley" in page.text and 'class="skip-link"' in page.text


def test_city_page_of_a_split_city(client: Any, db: Session) -> None:
    with session_scope() as session:
        official = create_user(session, role=Role.OFFICIAL, city_geoid="0664000", title="Council Member")
        session.commit()
    sacramento = service.find_city(db, "0664000")
    assert sacramento is not None
    page = client.get(f"/cities/{sacramento.id}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "<h1>Sacramento</h1>" in page.text
    assert "Sacramento Valley" in text and "Member city" in text
    assert "AD 6 (61% of residents), AD 10 (39% of residents)" in text and "SD 8" in text
    for member in service.city_delegation(db, sacramento.id or 0):
        assert member.legislator.name in text and member.legislator.capitol_phone in text
        assert f"mailto:{member.legislator.email}" in page.text
    assert f"<strong>{official.name}</strong>, Council Member" in page.text
    assert official.email not in page.text  # officials: name and title only


def test_city_page_of_a_nonmember_single_district_city(client: Any, db: Session) -> None:
    newport = service.find_city(db, "0651182")
    assert newport is not None and not newport.is_member
    text = _text(client.get(f"/cities/{newport.id}").text)
    assert "Not a member" in text and "voted in 2024" in text
    assert "of residents)" not in text  # one district per house: no shares shown


def test_legislator_committee_and_bill_pages(client: Any, db: Session) -> None:
    bill = service.find_bill(db, "AB 1567")
    assert bill is not None and bill.author_id and bill.committee_id
    text = _text(client.get(f"/bills/{bill.id}").text)
    assert "AB 1567" in text and bill.title in text and "Engrossed" in text
    assert "Amended March 16, 2026" in text and "Senate Committee on Rules" in text
    assert "Read first time. To Com. on RLS. for assignment." in text
    assert bill.leginfo_url in client.get(f"/bills/{bill.id}").text

    author = _text(client.get(f"/legislators/{bill.author_id}").text)
    assert "Assemblymember Tri Ta" in author and "Assembly District 70" in author and "916-319-2070" in author
    assert "Capitol office" in author and "AB 1567" in author

    committee = client.get(f"/committees/{bill.committee_id}")
    assert committee.status_code == 200
    members = service.committee_members(db, bill.committee_id)
    assert "Chair" in committee.text and members[0][0].name in committee.text


def test_divisions_search_about(client: Any) -> None:
    divisions = _text(client.get("/divisions").text)
    assert "Los Angeles County" in divisions and "86" in divisions
    orange = _text(client.get("/divisions/orange-county").text)
    assert "Orange County Division" in orange and "Huntington Beach" in orange and "Irvine" in orange
    found = _text(client.get("/search", params={"q": "ab1567"}).text)
    assert "1 result for" in found and "General plan" in found
    about = _text(client.get("/about").text)
    assert "simplemaps.com/data/us-cities" in about and "CC BY 4.0" in about
    assert "LegiScan" in about and "Open States" in about and "CC0" in about
    assert client.get("/cities", params={"q": "fres"}).text.count('href="/cities/') >= 1
    assert "AB 1567" in client.get("/bills").text


def test_unknown_pages_are_clear_404s(client: Any) -> None:
    page = client.get("/cities/999999")
    assert page.status_code == 404 and "There is no city with id 999999" in page.text
    assert client.get("/divisions/atlantis").status_code == 404
    assert client.get("/legislators/999999").status_code == 404
