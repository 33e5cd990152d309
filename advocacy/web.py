"""What every page template can use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar.di import NamedDependency
from sqlmodel import Session

from advocacy.accounts.models import User
from advocacy.settings import Settings

# Handler parameter types: ``session: DbSession``, ``user: CurrentUser`` (guarded routes),
# ``maybe_user: MaybeUser`` (public routes that show more when logged in).
DbSession = NamedDependency[Session]
CurrentUser = NamedDependency[User]
MaybeUser = NamedDependency[User | None]


CALIFORNIA = ZoneInfo("America/Los_Angeles")


def in_california(value: datetime) -> datetime:
    """A stored time (naive UTC, see db.utcnow) as the wall-clock time in Sacramento."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(CALIFORNIA)


def format_date(value: date | datetime | None, fmt: str = "%B %-d, %Y") -> str:
    """Dates as people in California read them: a stored time is shown on its Pacific calendar day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = in_california(value)
    return value.strftime(fmt)


def format_datetime(value: datetime | None) -> str:
    return format_date(value, "%B %-d, %Y, %-I:%M %p %Z") if value else ""


def template_globals(settings: Settings) -> dict[str, Any]:
    return {
        "league_name": settings.mail_from_name,
        "league_short_name": settings.league_short_name,
        "embedded_mode": settings.embedded_broker,
        "format_date": format_date,
        "format_datetime": format_datetime,
    }
