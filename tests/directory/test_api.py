"""The JSON API: typed shapes, bearer tokens only, problem details for unknown ids."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from advocacy.directory import service


def test_api_needs_a_token(client: Any) -> None:
    answer = client.get("/api/v1/cities")
    assert answer.status_code == 401 and answer.headers["content-type"].startswith("application/problem+json")


def test_cities_list_and_detail(client: Any, api_headers: dict[str, str]) -> None:
    found = client.get("/api/v1/cities", params={"q": "los angeles"}, headers=api_headers).json()
    assert found[0]["name"] == "Los Angeles" and found[0]["geoid"] == "0644000"
    assert found[0]["division"] == {
        "id": found[0]["division"]["id"],
        "slug": "los-angeles-county",
        "name": "Los Angeles County",
    }
    city = client.get(f"/api/v1/cities/{found[0]['id']}", headers=api_headers).json()
    assert city["is_member"] is True and city["county"] == "Los Angeles"
    assembly = [d for d in city["districts"] if d["chamber"] == "Assembly"]
    assert len(assembly) == 13 and sum(d["share"] for d in assembly) == pytest.approx(1, abs=0.002)
    first = city["delegation"][0]
    assert first["chamber"] == "Assembly" and first["legislator"]["district"] == first["district"]
    assert set(first["legislator"]) >= {"id", "name", "party", "email", "capitol_address", "capitol_phone"}
    assert client.get("/api/v1/cities", params={"limit": 0}, headers=api_headers).status_code == 400


def test_legislator_and_committee(client: Any, api_headers: dict[str, str], db: Session) -> None:
    bill = service.find_bill(db, "AB 1567")
    assert bill is not None
    author = client.get(f"/api/v1/legislators/{bill.author_id}", headers=api_headers).json()
    assert author["name"] == "Tri Ta" and author["chamber"] == "Assembly"
    assert author["offices"][0]["classification"] == "capitol"
    assert author["committees"] and {"role", "committee"} <= set(author["committees"][0])
    committee = client.get(f"/api/v1/committees/{bill.committee_id}", headers=api_headers).json()
    assert committee["full_name"] == "Senate Committee on Rules"
    assert committee["members"][0]["role"] == "chair"
    assert all(set(m) == {"role", "legislator"} for m in committee["members"])


def test_bills(client: Any, api_headers: dict[str, str]) -> None:
    found = client.get("/api/v1/bills", params={"q": "ab1567"}, headers=api_headers).json()
    assert [b["label"] for b in found] == ["AB 1567"]
    bill = client.get(f"/api/v1/bills/{found[0]['id']}", headers=api_headers).json()
    assert bill["version_date"] == "2026-03-16" and bill["session"] == "20252026"
    assert bill["author"]["name"] == "Tri Ta" and bill["committee"]["full_name"] == "Senate Committee on Rules"
    assert bill["actions"][0]["date"] <= bill["actions"][-1]["date"] and len(bill["actions"]) == 10
    assert "housing" in bill["topics"]
    assert len(client.get("/api/v1/bills", headers=api_headers).json()) == 50


@pytest.mark.parametrize("path", ["cities", "legislators", "committees", "bills"])
def test_unknown_ids_are_404_problems(client: Any, api_headers: dict[str, str], path: str) -> None:
    answer = client.get(f"/api/v1/{path}/999999", headers=api_headers)
    assert answer.status_code == 404
    problem = answer.json()
    assert problem["status"] == 404 and "999999" in problem["detail"] and problem["title"] == "Not Found"


def test_schema_documents_the_shapes(client: Any) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert {"/api/v1/cities/{city_id}", "/api/v1/bills", "/api/v1/committees/{committee_id}"} <= set(schema["paths"])
    assert {"CityDetail", "LegislatorDetail", "CommitteeDetail", "BillDetail"} <= set(schema["components"]["schemas"])
