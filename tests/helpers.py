"""Helpers every package's tests share: users of each role, logging a test client in, CSRF and bearer tokens.

Users are created through ``advocacy.accounts.service`` (the same rules as production) and committed. Officials
need a city and regional managers a division, so tests using these helpers need the ``loaded_data`` fixture (the
``app`` and ``client`` fixtures already depend on it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from advocacy import PROJECT_DIR
from advocacy.accounts import service
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import Role, User
from advocacy.directory.models import City, Division

CSRF_COOKIE = "advocacy_csrf"
DEFAULT_CITY_GEOID = "0664000"  # Sacramento


def create_user(
    session: Session,
    *,
    role: Role = Role.OFFICIAL,
    city_geoid: str | None = None,
    division_slug: str | None = None,
    may_sign: bool = False,
    title: str = "",
    name: str | None = None,
    email: str | None = None,
) -> User:
    """A committed user with a unique e-mail. Officials default to Sacramento, regional managers to its division."""
    role = Role(role)
    suffix = uuid.uuid4().hex[:10]
    city_id = division_id = None
    if role is Role.OFFICIAL:
        city = session.exec(select(City).where(City.geoid == (city_geoid or DEFAULT_CITY_GEOID))).first()
        if city is None:
            raise LookupError(f"no city {city_geoid or DEFAULT_CITY_GEOID}: use the loaded_data fixture")
        city_id = city.id
    elif role is Role.REGIONAL_MANAGER:
        if division_slug:
            division = session.exec(select(Division).where(Division.slug == division_slug)).first()
        else:
            sacramento = session.exec(select(City).where(City.geoid == DEFAULT_CITY_GEOID)).first()
            division = (
                session.get(Division, sacramento.division_id)
                if sacramento and sacramento.division_id
                else session.exec(select(Division).order_by(col(Division.id))).first()
            )
        if division is None:
            raise LookupError(f"no division {division_slug or '(any)'}: use the loaded_data fixture")
        division_id = division.id
    return service.create_user(
        session,
        email=email or f"{role.value}-{suffix}@test.example",
        name=name or f"Test {role.value.replace('_', ' ').title()} {suffix[:6]}",
        role=role,
        title=title,
        city_id=city_id,
        division_id=division_id,
        may_sign=may_sign,
    )


def login(client: Any, user: User) -> None:
    """Log ``client`` (a litestar TestClient) in as ``user`` with a real session, and get a CSRF cookie."""
    from advocacy.db import session_scope

    with session_scope() as session:
        token = service.start_session(session, session.get(User, user.id) or user)
    client.cookies.set(SESSION_COOKIE, token)
    csrf_token(client)


def csrf_token(client: Any) -> str:
    """The CSRF token to send as form field ``_csrf_token`` or header ``x-csrftoken`` (fetches a page if needed)."""
    value = client.cookies.get(CSRF_COOKIE)
    if not value:
        client.get("/health")  # any non-API GET answers with the CSRF cookie
        value = client.cookies.get(CSRF_COOKIE)
    if not value:
        raise AssertionError("the app set no CSRF cookie")
    return str(value)


def api_token(session: Session, user: User) -> str:
    """A new API token for ``user`` (committed); returns the raw bearer value."""
    _, raw = service.create_api_token(session, session.get(User, user.id) or user, "test")
    return raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def background_process(args: list[str], log_path: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``args`` run from the project folder in a session of their own, their output in ``log_path``; stopped on the
    way out with SIGTERM (a dramatiq master stops its workers and forks), SIGKILL to the group if that hangs."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
