"""Who the users are and what each may do: accounts, magic-link login, sessions, API tokens, the audit trail.

Every rule about accounts lives here, and every function that changes something commits (except ``record``,
which joins the caller's transaction so that an audit event is stored exactly when the change it describes is).
Secrets (link tokens, session tokens, API tokens) are returned once to the caller and stored only as SHA-256.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from advocacy.accounts.auth import hash_secret
from advocacy.accounts.models import ApiToken, AuditEvent, LoginAttempt, MagicLink, Role, User, UserSession
from advocacy.db import utcnow
from advocacy.directory.models import City, Division
from advocacy.mail import Address, Email, MailError, Personalization, get_mailer, render_email
from advocacy.settings import get_settings

log = logging.getLogger("advocacy.accounts")

LOGIN_RATE_WINDOW = timedelta(minutes=15)
API_TOKEN_PREFIX = "adv_"  # noqa: S105  (not a secret: it makes a leaked token recognisable)
_EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


class AccountError(ValueError):
    """Bad input or a forbidden change; the message is meant for the person who asked."""


# ---------------------------------------------------------------------------------------------------------------
# Audit


def record(session: Session, actor: User | None, action: str, subject: str = "", details: Any = None) -> AuditEvent:
    """Add an audit event to the caller's transaction (stored when the caller commits).

    ``action`` is a dotted verb such as ``user.create``; ``subject`` names what was acted on (``user:12``);
    ``details`` is any JSON-serialisable value, or a string.
    """
    text = details if isinstance(details, str) else json.dumps(details, sort_keys=True, default=str) if details else ""
    event = AuditEvent(actor_id=actor.id if actor else None, action=action, subject=subject[:200], details=text)
    session.add(event)
    return event


def audit_events(
    session: Session, *, action: str | None = None, subject: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The latest audit events, newest first, optionally only one action or one subject."""
    query = select(AuditEvent)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    return list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)).all())


# ---------------------------------------------------------------------------------------------------------------
# Users


def _id(user: User) -> int:
    if user.id is None:
        raise ValueError("the user has not been stored yet")
    return user.id


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def is_valid_email(address: str) -> bool:
    return len(address) <= 254 and bool(_EMAIL_RE.match(address))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def list_users(session: Session, *, role: Role | None = None) -> list[User]:
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    return list(session.exec(query.order_by(col(User.role), col(User.email))).all())


def find_city(session: Session, reference: str) -> City:
    """A city by Census GEOID (``0664000``), by id, or by its exact name when that name is unique."""
    ref = reference.strip()
    city = session.exec(select(City).where(City.geoid == ref)).first()
    if city is None and ref.isdigit() and len(ref) < 7:
        city = session.get(City, int(ref))
    if city is None and ref and not ref.isdigit():
        matches = list(session.exec(select(City).where(func.lower(City.name) == ref.lower())).all())
        if len(matches) > 1:
            raise AccountError(f"{len(matches)} cities are named {ref!r}: give the GEOID instead")
        city = matches[0] if matches else None
    if city is None:
        raise AccountError(f"no city with id, GEOID or name {ref!r} (is the California data loaded?)")
    return city


def find_division(session: Session, slug: str) -> Division:
    division = session.exec(select(Division).where(Division.slug == slug.strip())).first()
    if division is None:
        known = ", ".join(session.exec(select(Division.slug).order_by(col(Division.slug))).all())
        raise AccountError(f"no Regional Division with slug {slug!r}" + (f"; known: {known}" if known else ""))
    return division


