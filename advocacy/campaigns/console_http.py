"""HTTP helpers shared by the console's pages and API: reading form fields, and domain errors as HTTP errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException

from advocacy.accounts.auth import allow
from advocacy.accounts.models import Role
from advocacy.campaigns.agenda import AgendaError
from advocacy.campaigns.alerts import AlertError
from advocacy.campaigns.approval import ReviewError
from advocacy.campaigns.audience import AudienceError
from advocacy.campaigns.deadlines import RuleError
from advocacy.campaigns.hearings import HearingError
from advocacy.campaigns.links import LinkError
from advocacy.campaigns.service import CampaignError, CampaignNotFound
from advocacy.campaigns.stale import ReconfirmError
from advocacy.campaigns.templates_store import TemplateStoreError
from advocacy.campaigns.variants import VariantError
from advocacy.campaigns.wizard import WizardError

STAFF = allow(Role.STAFF)  # admins inherit staff rights (accounts.auth.Allow)

CONSOLE_ERRORS = (
    AgendaError,
    AlertError,
    AudienceError,
    CampaignError,
    HearingError,
    LinkError,
    ReconfirmError,
    ReviewError,
    RuleError,
    TemplateStoreError,
    VariantError,
    WizardError,
)


def to_http(exc: Exception) -> HTTPException:
    from advocacy.letters.service import LetterError, LetterNotFound, NotAllowed

    if isinstance(exc, CampaignNotFound | LetterNotFound) or str(exc).startswith("There is no "):
        return NotFoundException(str(exc))
    if isinstance(exc, NotAllowed):
        return PermissionDeniedException(str(exc))
    if isinstance(exc, LetterError):
        return HTTPException(status_code=422, detail=str(exc))
    return HTTPException(status_code=422, detail=str(exc))


def all_errors() -> tuple[type[Exception], ...]:
    from advocacy.letters.service import LetterError, LetterNotFound, NotAllowed

    return (*CONSOLE_ERRORS, CampaignNotFound, LetterError, LetterNotFound, NotAllowed)


@contextmanager
def http_errors() -> Iterator[None]:
    """Raise the HTTP error matching a domain error raised inside the block (nothing was changed)."""
    try:
        yield
    except all_errors() as exc:
        raise to_http(exc) from None


# ----------------------------------------------------------------------------------------------- form fields


def text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if isinstance(value, list):
        value = value[-1] if value else default
    return str(value) if value is not None else default


def many(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None or value == "":
        return []
    return [str(v) for v in value if str(v)] if isinstance(value, list) else [str(value)]


def integer(data: dict[str, Any], key: str) -> int | None:
    value = text(data, key).strip()
    if not value:
        return None
    if not value.isdigit():
        raise HTTPException(status_code=422, detail=f"{key}: {value!r} is not a number")
    return int(value)


def integers(data: dict[str, Any], key: str) -> list[int]:
    values = many(data, key)
    bad = [v for v in values if not v.isdigit()]
    if bad:
        raise HTTPException(status_code=422, detail=f"{key}: {bad[0]!r} is not a number")
    return [int(v) for v in values]


def flag(data: dict[str, Any], key: str) -> bool:
    return text(data, key).strip().lower() in ("1", "on", "yes", "true")


def day(data: dict[str, Any], key: str) -> date | None:
    value = text(data, key).strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(status_code=422, detail=f"{key}: {value!r} is not a date like 2026-03-16") from None


def moment(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(status_code=422, detail=f"{value!r} is not a date and time") from None
