"""Which cities acted on which campaigns, for regional managers, staff and officials; nudges and digests.

Every number is computed from the records (letters, their deliveries and signature requests) on each view, in one
grouped query per view: nothing is summarised in a table that could drift from the letters themselves.

A city's state on a campaign comes from its "current" letter: the non-superseded letter that went furthest (a
non-draft one before a draft, then the newest). A city has *acted* when such a letter is past draft.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.csvexport import to_csv
from advocacy.db import after_commit, utcnow
from advocacy.directory.models import (
    Bill,
    Chamber,
    City,
    CityDistrict,
    CommitteeMembership,
    DistrictChamber,
    Division,
    Legislator,
)
from advocacy.letters.models import Delivery, DeliveryStatus, Letter, LetterStatus, SignatureRequest
from advocacy.participation.models import Digest, MailState, Nudge
from advocacy.testimony.models import ACTIVE_STATUSES, TestimonyCall, TestimonySignup
from advocacy.web import CALIFORNIA


class ParticipationError(ValueError):
    """Bad input: the message says what to fix; nothing was changed."""


class NotFound(LookupError):
    pass


class AccessDenied(PermissionError):
    pass


class CityState(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    AWAITING_SIGNATURE = "awaiting_signature"
    HELD_FOR_REVIEW = "held_for_review"  # signed and sent, held for league review: acted, not yet sent
    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCED_OR_FAILED = "bounced_or_failed"
    PORTAL_SUBMITTED = "portal_submitted"


STATE_LABELS: dict[CityState, str] = {
    CityState.NOT_STARTED: "Not started",
    CityState.DRAFT: "Draft",
    CityState.AWAITING_SIGNATURE: "Awaiting signature",
    CityState.HELD_FOR_REVIEW: "Held for league review",
    CityState.SENT: "Sent",
    CityState.DELIVERED: "Delivered",
    CityState.BOUNCED_OR_FAILED: "Bounced or failed",
    CityState.PORTAL_SUBMITTED: "Portal submitted",
}
#: A city in one of these states has answered the campaign (a failed letter was still sent by the city; a held one
#: was signed and sent to the league's approval queue).
ACTED = frozenset(
    {
        CityState.HELD_FOR_REVIEW,
        CityState.SENT,
        CityState.DELIVERED,
        CityState.BOUNCED_OR_FAILED,
        CityState.PORTAL_SUBMITTED,
    }
)
NOT_ACTED = frozenset(set(CityState) - ACTED)
FAILED_DELIVERIES = (DeliveryStatus.BOUNCED, DeliveryStatus.DROPPED, DeliveryStatus.FAILED)


def today_in_california(now: datetime | None = None) -> date:
    from datetime import UTC

    moment = (now or utcnow()).replace(tzinfo=UTC)
    return moment.astimezone(CALIFORNIA).date()


def _id(row: Any) -> int:
    value = row.id
    assert value is not None, "row is not flushed"
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# Scope


def is_staff(user: User) -> bool:
    return user.role in (Role.STAFF, Role.ADMIN)


def can_see_division(user: User, division_id: int) -> bool:
    return is_staff(user) or (user.role is Role.REGIONAL_MANAGER and user.division_id == division_id)


def can_see_city(user: User, city: City) -> bool:
    if is_staff(user):
        return True
    if user.role is Role.REGIONAL_MANAGER:
        return city.division_id is not None and user.division_id == city.division_id
    return user.role is Role.OFFICIAL and user.city_id == city.id


def list_divisions(session: Session) -> list[Division]:
    return list(session.exec(select(Division).order_by(col(Division.name))).all())


def get_division(session: Session, user: User, *, division_id: int | None = None, slug: str | None = None) -> Division:
    if slug is not None:
        division = session.exec(select(Division).where(Division.slug == slug)).first()
    else:
        division = session.get(Division, division_id) if division_id is not None else None
    if division is None:
        raise NotFound("No such Regional Division.")
    if not can_see_division(user, _id(division)):
        raise AccessDenied("You may see your own division's participation only.")
    return division


def home_division(session: Session, user: User) -> Division:
    """The division a regional manager works in (their home page shows it)."""
    if user.role is not Role.REGIONAL_MANAGER or user.division_id is None:
        raise AccessDenied("The participation home is for regional managers; staff use the league view.")
    return get_division(session, user, division_id=user.division_id)


def get_city(session: Session, user: User, city_id: int) -> City:
    city = session.get(City, city_id)
    if city is None:
        raise NotFound("No such city.")
    if not can_see_city(user, city):
        raise AccessDenied("You may see only the cities you work with.")
    return city


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status is CampaignStatus.DRAFT:
        raise NotFound("No such campaign.")
    return campaign


def active_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.exec(
            select(Campaign).where(Campaign.status == CampaignStatus.ACTIVE).order_by(col(Campaign.id).desc())
        ).all()
    )


def member_cities(session: Session, division_id: int) -> list[City]:
    return list(
        session.exec(
            select(City).where(City.division_id == division_id, col(City.is_member)).order_by(col(City.name))
        ).all()
    )


# ---------------------------------------------------------------------------------------------------------------
# States: one grouped query


@dataclass(frozen=True)
class LetterFacts:
    letter_id: int
    campaign_id: int
    city_id: int
    status: LetterStatus
    changed_at: datetime
    signature_requested: bool
    failed: int
    delivered: int
    portal_submitted: int


def state_of(facts: LetterFacts | None) -> CityState:
    if facts is None:
        return CityState.NOT_STARTED
    if facts.status is LetterStatus.DRAFT:
        return CityState.AWAITING_SIGNATURE if facts.signature_requested else CityState.DRAFT
    if facts.status is LetterStatus.AWAITING_APPROVAL:
        return CityState.HELD_FOR_REVIEW
    if facts.status is LetterStatus.FAILED or facts.failed:
        return CityState.BOUNCED_OR_FAILED
    if facts.portal_submitted:
        return CityState.PORTAL_SUBMITTED
    if facts.delivered:
        return CityState.DELIVERED
    return CityState.SENT


def _letter_facts(
    session: Session,
    *,
    campaign_ids: Sequence[int] | None,
    city_ids: Sequence[int] | None,
    since: datetime | None = None,
) -> list[LetterFacts]:
    """Every non-superseded letter of these campaigns and cities, with its delivery counts: one grouped query."""

    def counted(statuses: Iterable[DeliveryStatus]) -> Any:
        return func.coalesce(func.sum(case((col(Delivery.status).in_(list(statuses)), 1), else_=0)), 0)

    signature_requested = exists().where(col(SignatureRequest.letter_id) == col(Letter.id))
    columns: list[Any] = [
        Letter.id,
        Letter.campaign_id,
        Letter.city_id,
        Letter.status,
        Letter.status_changed_at,
        signature_requested.label("signature_requested"),
        counted(FAILED_DELIVERIES).label("failed"),
        counted([DeliveryStatus.DELIVERED]).label("delivered"),
        counted([DeliveryStatus.PORTAL_SUBMITTED]).label("portal"),
    ]
    query = (
        select(*columns)
        .outerjoin(Delivery, col(Delivery.letter_id) == Letter.id)
        .where(Letter.status != LetterStatus.SUPERSEDED)
        .group_by(col(Letter.id))
    )
    if campaign_ids is not None:
        query = query.where(col(Letter.campaign_id).in_(list(campaign_ids)))
    if city_ids is not None:
        query = query.where(col(Letter.city_id).in_(list(city_ids)))
    if since is not None:
        query = query.where(col(Letter.status_changed_at) >= since)
    return [
        LetterFacts(
            int(r[0]), int(r[1]), int(r[2]), LetterStatus(r[3]), r[4], bool(r[5]), int(r[6]), int(r[7]), int(r[8])
        )
        for r in session.exec(query).all()
    ]


def current_letters(facts: Iterable[LetterFacts]) -> dict[tuple[int, int], LetterFacts]:
    """The letter that decides each (campaign, city): past draft before draft, then the newest."""
    chosen: dict[tuple[int, int], LetterFacts] = {}
    for fact in facts:
        key = (fact.campaign_id, fact.city_id)
        best = chosen.get(key)
        rank = (fact.status is not LetterStatus.DRAFT, fact.letter_id)
        if best is None or rank > (best.status is not LetterStatus.DRAFT, best.letter_id):
            chosen[key] = fact
    return chosen


def states(session: Session, campaign_ids: Sequence[int], city_ids: Sequence[int]) -> dict[tuple[int, int], CityState]:
    """``{(campaign id, city id): state}`` for every pair asked about (not started where no letter exists)."""
    if not campaign_ids or not city_ids:
        return {}
    current = current_letters(_letter_facts(session, campaign_ids=campaign_ids, city_ids=city_ids))
    return {(c, city): state_of(current.get((c, city))) for c in campaign_ids for city in city_ids}


def committee_cities(session: Session, campaign_ids: Sequence[int], city_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(campaign, city) pairs where one of the city's own legislators sits on the committee hearing the bill."""
    if not campaign_ids or not city_ids:
        return set()
    same_chamber = or_(
        and_(col(CityDistrict.chamber) == DistrictChamber.LOWER, col(Legislator.chamber) == Chamber.ASSEMBLY),
        and_(col(CityDistrict.chamber) == DistrictChamber.UPPER, col(Legislator.chamber) == Chamber.SENATE),
    )
    rows = session.exec(
        select(Campaign.id, CityDistrict.city_id)
        .join(Bill, col(Bill.id) == Campaign.bill_id)
        .join(CommitteeMembership, col(CommitteeMembership.committee_id) == Bill.committee_id)
        .join(Legislator, col(Legislator.id) == CommitteeMembership.legislator_id)
        .join(CityDistrict, and_(col(CityDistrict.district) == Legislator.district, same_chamber))
        .where(
            col(Campaign.id).in_(list(campaign_ids)),
            col(CityDistrict.city_id).in_(list(city_ids)),
            col(Legislator.active),
        )
        .distinct()
    ).all()
    return {(int(a or 0), int(b)) for a, b in rows}


