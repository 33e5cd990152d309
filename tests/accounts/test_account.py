"""The account page, API tokens made and revoked there, and ``GET /api/v1/me``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlmodel import select

from advocacy.accounts.auth import SESSION_COOKIE, hash_secret
from advocacy.accounts.models import ApiToken, AuditEvent, Role, User
from advocacy.db import session_scope
from advocacy.directory.models import City, Division
from tests.helpers import api_token, bearer, create_user, csrf_token, login


def _user(**kwargs: Any) -> User:
    with session_scope() as session:
        return create_user(session, **kwargs)


def test_account_page_shows_who_you_are(client: Any) -> None:
    mayor = _user(role=Role.OFFICIAL, city_geoid="0627000", title="Mayor", may_sign=True)  # Fresno
    login(client, mayor)
    page = client.get("/account")
    assert page.status_code == 200
    text = page.text
    for expected in (mayor.name, mayor.email, "City official", "Mayor", "Fresno", "South San Joaquin Valley"):
        assert expected in text, expected
    assert re.search(r"May sign letters for the city</dt><dd>Yes", text)


def test_account_page_of_a_regional_manager_and_of_staff(client: Any) -> None:
    with session_scope() as session:
        division = session.exec(select(Division).where(Division.name == "East Bay")).one()
        slug = division.slug
    manager = _user(role=Role.REGIONAL_MANAGER, division_slug=slug)
    login(client, manager)
    text = client.get("/account").text
    assert "Regional public affairs manager" in text and "East Bay" in text and "May sign" not in text

    staff = _user(role=Role.STAFF)
    login(client, staff)
    text = client.get("/account").text
    assert "League staff" in text and "Regional Division" not in text


def test_token_is_shown_once_works_and_stops_working_when_revoked(client: Any) -> None:
    user = _user(role=Role.STAFF)
    login(client, user)
    made = client.post("/account/tokens", data={"name": "my script", "_csrf_token": csrf_token(client)})
    assert made.status_code == 201
    raw = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', made.text)
    assert raw, made.text
    token = raw.group(1)
    assert token not in client.get("/account").text  # shown only once

    with session_scope() as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_secret(token))).one()
        assert row.user_id == user.id and row.name == "my script"
        token_id = row.id
        assert session.exec(
            select(AuditEvent).where(AuditEvent.action == "token.create", AuditEvent.subject == f"api_token:{token_id}")
        ).first()

    assert client.get("/api/v1/me", headers=bearer(token)).json()["email"] == user.email

    revoked = client.post(
        f"/account/tokens/{token_id}/revoke", data={"_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert revoked.status_code == 303
    gone = client.get("/api/v1/me", headers=bearer(token))
    assert gone.status_code == 401
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert "Revoked" in client.get("/account").text
    with session_scope() as session:
        assert session.exec(
            select(AuditEvent).where(AuditEvent.action == "token.revoke", AuditEvent.subject == f"api_token:{token_id}")
        ).first()


def test_nobody_revokes_someone_elses_token(client: Any) -> None:
    owner, other = _user(role=Role.STAFF), _user(role=Role.STAFF)
    with session_scope() as session:
        token = api_token(session, owner)
        token_id = session.exec(select(ApiToken.id).where(ApiToken.token_hash == hash_secret(token))).one()
    login(client, other)
    refused = client.post(f"/account/tokens/{token_id}/revoke", data={"_csrf_token": csrf_token(client)})
    assert refused.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_token_forms_need_the_csrf_token(client: Any) -> None:
    login(client, _user(role=Role.STAFF))
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 403


def test_me_for_an_official(client: Any) -> None:
    mayor = _user(role=Role.OFFICIAL, city_geoid="0664000", title="Mayor", may_sign=True)
    with session_scope() as session:
        token = api_token(session, mayor)
        city = session.exec(select(City).where(City.geoid == "0664000")).one()
        division = session.get(Division, city.division_id)
        assert division is not None
    answer = client.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200
    assert answer.json() == {
        "id": mayor.id,
        "name": mayor.name,
        "email": mayor.email,
        "role": "official",
        "title": "Mayor",
        "city": {"id": city.id, "name": "Sacramento"},
        "division": {"slug": division.slug, "name": "Sacramento Valley"},
        "may_sign": True,
    }


def test_me_for_a_regional_manager_and_staff(client: Any) -> None:
    manager = _user(role=Role.REGIONAL_MANAGER)
    staff = _user(role=Role.ADMIN)
    with session_scope() as session:
        manager_token, staff_token = api_token(session, manager), api_token(session, staff)
    body = client.get("/api/v1/me", headers=bearer(manager_token)).json()
    assert body["role"] == "regional_manager" and body["city"] is None and body["division"]["name"]
    body = client.get("/api/v1/me", headers=bearer(staff_token)).json()
    assert body["role"] == "admin" and body["city"] is None and body["division"] is None
    assert body["may_sign"] is False


def test_me_without_a_token_is_401_problem_json(client: Any) -> None:
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert anonymous.json()["status"] == 401
    assert client.get("/api/v1/me", headers=bearer("adv_not-a-token")).status_code == 401


def test_the_api_ignores_the_session_cookie(client: Any) -> None:
    login(client, _user(role=Role.STAFF))
    assert client.cookies.get(SESSION_COOKIE)
    assert client.get("/account").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_me_is_in_the_openapi_schema(client: Any) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]
    assert "/login" not in schema["paths"]


def test_token_use_is_recorded_at_most_once_a_minute_and_shown(client: Any) -> None:
    user = _user(role=Role.STAFF)
    login(client, user)
    made = client.post("/account/tokens", data={"name": "sync job", "_csrf_token": csrf_token(client)})
    raw = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', made.text)
    assert raw
    token = raw.group(1)
    page = client.get("/account").text
    assert "Never" in page  # created, not used yet

    def last_used() -> Any:
        with session_scope() as session:
            return session.exec(select(ApiToken).where(ApiToken.token_hash == hash_secret(token))).one().last_used_at

    assert last_used() is None
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    first = last_used()
    assert first is not None
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert last_used() == first  # within the minute: no second write
    with session_scope() as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_secret(token))).one()
        row.last_used_at = first - timedelta(minutes=5)
        session.add(row)
        session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert last_used() >= first  # a use after the minute is written again
    assert "Never" not in client.get("/account").text