def check_role_fields(
    role: Role, *, city_id: int | None, division_id: int | None, may_sign: bool, is_treasurer: bool = False
) -> None:
    """The combinations a role allows: an official belongs to a city, a regional manager to a division."""
    if role is Role.OFFICIAL:
        if city_id is None:
            raise AccountError("an official needs a city")
        if division_id is not None:
            raise AccountError(
                "an official belongs to a city, not to a Regional Division (the city's division follows from the city)"
            )
    elif role is Role.REGIONAL_MANAGER:
        if division_id is None:
            raise AccountError("a regional manager needs a Regional Division")
        if city_id is not None:
            raise AccountError("a regional manager belongs to a Regional Division, not to a city")
    elif city_id is not None or division_id is not None:
        raise AccountError(f"{role.value} accounts belong to the league, not to a city or a Regional Division")
    if may_sign and role is not Role.OFFICIAL:
        raise AccountError("only an official may sign letters for a city")
    if is_treasurer and role not in (Role.STAFF, Role.ADMIN):
        raise AccountError("only league staff can be the CitiPAC treasurer")


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role | str,
    title: str = "",
    city_id: int | None = None,
    division_id: int | None = None,
    may_sign: bool = False,
    is_treasurer: bool = False,
    actor: User | None = None,
) -> User:
    """Create an account after checking every rule; nothing is stored when one fails."""
    address = normalize_email(email)
    if not is_valid_email(address):
        raise AccountError(f"not an e-mail address: {email!r}")
    name = " ".join(name.split())
    if not name:
        raise AccountError("a user needs a name")
    if len(name) > 120 or len(title) > 120:
        raise AccountError("name and title are at most 120 characters")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}") from None
    check_role_fields(role, city_id=city_id, division_id=division_id, may_sign=may_sign, is_treasurer=is_treasurer)
    if city_id is not None and session.get(City, city_id) is None:
        raise AccountError(f"no city with id {city_id}")
    if division_id is not None and session.get(Division, division_id) is None:
        raise AccountError(f"no Regional Division with id {division_id}")
    if get_user_by_email(session, address) is not None:
        raise AccountError(f"a user with the e-mail {address} already exists")
    user = User(
        email=address,
        name=name,
        role=role,
        title=title.strip(),
        city_id=city_id,
        division_id=division_id,
        may_sign=may_sign,
        is_treasurer=is_treasurer,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        f"user:{user.id}",
        {"email": address, "role": role.value, "city_id": city_id, "division_id": division_id, "may_sign": may_sign},
    )
    session.commit()
    return user


# ---------------------------------------------------------------------------------------------------------------
# Magic-link login


def safe_next_path(raw: str | None, default: str = "/account") -> str:
    """Only a local absolute path may follow a login (never another site: no open redirect)."""
    if not raw:
        return default
    value = raw.strip()
    parts = urlsplit(value)
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or parts.scheme
        or parts.netloc
        or any(ord(c) < 32 for c in value)
        or len(value) > 500
        or value.startswith("/login")
    ):
        return default
    return value


@dataclass
class LoginRequest:
    """What asking for a login link led to. The page shown is the same whatever happened (except ``ip_limited``)."""

    ip_limited: bool = False
    # The e-mail to send, when the address belongs to an active user who is not over the limit.
    email: Email | None = None


def request_login_link(session: Session, *, email: str, client_ip: str, next_path: str | None = None) -> LoginRequest:
    """Record the attempt and, for an active user within the limits, create a single-use link and its e-mail.

    The caller sends ``email`` (outside this transaction) and shows the same "check your e-mail" page for known
    and unknown addresses alike, so the page never reveals who has an account.
    """
    settings = get_settings()
    now = utcnow()
    since = now - LOGIN_RATE_WINDOW
    address = normalize_email(email)[:254]
    client_ip = (client_ip or "unknown")[:64]
    by_ip = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.client_ip == client_ip, col(LoginAttempt.created_at) > since)
    ).one()
    if by_ip >= settings.login_rate_limit:
        log.warning("login links: client %s over its limit", client_ip)
        return LoginRequest(ip_limited=True)
    by_address = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == address, col(LoginAttempt.created_at) > since)
    ).one()
    session.add(LoginAttempt(email=address, client_ip=client_ip, created_at=now))
    result = LoginRequest()
    user = get_user_by_email(session, address) if is_valid_email(address) else None
    if by_address >= settings.login_rate_limit:
        log.warning("login links: address over its limit; nothing sent")
    elif user is not None and user.active:
        token = secrets.token_urlsafe(32)
        session.add(
            MagicLink(
                user_id=_id(user),
                token_hash=hash_secret(token),
                next_path=safe_next_path(next_path),
                created_at=now,
                expires_at=now + timedelta(minutes=settings.magic_link_minutes),
            )
        )
        result.email = login_email(user, token)
    session.commit()
    return result


