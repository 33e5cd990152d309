"""Who is calling, and what they may do.

``AuthMiddleware`` puts the caller in ``scope["user"]`` (a ``User`` or ``None``): from the session cookie on
pages, from a bearer token on ``/api``. API calls never authenticate by cookie, so the JSON API needs no CSRF
token and a page can never be tricked into calling it with the visitor's session.

Every route declares who may use it with ``guards=[allow(Role.…)]`` or ``guards=[PUBLIC]``; a test walks the app
and fails on any route that declares nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from litestar.connection import ASGIConnection, Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlmodel import Session, col, select

from advocacy.accounts.models import ApiToken, Role, User, UserSession
from advocacy.db import get_engine, utcnow

SESSION_COOKIE = "advocacy_session"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_from_session_token(session: Session, token: str) -> tuple[User, UserSession] | None:
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == UserSession.user_id)
        .where(UserSession.token_hash == hash_secret(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.ended_at is not None or user_session.expires_at <= utcnow() or not user.active:
        return None
    return user, user_session


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def user_from_api_token(session: Session, token: str) -> User | None:
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_secret(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at >= TOKEN_USE_RESOLUTION:
        # Shown on the account page so an owner can tell a forgotten token from a live one. Written at most once
        # a minute per token: a busy integration must not turn every API read into a database write.
        api_token.last_used_at = now
        session.add(api_token)
        session.commit()
    return user


class AuthMiddleware(ASGIMiddleware):
    """Sets ``scope["user"]`` (and ``scope["user_session"]`` for cookie logins) on every HTTP request."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        scope.setdefault("state", {})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path: str = scope.get("path", "")
        if path.startswith("/api/"):
            authorization = headers.get("authorization", "")
            if authorization.lower().startswith("bearer "):
                scope["user"] = await anyio.to_thread.run_sync(_lookup_api_token, authorization[7:].strip())
        else:
            token = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
            if token:
                found = await anyio.to_thread.run_sync(_lookup_session, token)
                if found:
                    scope["user"], scope["state"]["user_session"] = found
        await next_app(scope, receive, send)


def _lookup_api_token(token: str) -> User | None:
    with Session(get_engine(), expire_on_commit=False) as session:
        return user_from_api_token(session, token)


def _lookup_session(token: str) -> tuple[User, UserSession] | None:
    with Session(get_engine(), expire_on_commit=False) as session:
        return user_from_session_token(session, token)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


@dataclass(frozen=True)
class Allow:
    """A guard: the caller must be logged in with one of ``roles`` (admins may do anything staff may)."""

    roles: frozenset[Role]
    public: bool = False

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        if self.public:
            return
        user: User | None = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException("Please log in.")
        effective = {user.role} | ({Role.STAFF} if user.role is Role.ADMIN else set())
        if not effective & self.roles:
            raise PermissionDeniedException("Your account may not use this page.")


def allow(*roles: Role) -> Allow:
    if not roles:
        raise ValueError("name at least one role, or use PUBLIC")
    return Allow(roles=frozenset(roles))


PUBLIC = Allow(roles=frozenset(), public=True)
LOGGED_IN = allow(*Role)


# Dependencies take ``request`` (a name litestar reserves): a parameter named ``connection`` would be read as a
# query parameter.
def current_user(request: Request[Any, Any, Any]) -> User:
    """Dependency for guarded routes: the logged-in caller."""
    user: User | None = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Please log in.")
    return user


def optional_user(request: Request[Any, Any, Any]) -> User | None:
    """Dependency for public routes that show more to a logged-in caller."""
    user: User | None = request.scope.get("user")
    return user
