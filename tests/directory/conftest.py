"""Fixtures for the directory tests: a session on the shared (loaded, read-only) database and an API caller."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from advocacy.accounts.auth import hash_secret
from advocacy.accounts.models import ApiToken, Role, User
from advocacy.db import session_scope


@pytest.fixture()
def db(loaded_data: dict[str, int]) -> Iterator[Session]:
    """A session on the loaded database; anything a test leaves uncommitted is rolled back."""
    with session_scope() as session:
        yield session
        session.rollback()


@pytest.fixture()
def api_headers(loaded_data: dict[str, int]) -> dict[str, str]:
    """Bearer headers of a fresh staff user (a User and an ApiToken inserted directly)."""
    token = secrets.token_urlsafe(24)
    with session_scope() as session:
        user = User(
            email=f"directory-api-{uuid.uuid4().hex[:10]}@test.example", name="Test Directory Reader", role=Role.STAFF
        )
        session.add(user)
        session.flush()
        session.add(ApiToken(user_id=user.id or 0, token_hash=hash_secret(token), name="directory tests"))
        session.commit()
    return {"Authorization": f"Bearer {token}"}