def login_email(user: User, token: str) -> Email:
    settings = get_settings()
    link = f"{settings.base_url.rstrip('/')}/login/{token}"
    subject, text, html = render_email("login", {"user": user, "link": link, "minutes": settings.magic_link_minutes})
    return Email(
        subject=subject,
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        html=html,
        personalizations=[Personalization(to=[Address(user.email, user.name)])],
        categories=["login"],
    )


def send_login_email(email: Email) -> None:
    """Send a login e-mail now. A failure is logged, never shown: the page must not differ for known users."""
    try:
        get_mailer().send(email)
    except MailError:
        log.exception("login e-mail could not be sent")


class LinkState(StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


LINK_MESSAGES = {
    LinkState.USED: "This login link has already been used. Each link works once: ask for a new one below.",
    LinkState.EXPIRED: "This login link has expired. Ask for a new one below.",
    LinkState.UNKNOWN: "This login link is not valid (it may be incomplete: check that you copied all of it). "
    "Ask for a new one below.",
}


def _link_state(link: MagicLink | None, now: datetime) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


def check_magic_link(session: Session, token: str) -> LinkState:
    """What a login link is worth, without using it (mail scanners open links; only the button logs in)."""
    link = session.exec(select(MagicLink).where(MagicLink.token_hash == hash_secret(token))).first()
    return _link_state(link, utcnow())


@dataclass
class LoginResult:
    user: User
    session_token: str
    next_path: str


def use_magic_link(session: Session, token: str, *, previous: UserSession | None = None) -> LoginResult:
    """Log in with a link: mark it used (exactly once, even when two requests race) and start a session.

    Raises ``AccountError`` with a message for the person when the link is unknown, used or expired.
    """
    now = utcnow()
    token_hash = hash_secret(token)
    link = session.exec(select(MagicLink).where(MagicLink.token_hash == token_hash)).first()
    state = _link_state(link, now)
    if link is None or state is not LinkState.VALID:
        raise AccountError(LINK_MESSAGES[state])
    # The conditional UPDATE is the single-use guarantee: of two concurrent presses only one changes a row.
    claimed = session.execute(
        update(MagicLink).where(col(MagicLink.id) == link.id, col(MagicLink.used_at).is_(None)).values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise AccountError(LINK_MESSAGES[LinkState.USED])
    user = session.get(User, link.user_id)
    if user is None or not user.active:
        session.rollback()
        raise AccountError(LINK_MESSAGES[LinkState.UNKNOWN])
    if previous is not None:
        # A new login replaces whatever session this browser had (no session fixation).
        _end(session, previous, now)
    raw = _new_session(session, user, now)
    user.last_login_at = now
    session.add(user)
    record(session, user, "login", f"user:{user.id}", {"via": "magic link"})
    session.commit()
    return LoginResult(user=user, session_token=raw, next_path=safe_next_path(link.next_path))


def _new_session(session: Session, user: User, now: datetime) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=_id(user),
            token_hash=hash_secret(raw),
            created_at=now,
            expires_at=now + timedelta(days=get_settings().session_days),
        )
    )
    return raw


def start_session(session: Session, user: User) -> str:
    """Start a session for ``user`` without a link (tests, trusted tooling); returns the cookie value."""
    raw = _new_session(session, user, utcnow())
    record(session, user, "login", f"user:{user.id}", {"via": "direct"})
    session.commit()
    return raw


def _end(session: Session, user_session: UserSession, now: datetime) -> None:
    row = session.get(UserSession, user_session.id)
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)


def logout(session: Session, user_session: UserSession | None, user: User | None) -> None:
    """End the session (the cookie stops working at once, wherever it was copied)."""
    if user_session is None:
        return
    _end(session, user_session, utcnow())
    record(session, user, "logout", f"user:{user_session.user_id}")
    session.commit()


