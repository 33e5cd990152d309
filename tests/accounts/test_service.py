"""The rules on accounts, checked where they live: roles and their fields, e-mails, the audit record."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session, func, select

from advocacy.accounts import service
from advocacy.accounts.models import AuditEvent, Role, User, UserSession
from advocacy.db import session_scope
from advocacy.directory.models import City, Division


def _email() -> str:
    return f"svc-{uuid.uuid4().hex[:10]}@test.example"


def _ids(session: Session) -> tuple[int, int]:
    city = session.exec(select(City).where(City.geoid == "0653000")).one()  # Oakland
    division = session.exec(select(Division).where(Division.name == "East Bay")).one()
    assert city.id is not None and division.id is not None
    return city.id, division.id


def _users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


@pytest.mark.parametrize(
    ("role", "fields", "message"),
    [
        (Role.OFFICIAL, {}, "an official needs a city"),
        (Role.OFFICIAL, {"city": True, "division": True}, "not to a Regional Division"),
        (Role.REGIONAL_MANAGER, {}, "a regional manager needs a Regional Division"),
        (Role.REGIONAL_MANAGER, {"division": True, "city": True}, "not to a city"),
        (Role.REGIONAL_MANAGER, {"division": True, "may_sign": True}, "only an official may sign"),
        (Role.STAFF, {"city": True}, "belong to the league"),
        (Role.ADMIN, {"division": True}, "belong to the league"),
        (Role.STAFF, {"may_sign": True}, "only an official may sign"),
        (Role.OFFICIAL, {"city": True, "treasurer": True}, "only league staff"),
    ],
)
def test_role_combinations_are_checked(loaded_data: Any, role: Role, fields: dict[str, bool], message: str) -> None:
    with session_scope() as session:
        city_id, division_id = _ids(session)
        before = _users(session)
        with pytest.raises(service.AccountError, match=message):
            service.create_user(
                session,
                email=_email(),
                name="Rule Check",
                role=role,
                city_id=city_id if fields.get("city") else None,
                division_id=division_id if fields.get("division") else None,
                may_sign=fields.get("may_sign", False),
                is_treasurer=fields.get("treasurer", False),
            )
        assert _users(session) == before


def test_valid_users_of_every_role(loaded_data: Any) -> None:
    with session_scope() as session:
        city_id, division_id = _ids(session)
        official = service.create_user(
            session,
            email=_email().upper(),
            name="  Ana   Example ",
            role="official",
            city_id=city_id,
            title="Mayor",
            may_sign=True,
        )
        assert official.email == official.email.lower() and official.name == "Ana Example"
        service.create_user(session, email=_email(), name="R", role=Role.REGIONAL_MANAGER, division_id=division_id)
        service.create_user(session, email=_email(), name="S", role=Role.STAFF, is_treasurer=True)
        admin = service.create_user(session, email=_email(), name="A", role=Role.ADMIN)
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "user.create", AuditEvent.subject == f"user:{admin.id}")
        ).one()
        assert '"role": "admin"' in event.details


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-address"}, "not an e-mail address"),
        ({"email": "a@b"}, "not an e-mail address"),
        ({"name": "   "}, "needs a name"),
        ({"role": "mayor"}, "unknown role 'mayor'"),
        ({"city_id": 999_999}, "no city with id 999999"),
    ],
)
def test_bad_input_is_refused_with_a_message(loaded_data: Any, changes: dict[str, Any], message: str) -> None:
    with session_scope() as session:
        city_id, _ = _ids(session)
        fields: dict[str, Any] = {
            "email": _email(),
            "name": "Bad Input",
            "role": "official",
            "city_id": city_id,
            **changes,
        }
        with pytest.raises(service.AccountError, match=message):
            service.create_user(session, **fields)


def test_an_existing_email_is_an_error(loaded_data: Any) -> None:
    email = _email()
    with session_scope() as session:
        service.create_user(session, email=email, name="First", role=Role.STAFF)
        with pytest.raises(service.AccountError, match="already exists"):
            service.create_user(session, email=email.upper(), name="Second", role=Role.STAFF)


def test_find_city_by_geoid_id_or_name(loaded_data: Any) -> None:
    with session_scope() as session:
        oakland = service.find_city(session, "0653000")
        assert oakland.name == "Oakland"
        assert service.find_city(session, str(oakland.id)).id == oakland.id
        assert service.find_city(session, "oakland").id == oakland.id
        with pytest.raises(service.AccountError, match="no city"):
            service.find_city(session, "Atlantis")


def test_find_division_names_the_known_slugs(loaded_data: Any) -> None:
    with session_scope() as session, pytest.raises(service.AccountError, match="known: "):
        service.find_division(session, "atlantis")


def test_record_joins_the_callers_transaction(loaded_data: Any) -> None:
    subject = f"thing:{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        service.record(session, None, "test.rolled_back", subject, {"n": 1})
        session.rollback()
        service.record(session, None, "test.kept", subject, {"n": 2})
        session.commit()
    with session_scope() as session:
        events = service.audit_events(session, subject=subject)
        assert [(e.action, e.details) for e in events] == [("test.kept", '{"n": 2}')]


def test_revoking_twice_is_harmless(loaded_data: Any) -> None:
    with session_scope() as session:
        user = service.create_user(session, email=_email(), name="T", role=Role.STAFF)
        token, _ = service.create_api_token(session, user, "twice")
        assert token.id is not None
        first = service.revoke_api_token(session, token.id, actor=user)
        second = service.revoke_api_token(session, token.id, actor=user)
        assert first.revoked_at == second.revoked_at
        assert len(service.audit_events(session, action="token.revoke", subject=f"api_token:{token.id}")) == 1
        with pytest.raises(service.AccountError, match="no API token"):
            service.revoke_api_token(session, 999_999, actor=user)


def test_prune_expired_keeps_what_still_matters(loaded_data: Any) -> None:
    from datetime import timedelta

    from advocacy.accounts.models import LoginAttempt, MagicLink
    from advocacy.db import utcnow
    from advocacy.jobs import run_sweep

    long_ago = utcnow() - timedelta(days=2)
    with session_scope() as session:
        user = service.create_user(session, email=_email(), name="Prune", role=Role.STAFF)
        assert user.id is not None
        old = [
            LoginAttempt(email=user.email, client_ip="192.0.2.1", created_at=long_ago),
            MagicLink(user_id=user.id, token_hash=uuid.uuid4().hex, expires_at=long_ago),
            UserSession(user_id=user.id, token_hash=uuid.uuid4().hex, expires_at=long_ago),
        ]
        fresh = [
            LoginAttempt(email=user.email, client_ip="192.0.2.1"),
            MagicLink(user_id=user.id, token_hash=uuid.uuid4().hex, expires_at=utcnow() + timedelta(minutes=5)),
            UserSession(user_id=user.id, token_hash=uuid.uuid4().hex, expires_at=utcnow() + timedelta(days=1)),
        ]
        session.add_all(old + fresh)
        session.commit()
        old_keys = [(type(r), r.id) for r in old]
        fresh_keys = [(type(r), r.id) for r in fresh]

    assert run_sweep()["accounts.prune_expired"] >= 3
    with session_scope() as session:
        assert all(session.get(kind, key) is None for kind, key in old_keys)
        assert all(session.get(kind, key) is not None for kind, key in fresh_keys)


def test_a_link_used_by_a_concurrent_request_is_refused(loaded_data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two presses that both read the link as unused: the conditional update lets only the first one in."""
    with session_scope() as session:
        user = service.create_user(session, email=_email(), name="Race", role=Role.STAFF)
        request = service.request_login_link(session, email=user.email, client_ip="192.0.2.50")
        assert request.email is not None
        token = request.email.text.split("/login/")[1].split()[0]
        service.use_magic_link(session, token)
        # The second press read the row before the first one committed: it still looks valid to it.
        monkeypatch.setattr(service, "_link_state", lambda link, now: service.LinkState.VALID)
        with pytest.raises(service.AccountError, match="already been used"):
            service.use_magic_link(session, token)
        sessions = session.exec(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
        ).one()
        assert sessions == 1
