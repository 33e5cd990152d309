"""What every page template can use."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar.di import NamedDependency
from sqlmodel import Session

from advocacy.accounts.models import User
from advocacy.settings import Settings

# Handler parameter types: ``session: DbSession``, ``user: CurrentUser`` (guarded routes),
# ``maybe_user: MaybeUser`` (public routes that show more when logged in).
DbSession = NamedDependency[Session]
CurrentUser = NamedDependency[User]
MaybeUser = NamedDependency[User | None]


def _date(value: date | datetime | None, fmt: str = "%B %-d, %Y") -> str:
    return value.strftime(fmt) if value else ""


def template_globals(settings: Settings) -> dict[str, Any]:
    return {
        "league_name": settings.mail_from_name,
        "league_short_name": settings.league_short_name,
        "embedded_mode": settings.embedded_broker,
        "format_date": _date,
    }
