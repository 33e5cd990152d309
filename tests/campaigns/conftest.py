"""Fixtures for the campaigns tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from advocacy.accounts.models import Role, User
from advocacy.db import session_scope
from tests.helpers import create_user


@pytest.fixture()
def make_official_in(loaded_data: dict[str, int]) -> Callable[..., User]:
    """A user of ``role`` (an official of Sacramento by default, who may sign)."""

    def make(role: Role = Role.OFFICIAL) -> User:
        with session_scope() as session:
            return create_user(session, role=role, may_sign=role is Role.OFFICIAL,
                               title="Mayor" if role is Role.OFFICIAL else "")

    return make
