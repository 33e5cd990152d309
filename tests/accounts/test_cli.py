"""``advocacy users``, ``advocacy tokens`` and ``advocacy demo`` through click's CliRunner."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from advocacy.accounts.models import ApiToken, Role, User
from advocacy.accounts.service import get_user_by_email
from advocacy.cli import main
from advocacy.db import session_scope
from advocacy.demo import DEMO_CITIES, create_demo
from advocacy.directory.models import Division
from tests.helpers import bearer


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _email(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@test.example"


def _user_count() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(User)).one()


def test_users_create_an_official_by_geoid(loaded_data: Any) -> None:
    email = _email()
    result = _run(
        "users",
        "create",
        "--email",
        email,
        "--name",
        "Lee Example",
        "--role",
        "official",
        "--city",
        "0670098",
        "--title",
        "Mayor",
        "--may-sign",
    )
    assert result.exit_code == 0, result.output
    assert "Santa Rosa" in result.output and "may sign" in result.output
    with session_scope() as session:
        user = get_user_by_email(session, email)
        assert user is not None and user.role is Role.OFFICIAL and user.may_sign and user.title == "Mayor"


def test_users_create_a_regional_manager_by_division_slug(loaded_data: Any) -> None:
    with session_scope() as session:
        slug = session.exec(select(Division.slug).where(Division.name == "Orange County")).one()
    result = _run(
        "users", "create", "--email", _email(), "--name", "Kim Demo", "--role", "regional_manager", "--division", slug
    )
    assert result.exit_code == 0, result.output
    assert "Orange County" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "official"], "an official needs a city"),
        (["--role", "official", "--city", "9999999"], "no city with id, GEOID or name '9999999'"),
        (["--role", "regional_manager", "--division", "atlantis"], "no Regional Division with slug 'atlantis'"),
        (["--role", "staff", "--may-sign"], "only an official may sign"),
        (["--role", "official", "--city", "Oakland", "--division", "east-bay"], ""),
    ],
)
def test_users_create_refuses_bad_input_and_creates_nothing(loaded_data: Any, args: list[str], message: str) -> None:
    before = _user_count()
    result = _run("users", "create", "--email", _email(), "--name", "Bad Input", *args)
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output and message in result.output
    assert _user_count() == before


def test_users_create_refuses_an_existing_email(loaded_data: Any) -> None:
    email = _email()
    assert _run("users", "create", "--email", email, "--name", "One", "--role", "staff").exit_code == 0
    again = _run("users", "create", "--email", email.upper(), "--name", "Two", "--role", "admin")
    assert again.exit_code == 1 and "already exists" in again.output
    with session_scope() as session:
        user = get_user_by_email(session, email)
        assert user is not None and user.name == "One"


def test_users_create_refuses_an_unknown_role(loaded_data: Any) -> None:
    result = CliRunner().invoke(main, ["users", "create", "--email", _email(), "--name", "X", "--role", "mayor"])
    assert result.exit_code == 2 and "mayor" in result.output


def test_users_list(loaded_data: Any) -> None:
    email = _email("listed")
    _run("users", "create", "--email", email, "--name", "Listed Person", "--role", "admin")
    result = _run("users", "list", "--role", "admin")
    assert result.exit_code == 0
    assert email in result.output and "Listed Person" in result.output
    assert "official" not in result.output.split("\n", 2)[2]


def test_tokens_create_list_revoke(client: Any) -> None:
    email = _email()
    _run("users", "create", "--email", email, "--name", "Token Person", "--role", "staff")
    made = CliRunner().invoke(main, ["tokens", "create", "--email", email, "--name", "nightly export"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("adv_") and "\n" not in token and "shown once" in made.stderr
    with session_scope() as session:
        row = session.exec(
            select(ApiToken).where(ApiToken.name == "nightly export", ApiToken.user_id == User.id, User.email == email)
        ).one()
        assert token not in row.token_hash
        token_id = row.id

    listed = _run("tokens", "list", "--email", email)
    assert "nightly export" in listed.output and "active" in listed.output and token not in listed.output
    assert client.get("/api/v1/me", headers=bearer(token)).json()["email"] == email

    revoked = _run("tokens", "revoke", str(token_id))
    assert revoked.exit_code == 0 and f"Token {token_id} revoked" in revoked.output
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "revoked" in _run("tokens", "list", "--email", email).output


def test_tokens_errors(loaded_data: Any) -> None:
    unknown = _run("tokens", "create", "--email", "nobody@test.example")
    assert unknown.exit_code == 1 and "no user with the e-mail nobody@test.example" in unknown.output
    assert _run("tokens", "revoke", "999999").exit_code == 1
    assert _run("tokens", "list", "--email", "nobody@test.example").exit_code == 1


def test_demo_creates_people_once(loaded_data: Any) -> None:
    first = _run("demo")
    assert first.exit_code == 0, first.output
    second = _run("demo")
    assert second.exit_code == 0, second.output
    assert "Nothing new: the demo was already there." in second.output
    assert "/login" in second.output and "/dev/outbox" in second.output
    assert "mayor.sacramento@demo.example" in second.output

    with session_scope() as session:
        summary = create_demo(session)
        assert summary.created_count == 0
        divisions = session.exec(select(func.count()).select_from(Division)).one()
        people = summary.people
        assert len(people) == 3 + divisions + 2 * len(DEMO_CITIES)  # staff, admin, CitiPAC treasurer
        assert len({p.email for p in people}) == len(people)
        assert all(p.email.endswith("@demo.example") for p in people)
        managers = [p for p in people if p.role is Role.REGIONAL_MANAGER]
        assert len(managers) == divisions == 16
        mayors = [
            get_user_by_email(session, f"mayor.{key}@demo.example")
            for key in ("sacramento", "fresno", "long-beach", "santa-rosa")
        ]
        assert all(m is not None and m.may_sign and m.title == "Mayor" for m in mayors)
        council = get_user_by_email(session, "council.oakland@demo.example")
        assert council is not None and not council.may_sign and council.city_id is not None
        cities = {p.place for p in people if p.role is Role.OFFICIAL}
        assert len(cities) == len(DEMO_CITIES)