def testimony_signups(
    session: Session, campaign_ids: Sequence[int], city_ids: Sequence[int]
) -> dict[tuple[int, int], int]:
    """Active testimony sign-ups (held, confirmed, waitlisted) per (campaign, city)."""
    if not campaign_ids or not city_ids:
        return {}
    rows = session.exec(
        select(TestimonyCall.campaign_id, TestimonySignup.city_id, func.count(col(TestimonySignup.id)))
        .join(TestimonyCall, col(TestimonyCall.id) == TestimonySignup.call_id)
        .where(
            col(TestimonyCall.campaign_id).in_(list(campaign_ids)),
            col(TestimonySignup.city_id).in_(list(city_ids)),
            col(TestimonySignup.status).in_([s.value for s in ACTIVE_STATUSES]),
        )
        .group_by(col(TestimonyCall.campaign_id), col(TestimonySignup.city_id))
    ).all()
    return {(int(a), int(b or 0)): int(n) for a, b, n in rows}


# ---------------------------------------------------------------------------------------------------------------
# Views


@dataclass
class Cell:
    campaign: Campaign
    state: CityState
    committee: bool = False
    signups: int = 0

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def acted(self) -> bool:
        return self.state in ACTED


@dataclass
class Row:
    city: City
    cells: list[Cell]

    @property
    def committee(self) -> bool:
        return any(c.committee for c in self.cells)


