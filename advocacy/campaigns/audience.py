"""Who a campaign's action alerts go to: officials of member cities, narrowed by Regional Division, city and role,
never anyone who unsubscribed; and which cities have already acted (reminders skip them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.console_models import AlertOptOut, CampaignPlan
from advocacy.directory.models import City
from advocacy.letters.models import Letter, LetterStatus

#: Role keys staff pick from, with the words that identify them in an official's title. Titles are free text
#: ("Mayor Pro Tem", "Councilmember", "Interim City Manager"), so a title matches by the words it contains.
AUDIENCE_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "mayor": ("Mayors (with vice mayors and mayors pro tem)", ("mayor",)),
    "council_member": ("Council members", ("council",)),
    "city_manager": ("City managers and administrators", ("manager", "administrator")),
}
#: A letter in these states is the city's answer: the city has acted (a letter held for league review too: its
#: signer pressed Send; a letter staff returned is a draft again, and the city has not acted until they resend).
ACTED_STATES = (
    LetterStatus.AWAITING_APPROVAL,
    LetterStatus.QUEUED,
    LetterStatus.RENDERED,
    LetterStatus.SENT,
    LetterStatus.PARTIALLY_SENT,
    LetterStatus.FAILED,
)


class AudienceError(ValueError):
    """Bad audience input; nothing was changed."""


@dataclass(frozen=True)
class Audience:
    division_ids: tuple[int, ...] = ()
    city_ids: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()

    def describe(self, division_names: dict[int, str], city_names: dict[int, str]) -> str:
        places = [division_names.get(d, f"division {d}") for d in self.division_ids]
        places += [city_names.get(c, f"city {c}") for c in self.city_ids]
        who = ", ".join(AUDIENCE_ROLES[r][0].split(" (")[0].lower() for r in self.roles) or "all officials"
        return f"{who.capitalize()} of {'; '.join(places) if places else 'every member city'}"


@dataclass(frozen=True)
class AudienceCount:
    officials: int
    cities: int
    opted_out: int


def parse_ids(text: str) -> tuple[int, ...]:
    values = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if part:
            if not part.isdigit():
                raise AudienceError(f"{part!r} is not an id")
            values.append(int(part))
    return tuple(sorted(set(values)))


def audience_of(plan: CampaignPlan | None) -> Audience:
    if plan is None:
        return Audience()
    roles = tuple(r for r in plan.audience_roles.split(",") if r)
    return Audience(parse_ids(plan.audience_divisions), parse_ids(plan.audience_cities), roles)


def check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [r for r in roles if r not in AUDIENCE_ROLES]
    if unknown:
        raise AudienceError(f"Unknown role(s) {', '.join(unknown)}; choose from {', '.join(AUDIENCE_ROLES)}.")
    return tuple(sorted(set(roles)))


def _where(audience: Audience, *, include_opted_out: bool = False) -> list[Any]:
    clauses: list[Any] = [
        User.role == Role.OFFICIAL,
        col(User.active).is_(True),
        col(City.is_member).is_(True),
    ]
    places = []
    if audience.division_ids:
        places.append(col(City.division_id).in_(audience.division_ids))
    if audience.city_ids:
        places.append(col(City.id).in_(audience.city_ids))
    if places:
        clauses.append(or_(*places))
    if audience.roles:
        words = [w for r in audience.roles for w in AUDIENCE_ROLES[r][1]]
        clauses.append(or_(*(func.lower(col(User.title)).contains(w) for w in words)))
    if not include_opted_out:
        clauses.append(col(User.id).not_in(select(AlertOptOut.user_id)))
    return clauses


def audience_select(audience: Audience, *columns: Any, include_opted_out: bool = False) -> Select[Any]:
    """``select(*columns)`` over the audience's officials (joined with their cities)."""
    return (
        sa_select(*columns)
        .select_from(User)
        .join(City, col(City.id) == User.city_id)
        .where(*_where(audience, include_opted_out=include_opted_out))
    )


def count_audience(session: Session, audience: Audience) -> AudienceCount:
    officials, cities = session.execute(
        audience_select(audience, func.count(col(User.id)), func.count(func.distinct(col(User.city_id))))
    ).one()
    everyone = session.execute(audience_select(audience, func.count(col(User.id)), include_opted_out=True)).scalar_one()
    return AudienceCount(officials=int(officials), cities=int(cities), opted_out=int(everyone) - int(officials))


def targeted_city_ids(session: Session, audience: Audience) -> set[int]:
    """Cities with at least one official in the audience (opted-out officials count: their city was targeted)."""
    rows = session.execute(audience_select(audience, col(User.city_id), include_opted_out=True).distinct()).all()
    return {int(row[0]) for row in rows if row[0] is not None}


def acted_cities_select(campaign_id: int, stage_key: str) -> Select[Any]:
    """City ids that answered the campaign at ``stage_key``: a letter on its way or sent, or one held for review."""
    return select(Letter.city_id).where(
        Letter.campaign_id == campaign_id, Letter.stage == stage_key, col(Letter.status).in_(ACTED_STATES)
    )


def acted_city_ids(session: Session, campaign_id: int, stage_key: str) -> set[int]:
    return {int(row[0]) for row in session.execute(acted_cities_select(campaign_id, stage_key)).all()}