def prune_expired(session: Session) -> int:
    """Delete what can no longer matter: login attempts and used or expired links older than a day, sessions
    ended or expired more than a day ago. Returns how many rows went. (Run by the periodic sweep.)"""
    day_ago = utcnow() - timedelta(days=1)
    deleted = 0
    for statement in (
        delete(LoginAttempt).where(col(LoginAttempt.created_at) < day_ago),
        delete(MagicLink).where(col(MagicLink.expires_at) < day_ago),
        delete(UserSession).where(col(UserSession.expires_at) < day_ago),
        delete(UserSession).where(col(UserSession.ended_at) < day_ago),
    ):
        deleted += session.execute(statement).rowcount  # type: ignore[attr-defined]
    session.commit()
    return deleted


# ---------------------------------------------------------------------------------------------------------------
# API tokens


def create_api_token(
    session: Session, user: User, name: str = "", *, actor: User | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``: the raw value is returned once and never stored."""
    name = " ".join(name.split())
    if len(name) > 120:
        raise AccountError("a token name is at most 120 characters")
    if not user.active:
        raise AccountError(f"{user.email} is not active")
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=_id(user), token_hash=hash_secret(raw), name=name)
    session.add(token)
    session.flush()
    record(session, actor or user, "token.create", f"api_token:{token.id}", {"user_id": user.id, "name": name})
    session.commit()
    return token, raw


def list_api_tokens(session: Session, user: User, *, include_revoked: bool = True) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(col(ApiToken.revoked_at).is_(None))
    return list(session.exec(query.order_by(col(ApiToken.id))).all())


def revoke_api_token(session: Session, token_id: int, *, actor: User | None, owner: User | None = None) -> ApiToken:
    """Revoke a token; it stops working on the next request. With ``owner``, only that user's tokens qualify.

    Revoking a revoked token changes nothing and is not an error (a second press of the button).
    """
    token = session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise AccountError(f"no API token {token_id}" + (" among yours" if owner is not None else ""))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        record(session, actor, "token.revoke", f"api_token:{token.id}", {"user_id": token.user_id})
        session.commit()
    return token


# ---------------------------------------------------------------------------------------------------------------
# What a user sees about themself


@dataclass
class Profile:
    """A user with the names of their city and division, for the account page and ``/api/v1/me``."""

    user: User
    city: City | None
    division: Division | None
    tokens: list[ApiToken] = field(default_factory=list)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.user.role]


ROLE_LABELS = {
    Role.OFFICIAL: "City official",
    Role.REGIONAL_MANAGER: "Regional public affairs manager",
    Role.STAFF: "League staff",
    Role.ADMIN: "Administrator",
}


def profile(session: Session, user: User, *, with_tokens: bool = False) -> Profile:
    city = session.get(City, user.city_id) if user.city_id is not None else None
    division_id = user.division_id if user.division_id is not None else (city.division_id if city else None)
    division = session.get(Division, division_id) if division_id is not None else None
    tokens = list_api_tokens(session, user) if with_tokens else []
    return Profile(user=user, city=city, division=division, tokens=tokens)


def profiles(session: Session, users: list[User]) -> list[Profile]:
    """``profile`` for many users with two queries in all (cities and divisions loaded once)."""
    city_ids = {u.city_id for u in users if u.city_id is not None}
    cities = {c.id: c for c in session.exec(select(City).where(col(City.id).in_(city_ids))).all()} if city_ids else {}
    division_ids = {u.division_id for u in users if u.division_id is not None} | {
        c.division_id for c in cities.values() if c.division_id is not None
    }
    divisions = (
        {d.id: d for d in session.exec(select(Division).where(col(Division.id).in_(division_ids))).all()}
        if division_ids
        else {}
    )
    found = []
    for user in users:
        city = cities.get(user.city_id)
        division_id = user.division_id if user.division_id is not None else (city.division_id if city else None)
        found.append(Profile(user=user, city=city, division=divisions.get(division_id)))
    return found
