"""Fixtures for the accounts tests: a memory mailer, and login attempts from the test client forgotten per test.

Every request of litestar's TestClient comes from the same client address, so without clearing its attempts the
per-IP login limit would carry over from one test to the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, delete

from advocacy.accounts.models import LoginAttempt
from advocacy.db import session_scope
from advocacy.mail import MemoryMailer, reset_mailer

TEST_CLIENT_IP = "testclient"


@pytest.fixture()
def mailer() -> Iterator[MemoryMailer]:
    memory = MemoryMailer()
    reset_mailer(memory)
    yield memory
    reset_mailer(None)


@pytest.fixture(autouse=True)
def _forget_test_client_attempts(database: str) -> Iterator[None]:
    def forget() -> None:
        with session_scope() as session:
            session.exec(delete(LoginAttempt).where(col(LoginAttempt.client_ip) == TEST_CLIENT_IP))  # type: ignore[call-overload]
            session.commit()

    forget()
    yield
    forget()
