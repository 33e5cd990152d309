"""Users and their roles, login links, sessions, API tokens and the audit trail.

Secrets (link tokens, session ids, API tokens) are never stored: only their SHA-256 hashes are.

Times are naive UTC (``advocacy.db.utcnow()``), declared ``NaiveDatetime``: sqlmodel maps a plain ``datetime``
to its ``UTCDateTime``, which refuses naive values.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow


class Role(StrEnum):
    OFFICIAL = "official"  # mayor, council member, city manager: belongs to a city
    REGIONAL_MANAGER = "regional_manager"  # regional public affairs manager: belongs to a division
    STAFF = "staff"  # league staff
    ADMIN = "admin"


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=254, description="stored lower-case")
    name: str = Field(max_length=120)
    role: Role = Field(max_length=20, index=True)
    title: str = Field(default="", max_length=120, description="e.g. Mayor, Council Member, City Manager")
    city_id: int | None = Field(default=None, foreign_key="city.id", index=True)
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    may_sign: bool = Field(default=False, description="may sign letters stating the city's position")
    is_treasurer: bool = Field(default=False, description="CitiPAC treasurer (staff only)")
    active: bool = Field(default=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    last_login_at: NaiveDatetime | None = None


class MagicLink(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    next_path: str = Field(default="/", max_length=500)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    expires_at: NaiveDatetime
    used_at: NaiveDatetime | None = None


class UserSession(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    expires_at: NaiveDatetime
    ended_at: NaiveDatetime | None = None


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    name: str = Field(default="", max_length=120)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    last_used_at: NaiveDatetime | None = None
    revoked_at: NaiveDatetime | None = None


class LoginAttempt(SQLModel, table=True):
    """One login e-mail requested; counted per address and per client IP for rate limiting."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, max_length=254)
    client_ip: str = Field(index=True, max_length=64)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    action: str = Field(max_length=80, index=True)
    subject: str = Field(default="", max_length=200)
    details: str = Field(default="")