@dataclass
class Rate:
    acted: int = 0
    possible: int = 0

    @property
    def percent(self) -> float:
        return round(100.0 * self.acted / self.possible, 1) if self.possible else 0.0


@dataclass
class Grid:
    division: Division
    campaigns: list[Campaign]
    rows: list[Row]
    counts: dict[CityState, int] = field(default_factory=dict)
    rate: Rate = field(default_factory=Rate)
    league_rate: Rate = field(default_factory=Rate)
    citipac: Any = None  # citipac.service.DivisionTotal, when the viewer may see it


def _filter_rows(rows: list[Row], state: str | None, committee_only: bool, q: str) -> list[Row]:
    wanted = CityState(state) if state else None
    needle = q.strip().lower()
    out = []
    for row in rows:
        if committee_only and not row.committee:
            continue
        if needle and needle not in row.city.name.lower():
            continue
        if wanted is not None and not any(c.state is wanted for c in row.cells):
            continue
        out.append(row)
    return out


def parse_state(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw == "not_acted" or raw in {s.value for s in CityState}:
        return raw
    raise ParticipationError(f"Unknown state {raw!r}.")


def division_grid(
    session: Session,
    user: User,
    division: Division,
    *,
    campaign_id: int | None = None,
    state: str | None = None,
    committee_only: bool = False,
    q: str = "",
) -> Grid:
    """A division's member cities against the active campaigns (or one campaign), with counts and rates."""
    if not can_see_division(user, _id(division)):
        raise AccessDenied("You may see your own division's participation only.")
    campaigns = active_campaigns(session)
    if campaign_id is not None:
        campaigns = [c for c in campaigns if c.id == campaign_id]
        if not campaigns:
            raise ParticipationError("That campaign is not active.")
    cities = member_cities(session, _id(division))
    campaign_ids = [_id(c) for c in campaigns]
    city_ids = [_id(c) for c in cities]
    found = states(session, campaign_ids, city_ids)
    marked = committee_cities(session, campaign_ids, city_ids)
    signups = testimony_signups(session, campaign_ids, city_ids)
    rows = [
        Row(
            city=city,
            cells=[
                Cell(
                    campaign=c,
                    state=found[(_id(c), _id(city))],
                    committee=(_id(c), _id(city)) in marked,
                    signups=signups.get((_id(c), _id(city)), 0),
                )
                for c in campaigns
            ],
        )
        for city in cities
    ]
    counts = dict.fromkeys(CityState, 0)
    for value in found.values():
        counts[value] += 1
    grid = Grid(division=division, campaigns=campaigns, rows=rows, counts=counts)
    grid.rate = Rate(acted=sum(counts[s] for s in ACTED), possible=len(found))
    league = league_rates(session, campaign_ids)
    grid.league_rate = Rate(
        acted=sum(r.acted for r in league.values()), possible=sum(r.possible for r in league.values())
    )
    if state == "not_acted":
        grid.rows = [r for r in rows if any(not c.acted for c in r.cells)]
        grid.rows = _filter_rows(grid.rows, None, committee_only, q)
    else:
        grid.rows = _filter_rows(rows, state, committee_only, q)
    grid.citipac = citipac_totals(session, user, _id(division))
    return grid


def citipac_totals(session: Session, user: User, division_id: int) -> Any:
    """CitiPAC's own aggregates for the division (no person in them), where CitiPAC lets the viewer see them."""
    from advocacy.citipac import service as citipac

    try:
        totals = citipac.division_totals(session, user, today_in_california().year)
    except citipac.AccessDenied:
        return None
    return next((t for t in totals if t.division.id == division_id), None)


def league_rates(session: Session, campaign_ids: Sequence[int] | None = None) -> dict[int, Rate]:
    """Participation per division over the active campaigns (or those given)."""
    if campaign_ids is None:
        campaign_ids = [_id(c) for c in active_campaigns(session)]
    rates: dict[int, Rate] = {}
    for per_division in rates_by_campaign(session, campaign_ids).values():
        for division_id, rate in per_division.items():
            total = rates.setdefault(division_id, Rate())
            total.acted += rate.acted
            total.possible += rate.possible
    if not campaign_ids:
        rates = {d: Rate() for d in member_city_counts(session)}
    return rates


def member_city_counts(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(City.division_id, func.count(col(City.id)))
        .where(col(City.is_member), col(City.division_id).is_not(None))
        .group_by(col(City.division_id))
    ).all()
    return {int(d or 0): int(n) for d, n in rows}


def rates_by_campaign(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[int, Rate]]:
    """``{campaign id: {division id: Rate}}``: one grouped query over the letters."""
    sizes = member_city_counts(session)
    out = {c: {d: Rate(possible=n) for d, n in sizes.items()} for c in campaign_ids}
    if not campaign_ids:
        return out
    answered = (
        select(City.division_id, Letter.campaign_id, Letter.city_id)
        .join(City, col(City.id) == Letter.city_id)
        .where(
            col(Letter.campaign_id).in_(list(campaign_ids)),
            col(City.is_member),
            col(Letter.status).not_in([LetterStatus.DRAFT, LetterStatus.SUPERSEDED]),
        )
        .distinct()
        .subquery()
    )
    for division_id, campaign_id, n in session.exec(
        select(answered.c.division_id, answered.c.campaign_id, func.count()).group_by(
            answered.c.division_id, answered.c.campaign_id
        )
    ).all():
        if division_id is not None and int(division_id) in out[int(campaign_id)]:
            out[int(campaign_id)][int(division_id)].acted = int(n)
    return out


def cities_changed_since(
    session: Session, campaign_ids: Sequence[int], city_ids: Sequence[int], since: datetime
) -> set[int]:
    """Cities with a letter (of these campaigns) whose state changed at or after ``since``."""
    facts = _letter_facts(session, campaign_ids=campaign_ids, city_ids=city_ids, since=since)
    return {f.city_id for f in facts}


@dataclass
class LeagueRow:
    division: Division
    rate: Rate


def league_view(session: Session, user: User) -> tuple[list[LeagueRow], Rate, list[Campaign]]:
    if not is_staff(user):
        raise AccessDenied("The league view is for league staff.")
    campaigns = active_campaigns(session)
    rates = league_rates(session, [_id(c) for c in campaigns])
    rows = [LeagueRow(division=d, rate=rates.get(_id(d), Rate())) for d in list_divisions(session)]
    total = Rate(acted=sum(r.rate.acted for r in rows), possible=sum(r.rate.possible for r in rows))
    return rows, total, campaigns


@dataclass
class HistoryEntry:
    campaign: Campaign
    state: CityState
    letters: list[LetterFacts]
    signups: int

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def city_history(session: Session, user: User, city_id: int) -> tuple[City, list[HistoryEntry]]:
    """Every non-draft campaign the city answered or was asked to, newest campaign first."""
    city = get_city(session, user, city_id)
    campaigns = list(
        session.exec(
            select(Campaign).where(Campaign.status != CampaignStatus.DRAFT).order_by(col(Campaign.id).desc())
        ).all()
    )
    ids = [_id(c) for c in campaigns]
    facts = _letter_facts(session, campaign_ids=None, city_ids=[_id(city)])
    by_campaign: dict[int, list[LetterFacts]] = defaultdict(list)
    for fact in facts:
        by_campaign[fact.campaign_id].append(fact)
    current = current_letters(facts)
    signups = testimony_signups(session, ids, [_id(city)])
    entries = [
        HistoryEntry(
            campaign=c,
            state=state_of(current.get((_id(c), _id(city)))),
            letters=sorted(by_campaign.get(_id(c), []), key=lambda f: f.letter_id),
            signups=signups.get((_id(c), _id(city)), 0),
        )
        for c in campaigns
        if c.status is CampaignStatus.ACTIVE or _id(c) in by_campaign or signups.get((_id(c), _id(city)))
    ]
    return city, entries


# ---------------------------------------------------------------------------------------------------------------
# Nudges


def officials_of(session: Session, city_id: int) -> list[User]:
    return list(
        session.exec(
            select(User)
            .where(User.city_id == city_id, User.role == Role.OFFICIAL, col(User.active))
            .order_by(col(User.id))
        ).all()
    )


@dataclass
class NudgeResult:
    created: list[Nudge]
    already_today: list[int]  # city ids nudged earlier today
    acted: list[int]  # city ids that have acted: no reminder needed


def nudge_cities(
    session: Session, user: User, campaign_id: int, city_ids: Sequence[int], *, today: date | None = None
) -> NudgeResult:
    """Remind the officials of cities that have not acted: at most one nudge per city, campaign and day.

    Checks everything before writing anything; commits, then queues one e-mail per new nudge.
    """
    if user.role not in (Role.REGIONAL_MANAGER, Role.STAFF, Role.ADMIN):
        raise AccessDenied("Only regional managers and staff send nudges.")
    campaign = get_campaign(session, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE:
        raise ParticipationError("Nudges are for active campaigns only.")
    wanted = sorted(set(int(i) for i in city_ids))
    if not wanted:
        raise ParticipationError("Choose at least one city to nudge.")
    cities = {_id(c): c for c in session.exec(select(City).where(col(City.id).in_(wanted))).all()}
    missing = [i for i in wanted if i not in cities]
    if missing:
        raise ParticipationError(f"Unknown city id(s): {', '.join(map(str, missing))}.")
    for city in cities.values():
        if not can_see_city(user, city):
            raise AccessDenied(f"{city.name} is not in your division.")
    day = today or today_in_california()
    found = states(session, [campaign_id], wanted)
    acted = [i for i in wanted if found[(campaign_id, i)] in ACTED]
    earlier = set(
        session.exec(
            select(Nudge.city_id).where(
                Nudge.campaign_id == campaign_id, Nudge.day == day, col(Nudge.city_id).in_(wanted)
            )
        ).all()
    )
    created: list[Nudge] = []
    already = sorted(i for i in wanted if i in earlier)
    for city_id in wanted:
        if city_id in earlier or city_id in acted:
            continue
        nudge = Nudge(campaign_id=campaign_id, city_id=city_id, day=day, sent_by_id=_id(user))
        try:
            with session.begin_nested():  # a concurrent nudge for the same city and day wins; this one is skipped
                session.add(nudge)
                session.flush()
        except IntegrityError:
            already.append(city_id)
            continue
        created.append(nudge)
    ids = [_id(n) for n in created]
    if ids:
        after_commit(session, lambda: _enqueue_nudges(ids))
    session.commit()
    return NudgeResult(created=created, already_today=sorted(already), acted=acted)


def _enqueue_nudges(nudge_ids: list[int]) -> None:
    # Called once the nudges are committed, so a worker always finds its row.
    from advocacy.participation.actors import send_nudge

    for nudge_id in nudge_ids:
        send_nudge.send(nudge_id)


def mail_stuck_after() -> timedelta:
    """How long a nudge or digest may wait pending, or stay claimed, before the sweep hands it to a new worker."""
    from advocacy.settings import get_settings

    return timedelta(seconds=get_settings().participation_mail_stuck_seconds)


def _waiting_too_long(model: type[Nudge] | type[Digest], now: datetime) -> Any:
    """Pending since before the threshold (its message was lost), or claimed before it (its worker died mid-send;
    a claim without a time predates ``claimed_at`` and is as dead)."""
    cutoff = now - mail_stuck_after()
    return or_(
        and_(col(model.status) == MailState.PENDING.value, col(model.created_at) < cutoff),
        _stale_claim(model, cutoff),
    )


def _stale_claim(model: type[Nudge] | type[Digest], cutoff: datetime) -> Any:
    return and_(
        col(model.status) == MailState.SENDING.value,
        or_(col(model.claimed_at).is_(None), col(model.claimed_at) < cutoff),
    )


def _claim(session: Session, model: type[Nudge] | type[Digest], row_id: int, now: datetime | None = None) -> bool:
    """Take one row for one provider call, committed: a pending row, or a claim gone stale. Of two workers handed
    the same message (at-least-once delivery, or a sweep nudge racing the first), only the one whose UPDATE matched
    sends the e-mail. A fresh claim is another worker's (the actors' time limit ends a live one long before the
    threshold), so it is left alone."""
    now = now or utcnow()
    result: Any = session.execute(
        update(model)
        .where(
            col(model.id) == row_id,
            or_(col(model.status) == MailState.PENDING.value, _stale_claim(model, now - mail_stuck_after())),
        )
        .values(status=MailState.SENDING.value, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount == 1)


def _release(session: Session, row: Nudge | Digest) -> None:
    """A retryable provider error: back to pending so that the retry (or the sweep) can claim it again."""
    session.rollback()
    row.status = MailState.PENDING
    row.claimed_at = None
    session.add(row)
    session.commit()


def send_nudge(session: Session, nudge_id: int, mailer: Any) -> Nudge:
    """E-mail one nudge's city officials; a nudge already sent (or skipped) is left alone."""
    from advocacy.mail import Address, Email, MailError, Personalization
    from advocacy.settings import get_settings

    if session.get(Nudge, nudge_id) is None:
        raise NotFound(f"no nudge {nudge_id}")
    claimed = _claim(session, Nudge, nudge_id)
    nudge = session.get(Nudge, nudge_id, populate_existing=True)
    assert nudge is not None
    if not claimed:
        return nudge
    campaign = session.get(Campaign, nudge.campaign_id)
    city = session.get(City, nudge.city_id)
    officials = [u for u in officials_of(session, nudge.city_id) if u.email]
    if campaign is None or city is None or not officials:
        nudge.status = MailState.SKIPPED
        session.add(nudge)
        session.commit()
        return nudge
    settings = get_settings()
    text = (
        f"The league's campaign \"{campaign.title}\" is still waiting for {city.name}'s letter.\n\n"
        f"Prepare and send it here: {settings.base_url}/campaigns/{campaign.id}\n\n"
        "You receive this reminder because your regional public affairs manager asked us to send it."
    )
    email = Email(
        subject=f"Reminder: {city.name} has not yet written on {campaign.title}",
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        personalizations=[Personalization(to=[Address(u.email, u.name)]) for u in officials],
        categories=["participation-nudge"],
    )
    try:
        mailer.send(email)
    except MailError as exc:
        if exc.retryable:
            _release(session, nudge)
            raise
        nudge.status = MailState.FAILED
        nudge.error = exc.reason[:500]
    else:
        nudge.status = MailState.SENT
        nudge.sent_at = utcnow()
        nudge.recipients = ", ".join(u.email for u in officials)[:2000]
    session.add(nudge)
    session.commit()
    return nudge


def requeue_stale_nudges(session: Session, now: datetime | None = None) -> list[int]:
    """Nudges pending, or claimed, for longer than ``participation_mail_stuck_seconds`` (a lost message, a worker
    that died mid-send): queued again after commit. The actor takes only a stale claim, so a nudge is still sent
    once, on its own day."""
    ids = [
        int(i)
        for i in session.exec(
            select(Nudge.id).where(_waiting_too_long(Nudge, now or utcnow())).order_by(col(Nudge.id))
        ).all()
        if i is not None
    ]
    if ids:
        after_commit(session, lambda: _enqueue_nudges(ids))
    return ids


def nudges_today(
    session: Session, campaign_ids: Sequence[int], city_ids: Sequence[int], today: date | None = None
) -> set[tuple[int, int]]:
    if not campaign_ids or not city_ids:
        return set()
    day = today or today_in_california()
    rows = session.exec(
        select(Nudge.campaign_id, Nudge.city_id).where(
            Nudge.day == day, col(Nudge.campaign_id).in_(list(campaign_ids)), col(Nudge.city_id).in_(list(city_ids))
        )
    ).all()
    return {(int(a), int(b)) for a, b in rows}


# ---------------------------------------------------------------------------------------------------------------
# Exports


def grid_csv(grid: Grid) -> str:
    header = ["City", "Committee city"] + [f"{c.title} (#{c.id})" for c in grid.campaigns]
    return to_csv(
        header,
        ([row.city.name, "yes" if row.committee else "no"] + [cell.label for cell in row.cells] for row in grid.rows),
    )


def history_csv(city: City, entries: list[HistoryEntry]) -> str:
    rows: list[list[object]] = []
    for entry in entries:
        if not entry.letters:
            rows.append([city.name, entry.campaign.id, entry.campaign.title, entry.label, "", "", "", entry.signups])
        for fact in entry.letters:
            rows.append(
                [
                    city.name,
                    entry.campaign.id,
                    entry.campaign.title,
                    entry.label,
                    fact.letter_id,
                    fact.status.value,
                    fact.changed_at.isoformat(timespec="seconds"),
                    entry.signups,
                ]
            )
    return to_csv(
        [
            "City",
            "Campaign id",
            "Campaign",
            "State",
            "Letter id",
            "Letter status",
            "Status changed (UTC)",
            "Testimony sign-ups",
        ],
        rows,
    )


# ---------------------------------------------------------------------------------------------------------------
# Over time (charts and the API's ?since=)


def acted_by_week(
    session: Session, division_ids: Sequence[int], weeks: int = 8, now: datetime | None = None
) -> tuple[list[date], dict[int, list[int]]]:
    """Per division, the number of (campaign, city) answers made each week (by when the letter was queued)."""
    end = (now or utcnow()).date()
    start = end - timedelta(days=end.weekday()) - timedelta(weeks=weeks - 1)
    starts = [start + timedelta(weeks=i) for i in range(weeks)]
    rows = session.exec(
        select(City.division_id, Letter.queued_at)
        .join(City, col(City.id) == Letter.city_id)
        .where(
            col(City.division_id).in_(list(division_ids)),
            col(City.is_member),
            col(Letter.queued_at) >= datetime.combine(start, datetime.min.time()),
            col(Letter.status).not_in([LetterStatus.DRAFT, LetterStatus.SUPERSEDED]),
        )
    ).all()
    series = {int(d): [0] * weeks for d in division_ids}
    for division_id, queued_at in rows:
        if queued_at is None or division_id is None:
            continue
        index = (queued_at.date() - start).days // 7
        if 0 <= index < weeks:
            series[int(division_id)][index] += 1
    return starts, series


# ---------------------------------------------------------------------------------------------------------------
# Weekly digest


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def create_due_digests(session: Session, today: date | None = None) -> list[int]:
    """One Digest row per active regional manager for this ISO week (the unique constraint keeps it at one); returns
    the digests to queue: every pending one and every claim gone stale (see ``requeue_stale_nudges``)."""
    week = iso_week(today or today_in_california())
    managers = session.exec(
        select(User).where(User.role == Role.REGIONAL_MANAGER, col(User.active), col(User.division_id).is_not(None))
    ).all()
    have = set(session.exec(select(Digest.manager_id).where(Digest.iso_week == week)).all())
    for manager in managers:
        if _id(manager) in have:
            continue
        try:
            with session.begin_nested():
                session.add(Digest(manager_id=_id(manager), iso_week=week))
                session.flush()
        except IntegrityError:
            continue
    # Every pending digest (new ones included: the sweep is their only sender) and every stale claim.
    waiting = or_(col(Digest.status) == MailState.PENDING.value, _stale_claim(Digest, utcnow() - mail_stuck_after()))
    ids = [
        int(i) for i in session.exec(select(Digest.id).where(waiting).order_by(col(Digest.id))).all() if i is not None
    ]
    if ids:
        after_commit(session, lambda: _enqueue_digests(ids))
    return ids


def _enqueue_digests(digest_ids: list[int]) -> None:
    from advocacy.participation.actors import send_digest

    for digest_id in digest_ids:
        send_digest.send(digest_id)


def digest_text(session: Session, manager: User) -> tuple[str, str]:
    division = home_division(session, manager)
    grid = division_grid(session, manager, division)
    lines = [
        f"{division.name} Division, week of {today_in_california():%B %-d, %Y}",
        "",
        f"Participation: {grid.rate.percent}% ({grid.rate.acted} of {grid.rate.possible} city answers); "
        f"league: {grid.league_rate.percent}%.",
        "",
    ]
    for campaign_index, campaign in enumerate(grid.campaigns):
        waiting = [
            r.city.name + (" (committee)" if r.cells[campaign_index].committee else "")
            for r in grid.rows
            if not r.cells[campaign_index].acted
        ]
        lines.append(f"{campaign.title}: {len(grid.rows) - len(waiting)} of {len(grid.rows)} cities acted.")
        if waiting:
            lines.append("  To nudge: " + ", ".join(waiting))
    from advocacy.settings import get_settings

    lines += ["", f"Open the dashboard: {get_settings().base_url}/participation"]
    return f"Weekly participation: {division.name} Division", "\n".join(lines)


def send_digest(session: Session, digest_id: int, mailer: Any) -> Digest:
    from advocacy.mail import Address, Email, MailError, Personalization
    from advocacy.settings import get_settings

    if session.get(Digest, digest_id) is None:
        raise NotFound(f"no digest {digest_id}")
    claimed = _claim(session, Digest, digest_id)
    digest = session.get(Digest, digest_id, populate_existing=True)
    assert digest is not None
    if not claimed:
        return digest
    manager = session.get(User, digest.manager_id)
    if manager is None or not manager.active or manager.division_id is None:
        digest.status = MailState.SKIPPED
    else:
        subject, text = digest_text(session, manager)
        settings = get_settings()
        try:
            mailer.send(
                Email(
                    subject=subject,
                    sender=Address(settings.mail_from, settings.mail_from_name),
                    text=text,
                    personalizations=[Personalization(to=[Address(manager.email, manager.name)])],
                    categories=["participation-digest"],
                )
            )
        except MailError as exc:
            if exc.retryable:
                _release(session, digest)
                raise
            digest.status = MailState.FAILED
            digest.error = exc.reason[:500]
        else:
            digest.status = MailState.SENT
            digest.sent_at = utcnow()
    session.add(digest)
    session.commit()
    return digest
