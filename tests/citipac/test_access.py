"""Who sees what, for every kind of caller: the treasurer sees contributor details; an official their own giving;
a regional manager their division's totals (no one's name); staff set asks; everyone else gets 403 (401 / login)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from litestar.testing import TestClient

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role
from advocacy.citipac import service
from advocacy.db import session_scope
from tests.citipac.conftest import make_treasurer
from tests.helpers import api_token, bearer, create_user

CALLERS = ["anonymous", "owner", "other_official", "regional_manager", "staff", "treasurer", "admin"]


@pytest.fixture(scope="module")
def world(loaded_data: Any) -> dict[str, Any]:
    """Users of every kind with a session cookie and an API token each; an official's pledge and contribution."""
    with session_scope() as session:
        users = {
            "owner": create_user(session, role=Role.OFFICIAL, name="Jordan Fictional-Owner"),
            "other_official": create_user(session, role=Role.OFFICIAL, city_geoid="0644000"),
            "regional_manager": create_user(session, role=Role.REGIONAL_MANAGER),
            "staff": create_user(session, role=Role.STAFF),
            "treasurer": make_treasurer(session),
            "admin": create_user(session, role=Role.ADMIN),
        }
        cookies = {kind: accounts.start_session(session, user) for kind, user in users.items()}
        tokens = {kind: api_token(session, user) for kind, user in users.items()}
        pledge = service.create_pledge(
            session,
            users["owner"],
            service.PledgeInput(
                amount="300",
                source="personal",
                account_holder="personal",
                payer_name="Jordan Fictional-Owner",
                payer_street="12 Elm Street",
                payer_city="Sacramento",
                payer_zip="95818",
                payer_email="jordan.owner@gmail.com",
                attest=True,
            ),
        )
        result = service.record_contribution(
            session,
            users["treasurer"],
            service.ContributionInput(
                amount="300",
                method="check",
                received_on=date(2026, 3, 3),
                pledge_id=pledge.id,
                contributor=service.contributor_input_for_pledge(session, pledge),
            ),
            today=date(2026, 3, 3),
        )
    return {
        "users": users,
        "cookies": cookies,
        "tokens": tokens,
        "pledge_id": pledge.id,
        "contributor_id": result.contributor.id,
        "entry_id": result.entry.id,
    }


@pytest.fixture(scope="module")
def module_client(world: dict[str, Any]) -> Iterator[TestClient[Any]]:
    from advocacy.app import create_app

    with TestClient(create_app()) as client:
        yield client


def as_page_caller(client: TestClient[Any], world: dict[str, Any], caller: str) -> None:
    client.cookies.clear()
    if caller != "anonymous":
        client.cookies.set(SESSION_COOKIE, world["cookies"][caller])


TREASURER = {"treasurer"}
PAGES = [
    ("/citipac", {"owner", "other_official", "regional_manager", "staff", "treasurer", "admin"}),
    ("/citipac/ledger", TREASURER),
    ("/citipac/queue", TREASURER),
    ("/citipac/contributors", TREASURER),
    ("/citipac/contributions/new", TREASURER),
    ("/citipac/entries/{entry_id}", TREASURER),
    ("/citipac/exports", TREASURER),
    ("/citipac/exports/schedule-a.csv?from=2026-01-01&to=2026-12-31", TREASURER),
    ("/citipac/exports/sixty-day.csv?from=2026-01-01&to=2026-12-31", TREASURER),
    ("/citipac/exports/major-donors.csv?year=2026", TREASURER),
    ("/citipac/settings", TREASURER),
    ("/citipac/contributors/{contributor_id}", {"owner", "treasurer"}),
    ("/citipac/pledges/{pledge_id}", {"owner", "treasurer"}),
    ("/citipac/asks", {"staff", "treasurer", "admin"}),
    ("/citipac/divisions", {"regional_manager", "treasurer"}),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("path", "allowed"), PAGES)
def test_page_access(
    module_client: TestClient[Any], world: dict[str, Any], path: str, allowed: set[str], caller: str
) -> None:
    as_page_caller(module_client, world, caller)
    url = path.format(**world)
    answer = module_client.get(url, follow_redirects=False)
    if caller in allowed:
        assert answer.status_code == 200, answer.text[:500]
    elif caller == "anonymous":
        assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/login")
    else:
        assert answer.status_code == 403, answer.text[:300]


API = [
    ("GET", "/api/v1/citipac/contributors/{contributor_id}", {"owner", "treasurer"}, 200),
    ("GET", "/api/v1/citipac/exports/schedule-a?from=2026-01-01&to=2026-12-31", TREASURER, 200),
    ("POST", "/api/v1/citipac/contributions", TREASURER, 201),
    ("POST", "/api/v1/citipac/pledges", {"owner", "other_official"}, 201),
]


def _body(path: str, world: dict[str, Any]) -> dict[str, Any] | None:
    if path.endswith("/contributions"):
        return {
            "amount": "5.00",
            "method": "check",
            "received_on": "2026-03-04",
            "contributor": {"kind": "business", "organization_name": "Access Matrix Supplies"},
        }
    if path.endswith("/pledges"):
        return {
            "amount": "25",
            "source": "personal",
            "account_holder": "personal",
            "payer_name": "A Person",
            "payer_email": "a.person@gmail.com",
            "attest": True,
        }
    return None


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "allowed", "ok"), API)
def test_api_access(
    module_client: TestClient[Any],
    world: dict[str, Any],
    method: str,
    path: str,
    allowed: set[str],
    ok: int,
    caller: str,
) -> None:
    module_client.cookies.clear()
    headers = bearer(world["tokens"][caller]) if caller != "anonymous" else {}
    answer = module_client.request(method, path.format(**world), headers=headers, json=_body(path, world))
    expected = ok if caller in allowed else 401 if caller == "anonymous" else 403
    assert answer.status_code == expected, answer.text[:500]
    if expected != ok:
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_regional_manager_sees_totals_but_no_names(module_client: TestClient[Any], world: dict[str, Any]) -> None:
    as_page_caller(module_client, world, "regional_manager")
    page = module_client.get("/citipac/divisions?year=2026")
    assert page.status_code == 200
    assert "Jordan Fictional-Owner" not in page.text and "jordan.owner@gmail.com" not in page.text
    assert "Totals only" in page.text


def test_an_official_sees_their_own_giving_only(module_client: TestClient[Any], world: dict[str, Any]) -> None:
    as_page_caller(module_client, world, "owner")
    mine = module_client.get("/citipac")
    assert "Your giving" in mine.text and "$300.00" in mine.text
    as_page_caller(module_client, world, "other_official")
    theirs = module_client.get("/citipac")
    assert "Jordan Fictional-Owner" not in theirs.text and "$300.00" not in theirs.text
    answer = module_client.get(
        f"/api/v1/citipac/contributors/{world['contributor_id']}", headers=bearer(world["tokens"]["owner"])
    )
    assert answer.json()["name"] == "Jordan Fictional-Owner"
    assert answer.json()["totals_by_year"]["2026"] == "300.00"


def test_a_contributor_that_does_not_exist(module_client: TestClient[Any], world: dict[str, Any]) -> None:
    module_client.cookies.clear()
    missing = "/api/v1/citipac/contributors/999999999"
    assert module_client.get(missing, headers=bearer(world["tokens"]["treasurer"])).status_code == 404
    assert module_client.get(missing, headers=bearer(world["tokens"]["owner"])).status_code == 403
