"""CitiPAC: contributors, the append-only ledger, pledges, asks, the treasurer's queue, and who may see what.

Every rule and every commit lives here (the rules themselves, as data, in ``rules``). Functions that change
something commit, and refuse bad input with a ``CitipacError`` whose message is meant for the person who asked,
before anything is written.

Who sees what (DOMAIN.md §4, issue 6): only staff with the treasurer flag see contributor details and the ledger;
an official sees their own giving; a regional manager sees their division's totals, never a person's; others
nothing. Routes guard by role, and the functions here check again (``require_treasurer``, ``can_view``), so an
entry point added later cannot forget it.

Concurrency: every ledger write first locks its contributor's row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite,
an UPDATE of the row as the transaction's first statement, which takes the database's single write lock), and only
then reads the calendar-year total the rules need. Two contributions from one contributor at the same moment are
therefore judged one after the other, each on the right total.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.citipac import rules
from advocacy.citipac.models import (
    AlertKind,
    CitipacAsk,
    CitipacMessage,
    ComplianceAlert,
    Contributor,
    ElectionDate,
    LedgerEntry,
    MessageKind,
    MessageStatus,
    Pledge,
    PledgeStatus,
    StateCandidateLimit,
)
from advocacy.citipac.rules import (
    AccountHolder,
    ContributorKind,
    EntryKind,
    FundsSource,
    InfoState,
    MoneyError,
    PaymentMethod,
)
from advocacy.db import after_commit, utcnow
from advocacy.directory.models import City, Division

log = logging.getLogger("advocacy.citipac")

CALIFORNIA = ZoneInfo("America/Los_Angeles")
_ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
_STATE_RE = re.compile(r"^[A-Z]{2}$")
_SOS_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,20}$")
LOCK_ATTEMPTS = 8


class CitipacError(ValueError):
    """Bad input; the message is meant for the person who asked. Nothing was changed."""


class ContributionRefused(CitipacError):
    """A rule of the Political Reform Act forbids recording this contribution. Nothing was changed."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


class NotFound(LookupError):
    """No such record."""


class AccessDenied(PermissionError):
    """The caller may not see or do this."""


def today_in_california() -> date:
    """Contributions are dated in California time: a check received at 11 p.m. on Dec 31 belongs to that year."""
    return datetime.now(CALIFORNIA).date()


# ---------------------------------------------------------------------------------------------------------------
# Who may do what


def is_treasurer(user: User | None) -> bool:
    return bool(user and user.active and user.is_treasurer and user.role in (Role.STAFF, Role.ADMIN))


def require_treasurer(user: User | None) -> User:
    if user is None or not is_treasurer(user):
        raise AccessDenied("Only the CitiPAC treasurer may see contributor details and the ledger.")
    return user


def require_staff(user: User | None) -> User:
    if user is None or user.role not in (Role.STAFF, Role.ADMIN):
        raise AccessDenied("Only league staff may set CitiPAC asks.")
    return user


def can_view(user: User | None, contributor: Contributor) -> bool:
    """The treasurer sees every contributor; an official sees the records of their own giving."""
    if user is None:
        return False
    return is_treasurer(user) or (user.role is Role.OFFICIAL and contributor.user_id == user.id)


def _id(row: Any) -> int:
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has not been stored yet")
    return int(row.id)


# ---------------------------------------------------------------------------------------------------------------
# Small parsers (bad input becomes a CitipacError)


def _amount(raw: str | int | Decimal, what: str = "amount") -> int:
    try:
        return rules.parse_positive_money(raw)
    except MoneyError as exc:
        raise CitipacError(f"The {what}: {exc}.") from None


def _date(raw: date | str | None, what: str, default: date) -> date:
    if raw is None or raw == "":
        return default
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise CitipacError(f"The {what} must be a date like 2026-03-31, not {raw[:20]!r}.") from None


def _choice(enum: Any, raw: Any, what: str) -> Any:
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise CitipacError(f"Choose the {what}: one of {allowed} (not {str(raw)[:30]!r}).") from None


def _text(raw: str | None, what: str, limit: int) -> str:
    value = " ".join((raw or "").split())
    if len(value) > limit:
        raise CitipacError(f"The {what} is at most {limit} characters.")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Configuration the treasurer keeps: elections and the state-candidate limit


def list_elections(session: Session) -> list[ElectionDate]:
    return list(session.exec(select(ElectionDate).order_by(col(ElectionDate.election_on))).all())


def add_election(session: Session, actor: User, *, election_on: date | str, name: str) -> ElectionDate:
    require_treasurer(actor)
    day = _date(election_on, "election date", default=date.min)
    if day == date.min:
        raise CitipacError("Give the election date.")
    label = _text(name, "election name", 120) or f"Election of {day:%B %-d, %Y}"
    if session.exec(select(ElectionDate).where(ElectionDate.election_on == day)).first():
        raise CitipacError(f"An election on {day:%B %-d, %Y} is already listed.")
    election = ElectionDate(election_on=day, name=label, created_by_id=actor.id)
    session.add(election)
    session.flush()
    accounts.record(
        session,
        actor,
        "citipac.election.add",
        f"citipac_election:{election.id}",
        {"election_on": day.isoformat(), "name": label},
    )
    session.commit()
    return election


def remove_election(session: Session, actor: User, election_id: int) -> None:
    """Remove a mistyped election (alerts it raised stay: they are history)."""
    require_treasurer(actor)
    election = session.get(ElectionDate, election_id)
    if election is None:
        raise NotFound(f"no election {election_id}")
    if session.exec(select(ComplianceAlert).where(ComplianceAlert.election_id == election_id)).first():
        raise CitipacError("24-hour report alerts already refer to this election; it stays listed.")
    accounts.record(
        session,
        actor,
        "citipac.election.remove",
        f"citipac_election:{election_id}",
        {"election_on": election.election_on.isoformat()},
    )
    session.delete(election)
    session.commit()


def state_limit_for(session: Session, year: int) -> int | None:
    row = session.exec(select(StateCandidateLimit).where(StateCandidateLimit.year == year)).first()
    if row is not None:
        return row.amount_cents
    return rules.DEFAULT_STATE_CANDIDATE_LIMITS.get(year)


def state_limits(session: Session) -> list[tuple[int, int, str]]:
    """``(year, cents, "set by the treasurer" | "default")`` for every year with a limit, newest first."""
    limits = {
        year: (cents, "default (Gov. Code §85303, FPPC 2025 adjustment)")
        for year, cents in rules.DEFAULT_STATE_CANDIDATE_LIMITS.items()
    }
    for row in session.exec(select(StateCandidateLimit)).all():
        limits[row.year] = (row.amount_cents, f"set {row.set_at:%b %-d, %Y}")
    return [(year, cents, how) for year, (cents, how) in sorted(limits.items(), reverse=True)]


def set_state_limit(session: Session, actor: User, *, year: int | str, amount: str | int) -> StateCandidateLimit:
    require_treasurer(actor)
    try:
        year_number = int(year)
    except (TypeError, ValueError):
        raise CitipacError(f"The year must be a number like 2027, not {str(year)[:10]!r}.") from None
    if not 2000 <= year_number <= 2100:
        raise CitipacError("The year must be between 2000 and 2100.")
    cents = _amount(amount, "limit")
    row = session.exec(select(StateCandidateLimit).where(StateCandidateLimit.year == year_number)).first()
    if row is None:
        row = StateCandidateLimit(year=year_number, amount_cents=cents, set_by_id=actor.id)
    else:
        row.amount_cents, row.set_by_id, row.set_at = cents, actor.id, utcnow()
    session.add(row)
    accounts.record(
        session,
        actor,
        "citipac.limit.set",
        f"citipac_state_limit:{year_number}",
        {"year": year_number, "amount": rules.money(cents)},
    )
    session.commit()
    return row


# ---------------------------------------------------------------------------------------------------------------
# Asks (a campaign's CitiPAC ask: shown on the CitiPAC page only)


@dataclass
class AskView:
    ask: CitipacAsk
    campaign: Campaign


def parse_suggestions(raw: str) -> list[int]:
    """``"100, 250, 500"`` -> cents; at most six suggestions."""
    amounts = [_amount(part, "suggested amount") for part in re.split(r"[,\s]+", raw.strip()) if part]
    if len(amounts) > 6:
        raise CitipacError("Give at most six suggested amounts.")
    return sorted(set(amounts))


def active_asks(session: Session) -> list[AskView]:
    rows = session.exec(
        select(CitipacAsk, Campaign)
        .join(Campaign, col(Campaign.id) == CitipacAsk.campaign_id)
        .where(col(CitipacAsk.active).is_(True), col(Campaign.status) == CampaignStatus.ACTIVE)
        .order_by(col(CitipacAsk.id).desc())
    ).all()
    return [AskView(ask=ask, campaign=campaign) for ask, campaign in rows]


def list_asks(session: Session, actor: User) -> list[AskView]:
    require_staff(actor)
    rows = session.exec(
        select(CitipacAsk, Campaign)
        .join(Campaign, col(Campaign.id) == CitipacAsk.campaign_id)
        .order_by(col(CitipacAsk.id).desc())
    ).all()
    return [AskView(ask=ask, campaign=campaign) for ask, campaign in rows]


def campaigns_for_asks(session: Session) -> list[Campaign]:
    """Campaigns staff may attach an ask to (drafts and active ones)."""
    return list(
        session.exec(
            select(Campaign)
            .where(col(Campaign.status).in_((CampaignStatus.DRAFT, CampaignStatus.ACTIVE)))
            .order_by(col(Campaign.id).desc())
        ).all()
    )


def create_ask(
    session: Session, actor: User, *, campaign_id: int | str, suggested_amounts: str = "", message: str = ""
) -> CitipacAsk:
    require_staff(actor)
    try:
        campaign = session.get(Campaign, int(campaign_id))
    except (TypeError, ValueError):
        campaign = None
    if campaign is None:
        raise CitipacError("Choose the campaign this ask belongs to.")
    amounts = parse_suggestions(suggested_amounts)
    text = (message or "").strip()
    if len(text) > 2000:
        raise CitipacError("The ask's message is at most 2,000 characters.")
    ask = CitipacAsk(
        campaign_id=_id(campaign),
        suggested_amounts=",".join(str(a) for a in amounts),
        message=text,
        created_by_id=actor.id,
    )
    session.add(ask)
    session.flush()
    accounts.record(session, actor, "citipac.ask.create", f"citipac_ask:{ask.id}", {"campaign_id": campaign.id})
    session.commit()
    return ask


def set_ask_active(session: Session, actor: User, ask_id: int, active: bool) -> CitipacAsk:
    require_staff(actor)
    ask = session.get(CitipacAsk, ask_id)
    if ask is None:
        raise NotFound(f"no ask {ask_id}")
    ask.active, ask.updated_at = active, utcnow()
    session.add(ask)
    accounts.record(session, actor, "citipac.ask." + ("activate" if active else "deactivate"), f"citipac_ask:{ask_id}")
    session.commit()
    return ask


# ---------------------------------------------------------------------------------------------------------------
# Contributors


@dataclass
class ContributorInput:
    kind: str = ContributorKind.INDIVIDUAL
    name_title: str = ""
    first_name: str = ""
    last_name: str = ""
    name_suffix: str = ""
    organization_name: str = ""
    street: str = ""
    city: str = ""
    state: str = "CA"
    zip_code: str = ""
    occupation: str = ""
    employer: str = ""
    self_employed: bool = False
    committee_sos_id: str = ""
    committee_treasurer: str = ""
    email: str = ""
    user_id: int | None = None
    official_city_id: int | None = None


def _contributor_fields(session: Session, data: ContributorInput) -> dict[str, Any]:
    """Validated, normalized column values for a contributor (raises ``CitipacError``)."""
    kind = _choice(ContributorKind, data.kind, "kind of contributor")
    values: dict[str, Any] = {
        "kind": kind,
        "name_title": _text(data.name_title, "title", 20),
        "first_name": _text(data.first_name, "first name", 60),
        "last_name": _text(data.last_name, "last name", 100),
        "name_suffix": _text(data.name_suffix, "suffix", 20),
        "organization_name": _text(data.organization_name, "name", 200),
        "street": _text(data.street, "street address", 200),
        "city": _text(data.city, "city", 100),
        "state": _text(data.state, "state", 2).upper() or "CA",
        "zip_code": _text(data.zip_code, "ZIP code", 10),
        "occupation": _text(data.occupation, "occupation", 100),
        "employer": _text(data.employer, "employer", 200),
        "self_employed": bool(data.self_employed),
        "committee_sos_id": _text(data.committee_sos_id, "Secretary of State ID", 20),
        "committee_treasurer": _text(data.committee_treasurer, "treasurer's name and address", 300),
        "email": accounts.normalize_email(data.email or ""),
        "user_id": data.user_id,
        "official_city_id": data.official_city_id,
    }
    if kind is ContributorKind.INDIVIDUAL:
        if not values["first_name"] or not values["last_name"]:
            raise CitipacError("Give the contributor's first and last name (their true name, Gov. Code §84301).")
        values["organization_name"] = ""
    elif kind is ContributorKind.ANONYMOUS:
        values.update(
            first_name="",
            last_name="",
            name_title="",
            name_suffix="",
            occupation="",
            employer="",
            self_employed=False,
            organization_name=values["organization_name"] or "Anonymous",
        )
    else:
        if not values["organization_name"]:
            raise CitipacError(f"Give the {kind.label.lower()}'s name.")
        values.update(first_name="", last_name="", name_title="", name_suffix="", occupation="", self_employed=False)
        if kind is ContributorKind.BUSINESS:
            values["employer"] = ""
    if values["zip_code"] and not _ZIP_RE.match(values["zip_code"]):
        raise CitipacError(f"The ZIP code must look like 95814 or 95814-1234, not {values['zip_code']!r}.")
    if not _STATE_RE.match(values["state"]):
        raise CitipacError("The state is its two-letter code, like CA.")
    if values["email"] and not accounts.is_valid_email(values["email"]):
        raise CitipacError(f"{data.email[:60]!r} is not an e-mail address.")
    if values["committee_sos_id"] and not _SOS_ID_RE.match(values["committee_sos_id"]):
        raise CitipacError("The Secretary of State ID is letters and digits only, like 1234567.")
    if not kind.is_committee:
        values.update(committee_sos_id="", committee_treasurer="")
    if values["user_id"] is not None:
        owner = session.get(User, values["user_id"])
        if owner is None or owner.role is not Role.OFFICIAL:
            raise CitipacError("A contributor can be linked only to an official's account.")
        values["official_city_id"] = values["official_city_id"] or owner.city_id
    if values["official_city_id"] is not None and session.get(City, values["official_city_id"]) is None:
        raise CitipacError(f"No city with id {values['official_city_id']}.")
    return values


def contributor_facts(contributor: Contributor) -> rules.ContributorFacts:
    return rules.ContributorFacts(
        kind=contributor.kind,
        street=contributor.street,
        city=contributor.city,
        zip_code=contributor.zip_code,
        occupation=contributor.occupation,
        employer=contributor.employer,
        self_employed=contributor.self_employed,
        committee_sos_id=contributor.committee_sos_id,
        committee_treasurer=contributor.committee_treasurer,
    )


def missing_information(contributor: Contributor) -> tuple[str, ...]:
    return rules.missing_information(contributor_facts(contributor))


def create_contributor(session: Session, actor: User, data: ContributorInput) -> Contributor:
    require_treasurer(actor)
    contributor = Contributor(**_contributor_fields(session, data), created_by_id=actor.id)
    session.add(contributor)
    session.flush()
    accounts.record(
        session,
        actor,
        "citipac.contributor.create",
        f"citipac_contributor:{contributor.id}",
        {"kind": contributor.kind.value},
    )
    session.commit()
    return contributor


def update_contributor(
    session: Session,
    actor: User,
    contributor_id: int,
    data: ContributorInput,
    *,
    info_received_on: date | str | None = None,
    today: date | None = None,
) -> Contributor:
    """Correct or complete a contributor's details. When this completes what §85700 needs, the date the information
    arrived is kept (the amended report needs it); its flagged contributions leave the queue.

    Contributor details are not ledger entries: they are corrected in place, and every change is in the audit log
    with the old and new values.
    """
    require_treasurer(actor)
    contributor = session.get(Contributor, contributor_id)
    if contributor is None:
        raise NotFound(f"no contributor {contributor_id}")
    values = _contributor_fields(session, data)
    if (
        values["kind"] != contributor.kind
        and session.exec(select(LedgerEntry.id).where(LedgerEntry.contributor_id == contributor_id)).first()
    ):
        raise CitipacError("A contributor with entries in the ledger keeps its kind; create a new contributor.")
    today = today or today_in_california()
    received_on = _date(info_received_on, "date the information was received", default=today)
    if received_on > today:
        raise CitipacError("The information cannot have arrived in the future.")
    was_missing = missing_information(contributor)
    changes = {
        name: [str(getattr(contributor, name)), str(value)]
        for name, value in values.items()
        if getattr(contributor, name) != value
    }
    for name, value in values.items():
        setattr(contributor, name, value)
    if was_missing and not missing_information(contributor):
        contributor.info_received_on = received_on
        changes["info_received_on"] = ["", received_on.isoformat()]
    contributor.updated_at = utcnow()
    session.add(contributor)
    if changes:
        accounts.record(session, actor, "citipac.contributor.update", f"citipac_contributor:{contributor_id}", changes)
    session.commit()
    return contributor


def get_contributor(session: Session, viewer: User, contributor_id: int) -> Contributor:
    contributor = session.get(Contributor, contributor_id)
    if contributor is None:
        if not is_treasurer(viewer):
            raise AccessDenied("You may see only your own giving.")
        raise NotFound(f"no contributor {contributor_id}")
    if not can_view(viewer, contributor):
        raise AccessDenied(
            "You may see only your own giving."
            if viewer.role is Role.OFFICIAL
            else "Only the CitiPAC treasurer may see contributor details."
        )
    return contributor


def find_contributors(session: Session, viewer: User, q: str = "", limit: int = 200) -> list[Contributor]:
    require_treasurer(viewer)
    query = select(Contributor)
    term = " ".join(q.split())[:100].lower()
    if term:
        like = f"%{term}%"
        query = query.where(
            func.lower(Contributor.last_name).like(like)
            | func.lower(Contributor.first_name).like(like)
            | func.lower(Contributor.organization_name).like(like)
            | func.lower(Contributor.email).like(like)
        )
    return list(
        session.exec(
            query.order_by(col(Contributor.last_name), col(Contributor.organization_name), col(Contributor.id)).limit(
                limit
            )
        ).all()
    )


# ---------------------------------------------------------------------------------------------------------------
# The ledger


@dataclass
class ContributionInput:
    amount: str | int | Decimal = ""
    method: str = PaymentMethod.CHECK
    received_on: date | str | None = None
    contributor_id: int | None = None
    contributor: ContributorInput | None = None  # a new contributor, created with the contribution
    reference: str = ""
    earmark: str = ""
    for_state_candidates: bool = False
    pledge_id: int | None = None
    memo: str = ""
    request_key: str = ""  # a form token or an Idempotency-Key: the same key records once


@dataclass
class RecordResult:
    entry: LedgerEntry
    contributor: Contributor
    evaluation: rules.Evaluation
    alerts: list[ComplianceAlert] = field(default_factory=list)
    messages: list[CitipacMessage] = field(default_factory=list)
    duplicate: bool = False  # the request key had been used: this is the entry recorded then


def _earlier_result(session: Session, request_key: str) -> RecordResult | None:
    if not request_key:
        return None
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.request_key == request_key)).first()
    if entry is None:
        return None
    contributor = session.get(Contributor, entry.contributor_id)
    assert contributor is not None
    evaluation = rules.Evaluation(
        ytd_after_cents=entry.ytd_cents,
        info_required=entry.info_required,
        info_due_on=entry.info_due_on,
        info_missing=missing_information(contributor) if entry.info_required else (),
    )
    alerts = list(session.exec(select(ComplianceAlert).where(ComplianceAlert.entry_id == entry.id)).all())
    return RecordResult(entry=entry, contributor=contributor, evaluation=evaluation, alerts=alerts, duplicate=True)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _begin_fresh(session: Session) -> None:
    """End any transaction the session holds, so the lock below is the first statement of a new one.

    SQLite can turn a transaction's read snapshot into a write only if nobody wrote since it was taken, and fails
    at once (no waiting) otherwise; a transaction whose first statement is a write waits for the lock instead.
    """
    if session.in_transaction():
        session.commit()


def _lock_contributor(session: Session, contributor_id: int) -> Contributor:
    if _dialect(session) == "postgresql":
        found = session.exec(
            select(Contributor)
            .where(col(Contributor.id) == contributor_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
    else:
        session.execute(
            update(Contributor)
            .where(col(Contributor.id) == contributor_id)
            .values(lock_counter=col(Contributor.lock_counter) + 1)
            .execution_options(synchronize_session=False)
        )
        found = session.get(Contributor, contributor_id, populate_existing=True)
    if found is None:
        raise NotFound(f"no contributor {contributor_id}")
    return found


def _is_lock_timeout(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in text or "busy" in text


def _with_lock_retries(session: Session, work: Any) -> Any:
    """Run ``work()`` (which locks and commits); on SQLite's "database is locked" roll back and run it again."""
    for attempt in range(LOCK_ATTEMPTS):
        try:
            _begin_fresh(session)
            return work()
        except OperationalError as exc:
            session.rollback()
            if not _is_lock_timeout(exc) or attempt == LOCK_ATTEMPTS - 1:
                raise
            log.info("citipac ledger: lock busy, attempt %d", attempt + 1)
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _sum(session: Session, contributor_id: int, start: date, end: date, *, state_only: bool = False) -> int:
    query = select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
        LedgerEntry.contributor_id == contributor_id,
        col(LedgerEntry.received_on) >= start,
        col(LedgerEntry.received_on) <= end,
    )
    if state_only:
        query = query.where(col(LedgerEntry.for_state_candidates).is_(True))
    return int(session.exec(query).one())


def year_total(session: Session, contributor_id: int, year: int) -> int:
    return _sum(session, contributor_id, date(year, 1, 1), date(year, 12, 31))


def _facts(
    session: Session, contributor: Contributor, amount: int, method: PaymentMethod, received_on: date, for_state: bool
) -> tuple[rules.ContributionFacts, dict[date, ElectionDate]]:
    start, end = rules.calendar_year(received_on)
    cid = _id(contributor)
    elections = {e.election_on: e for e in list_elections(session) if rules.in_late_window(received_on, e.election_on)}
    windows = tuple(
        rules.LateWindow(
            election_on=day, name=e.name, total_before_cents=_sum(session, cid, rules.late_window_start(day), day)
        )
        for day, e in sorted(elections.items())
    )
    facts = rules.ContributionFacts(
        amount_cents=amount,
        method=method,
        received_on=received_on,
        contributor=contributor_facts(contributor),
        ytd_before_cents=_sum(session, cid, start, end),
        for_state_candidates=for_state,
        state_ytd_before_cents=_sum(session, cid, start, end, state_only=True) if for_state else 0,
        state_limit_cents=state_limit_for(session, received_on.year) if for_state else None,
        late_windows=windows,
    )
    return facts, elections


def _check_pledge(session: Session, pledge_id: int | None) -> Pledge | None:
    if pledge_id is None:
        return None
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise CitipacError(f"There is no pledge {pledge_id}.")
    if pledge.status is PledgeStatus.CANCELLED:
        raise CitipacError(f"Pledge {pledge_id} was cancelled.")
    return pledge


def record_contribution(
    session: Session, actor: User, data: ContributionInput, *, today: date | None = None
) -> RecordResult:
    """Record money received, after every rule of DOMAIN.md §4 (the treasurer only).

    Refused contributions raise ``ContributionRefused`` and change nothing. Accepted ones may carry flags: the 60-day
    clock when information is missing, the $5,000 notice, the major-donor mark, 24-hour report alerts. A receipt
    (and any notice or information request due) is queued for the worker once the transaction commits.
    """
    require_treasurer(actor)
    today = today or today_in_california()
    request_key = _text(data.request_key, "request key", 80)
    earlier = _earlier_result(session, request_key)
    if earlier is not None:
        return earlier
    amount = _amount(data.amount)
    method = _choice(PaymentMethod, data.method, "payment method")
    received_on = _date(data.received_on, "date received", default=today)
    if received_on > today:
        raise CitipacError("The date received cannot be in the future.")
    reference = _text(data.reference, "reference", 120)
    earmark = _text(data.earmark, "earmark", 300)
    memo = _text(data.memo, "memo", 500)
    if (data.contributor_id is None) == (data.contributor is None):
        raise CitipacError("Choose an existing contributor or give a new contributor's details (one of them).")
    pledge = _check_pledge(session, data.pledge_id)
    new_values = _contributor_fields(session, data.contributor) if data.contributor is not None else None
    actor_id = _id(actor)

    def work() -> RecordResult:
        if new_values is not None:
            # A new contributor has no history and nobody else can see it yet: nothing to lock.
            contributor = Contributor(**new_values, created_by_id=actor_id)
        else:
            assert data.contributor_id is not None
            contributor = _lock_contributor(session, data.contributor_id)
        if contributor.id is None:
            facts = rules.ContributionFacts(
                amount_cents=amount,
                method=method,
                received_on=received_on,
                contributor=contributor_facts(contributor),
                for_state_candidates=data.for_state_candidates,
                state_limit_cents=state_limit_for(session, received_on.year) if data.for_state_candidates else None,
                late_windows=tuple(
                    rules.LateWindow(e.election_on, e.name, 0)
                    for e in list_elections(session)
                    if rules.in_late_window(received_on, e.election_on)
                ),
            )
            elections = {e.election_on: e for e in list_elections(session)}
        else:
            facts, elections = _facts(session, contributor, amount, method, received_on, data.for_state_candidates)
        evaluation = rules.evaluate(facts)
        if not evaluation.accepted:
            session.rollback()
            raise ContributionRefused(evaluation.refusals)
        if contributor.id is None:
            session.add(contributor)
            session.flush()
            accounts.record(
                session,
                actor,
                "citipac.contributor.create",
                f"citipac_contributor:{contributor.id}",
                {"kind": contributor.kind.value},
            )
        entry = LedgerEntry(
            kind=EntryKind.CONTRIBUTION,
            contributor_id=_id(contributor),
            received_on=received_on,
            amount_cents=amount,
            method=method,
            reference=reference,
            earmark=earmark,
            for_state_candidates=data.for_state_candidates,
            pledge_id=pledge.id if pledge else None,
            memo=memo,
            ytd_cents=evaluation.ytd_after_cents,
            info_required=evaluation.info_required,
            info_due_on=evaluation.info_due_on,
            recorded_by_id=actor_id,
            request_key=request_key or None,
        )
        session.add(entry)
        try:
            session.flush()
        except IntegrityError:
            # The same form or Idempotency-Key, pressed twice at once: the other press recorded it.
            session.rollback()
            again = _earlier_result(session, request_key)
            if again is None:
                raise
            return again
        result = RecordResult(entry=entry, contributor=contributor, evaluation=evaluation)
        _follow_up(session, result, elections, today)
        if pledge is not None:
            _update_pledge(session, pledge, contributor)
        accounts.record(
            session,
            actor,
            "citipac.contribution.record",
            f"citipac_entry:{entry.id}",
            {"amount": rules.money(amount), "contributor_id": contributor.id, "flags": _flag_names(evaluation)},
        )
        _send_after_commit(session, [_id(m) for m in result.messages])
        session.commit()
        return result

    result: RecordResult = _with_lock_retries(session, work)
    return result


def _flag_names(evaluation: rules.Evaluation) -> list[str]:
    flags = []
    if evaluation.info_required:
        flags.append("info_required")
    if evaluation.notice_84105_due_on:
        flags.append("notice_84105")
    if evaluation.major_donor:
        flags.append("major_donor")
    flags += ["report_24h"] * len(evaluation.late_reports)
    return flags


def _add_once(session: Session, row: ComplianceAlert | CitipacMessage) -> ComplianceAlert | CitipacMessage | None:
    """Insert a keyed alert or message unless one with its key exists (a savepoint absorbs a concurrent insert)."""
    model = type(row)
    if session.exec(select(model).where(model.key == row.key)).first() is not None:
        return None
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def _follow_up(session: Session, result: RecordResult, elections: dict[date, ElectionDate], today: date) -> None:
    """The alerts and e-mails a recorded contribution makes due."""
    entry, contributor, evaluation = result.entry, result.contributor, result.evaluation
    cid, eid, year = _id(contributor), _id(entry), entry.received_on.year
    alerts: list[ComplianceAlert] = []
    if evaluation.notice_84105_due_on:
        alerts.append(
            ComplianceAlert(
                kind=AlertKind.NOTICE_84105,
                key=f"notice_84105:{cid}:{year}",
                contributor_id=cid,
                entry_id=eid,
                year=year,
                due_on=evaluation.notice_84105_due_on,
                detail=f"Reached {rules.dollars(evaluation.ytd_after_cents)} in {year}: tell the contributor "
                "within two weeks that they may have to file campaign reports (Gov. Code §84105).",
            )
        )
    if evaluation.major_donor:
        alerts.append(
            ComplianceAlert(
                kind=AlertKind.MAJOR_DONOR,
                key=f"major_donor:{cid}:{year}",
                contributor_id=cid,
                entry_id=eid,
                year=year,
                detail=f"Reached {rules.dollars(evaluation.ytd_after_cents)} in {year}: a major donor (Form 461) if "
                "their contributions to all committees total $10,000 or more.",
            )
        )
    for report in evaluation.late_reports:
        election = elections.get(report.election_on)
        alerts.append(
            ComplianceAlert(
                kind=AlertKind.REPORT_24H,
                key=f"report_24h:{eid}:{report.election_on.isoformat()}",
                contributor_id=cid,
                entry_id=eid,
                election_id=election.id if election else None,
                year=year,
                due_on=report.due_on,
                detail=f"{rules.dollars(report.window_total_cents)} from this source in the 90 days before "
                f"{report.election_name} ({report.election_on:%b %-d, %Y}): file Form 497 within 24 hours.",
            )
        )
    for alert in alerts:
        if _add_once(session, alert) is not None:
            result.alerts.append(alert)
    if contributor.email:
        receipt = CitipacMessage(
            kind=MessageKind.RECEIPT, key=f"receipt:{eid}", contributor_id=cid, entry_id=eid, to_email=contributor.email
        )
        if _add_once(session, receipt) is not None:
            result.messages.append(receipt)
        if evaluation.notice_84105_due_on:
            notice = CitipacMessage(
                kind=MessageKind.NOTICE_84105,
                key=f"notice_84105:{cid}:{year}",
                contributor_id=cid,
                entry_id=eid,
                to_email=contributor.email,
            )
            if _add_once(session, notice) is not None:
                result.messages.append(notice)
    if evaluation.info_required:
        result.messages += _schedule_info_requests(session, today, contributor_ids=[cid])
    session.flush()


def _send_after_commit(session: Session, message_ids: list[int]) -> None:
    if not message_ids:
        return

    def enqueue() -> None:
        from advocacy.citipac import actors  # late: actors import this module

        for message_id in message_ids:
            actors.send_citipac_message.send(message_id)

    after_commit(session, enqueue)


def _update_pledge(session: Session, pledge: Pledge, contributor: Contributor) -> None:
    received = int(
        session.exec(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(LedgerEntry.pledge_id == pledge.id)
        ).one()
    )
    pledge.contributor_id = pledge.contributor_id or contributor.id
    pledge.status = PledgeStatus.FULFILLED if received >= pledge.amount_cents else PledgeStatus.OPEN
    session.add(pledge)


def reversed_amounts(session: Session, entry_ids: Iterable[int] | None = None) -> dict[int, int]:
    """``{original entry id: cents reversed so far}`` (a positive number)."""
    query = select(LedgerEntry.reverses_entry_id, func.sum(LedgerEntry.amount_cents)).where(
        col(LedgerEntry.reverses_entry_id).is_not(None)
    )
    if entry_ids is not None:
        query = query.where(col(LedgerEntry.reverses_entry_id).in_(list(entry_ids)))
    rows = session.exec(query.group_by(col(LedgerEntry.reverses_entry_id))).all()
    return {int(original): -int(total) for original, total in rows if original is not None}


def record_reversal(
    session: Session,
    actor: User,
    entry_id: int,
    *,
    kind: str,
    reason: str,
    amount: str | int | None = None,
    on: date | str | None = None,
    method: str | None = None,
    reference: str = "",
    today: date | None = None,
) -> LedgerEntry:
    """A refund (part or all of a contribution paid back) or a correction (a wrong entry reversed in full).

    The original entry is never touched: the reversing entry carries a negative amount and points at it.
    """
    require_treasurer(actor)
    today = today or today_in_california()
    entry_kind = _choice(EntryKind, kind, "kind of reversal")
    if entry_kind is EntryKind.CONTRIBUTION:
        raise CitipacError("A reversal is a refund or a correction.")
    why = _text(reason, "reason", 400)
    if not why:
        raise CitipacError("Say why the entry is reversed (it goes on the record).")
    day = _date(on, "date", default=today)
    if day > today:
        raise CitipacError("The date cannot be in the future.")
    original = session.get(LedgerEntry, entry_id)
    if original is None:
        raise NotFound(f"no ledger entry {entry_id}")
    if original.kind is not EntryKind.CONTRIBUTION:
        raise CitipacError("Only a contribution can be reversed; this entry is itself a reversal.")
    if day < original.received_on:
        raise CitipacError("A reversal cannot be dated before the contribution it reverses.")
    pay_method = _choice(PaymentMethod, method or original.method, "payment method")
    requested = None if amount in (None, "") else _amount(amount)
    reference_text = _text(reference, "reference", 120)
    # Plain values: the work below starts a new transaction, and must not reload the entry before taking the lock.
    contributor_id, original_cents, tran_id = original.contributor_id, original.amount_cents, original.tran_id
    earmark, for_state, pledge_id = original.earmark, original.for_state_candidates, original.pledge_id
    actor_id = _id(actor)

    def work() -> LedgerEntry:
        _lock_contributor(session, contributor_id)
        remaining = original_cents - reversed_amounts(session, [entry_id]).get(entry_id, 0)
        if remaining <= 0:
            session.rollback()
            raise CitipacError(f"Entry {tran_id} has already been reversed in full.")
        cents = remaining if requested is None else requested
        if cents > remaining:
            session.rollback()
            raise CitipacError(f"At most {rules.dollars(remaining)} of entry {tran_id} is left to reverse.")
        if entry_kind is EntryKind.CORRECTION and cents != remaining:
            session.rollback()
            raise CitipacError(
                "A correction reverses the whole entry; record the right amount as a new "
                "contribution. To pay part of it back, record a refund."
            )
        start, end = rules.calendar_year(day)
        reversal = LedgerEntry(
            kind=entry_kind,
            contributor_id=contributor_id,
            reverses_entry_id=entry_id,
            received_on=day,
            amount_cents=-cents,
            method=pay_method,
            reference=reference_text,
            earmark=earmark,
            for_state_candidates=for_state,
            pledge_id=pledge_id,
            memo=f"{entry_kind.label} of {tran_id}: {why}"[:500],
            ytd_cents=_sum(session, contributor_id, start, end) - cents,
            recorded_by_id=actor_id,
        )
        session.add(reversal)
        session.flush()
        if pledge_id is not None:
            pledge = session.get(Pledge, pledge_id)
            contributor = session.get(Contributor, contributor_id)
            if pledge is not None and contributor is not None and pledge.status is not PledgeStatus.CANCELLED:
                _update_pledge(session, pledge, contributor)
        accounts.record(
            session,
            actor,
            f"citipac.{entry_kind.value}.record",
            f"citipac_entry:{reversal.id}",
            {"reverses": entry_id, "amount": rules.money(-cents), "reason": why},
        )
        session.commit()
        return reversal

    reversal: LedgerEntry = _with_lock_retries(session, work)
    return reversal


def get_entry(session: Session, viewer: User, entry_id: int) -> tuple[LedgerEntry, Contributor]:
    entry = session.get(LedgerEntry, entry_id)
    if entry is None:
        raise NotFound(f"no ledger entry {entry_id}")
    contributor = get_contributor(session, viewer, entry.contributor_id)
    return entry, contributor


@dataclass
class EntryDetail:
    reverses: LedgerEntry | None
    reversals: list[LedgerEntry]
    remaining_cents: int  # what a refund or correction can still reverse
    alerts: list[ComplianceAlert]
    messages: list[CitipacMessage]
    clock: rules.InfoClock | None
    missing: tuple[str, ...]
    warnings: list[str]


def entry_detail(session: Session, viewer: User, entry_id: int, today: date | None = None) -> EntryDetail:
    """What the treasurer needs beside an entry: its reversals, alerts, e-mails and the 60-day clock."""
    require_treasurer(viewer)
    entry = session.get(LedgerEntry, entry_id)
    if entry is None:
        raise NotFound(f"no ledger entry {entry_id}")
    contributor = session.get(Contributor, entry.contributor_id)
    assert contributor is not None
    reversals = list(
        session.exec(
            select(LedgerEntry).where(LedgerEntry.reverses_entry_id == entry_id).order_by(col(LedgerEntry.id))
        ).all()
    )
    reversed_cents = -sum(r.amount_cents for r in reversals)
    missing = missing_information(contributor)
    clock = None
    if entry.info_required:
        clock = rules.info_clock(
            entry.received_on,
            today or today_in_california(),
            info_received=not missing,
            returned=reversed_cents >= entry.amount_cents,
        )
    warnings = []
    if (
        entry.kind is EntryKind.CONTRIBUTION
        and not entry.info_required
        and entry.amount_cents >= rules.RECORD_MINIMUM.cents
        and contributor.kind is not ContributorKind.ANONYMOUS
        and any(m in missing for m in ("street address", "city", "ZIP code"))
    ):
        warnings.append(
            "Contributions of $25 and up need the contributor's street address and ZIP code on file "
            f"({rules.RECORD_MINIMUM.source})."
        )
    return EntryDetail(
        reverses=session.get(LedgerEntry, entry.reverses_entry_id) if entry.reverses_entry_id else None,
        reversals=reversals,
        remaining_cents=entry.amount_cents - reversed_cents if entry.kind is EntryKind.CONTRIBUTION else 0,
        alerts=list(session.exec(select(ComplianceAlert).where(ComplianceAlert.entry_id == entry_id)).all()),
        messages=list(
            session.exec(
                select(CitipacMessage).where(CitipacMessage.entry_id == entry_id).order_by(col(CitipacMessage.id))
            ).all()
        ),
        clock=clock,
        missing=missing,
        warnings=warnings,
    )


def ledger(session: Session, viewer: User, start: date, end: date) -> list[tuple[LedgerEntry, Contributor]]:
    require_treasurer(viewer)
    rows = session.exec(
        select(LedgerEntry, Contributor)
        .join(Contributor, col(Contributor.id) == LedgerEntry.contributor_id)
        .where(col(LedgerEntry.received_on) >= start, col(LedgerEntry.received_on) <= end)
        .order_by(col(LedgerEntry.received_on).desc(), col(LedgerEntry.id).desc())
    ).all()
    return [(entry, contributor) for entry, contributor in rows]


def contributor_entries(session: Session, viewer: User, contributor: Contributor) -> list[LedgerEntry]:
    if not can_view(viewer, contributor):
        raise AccessDenied("You may see only your own giving.")
    return list(
        session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.contributor_id == contributor.id)
            .order_by(col(LedgerEntry.received_on), col(LedgerEntry.id))
        ).all()
    )


def totals_by_year(entries: Iterable[LedgerEntry]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for entry in entries:
        totals[entry.received_on.year] += entry.amount_cents
    return dict(sorted(totals.items(), reverse=True))


# ---------------------------------------------------------------------------------------------------------------
# Pledges by officials


ATTESTATION = (
    "I attest that this contribution will be paid from {source}, not from city funds: it will not be paid with a "
    "city card or from a city account, and the city will not reimburse it (Gov. Code §8314, §85300). I am making "
    "this pledge on my own time, without city staff, city e-mail or other city resources."
)
SOURCE_WORDS = {
    FundsSource.PERSONAL: "my personal funds",
    FundsSource.BUSINESS: "my business's funds",
    FundsSource.OWN_COMMITTEE: "my own campaign committee's funds",
}


def attestation_text(source: FundsSource) -> str:
    return ATTESTATION.format(source=SOURCE_WORDS[source])


@dataclass
class PledgeInput:
    amount: str | int | Decimal = ""
    source: str = ""
    account_holder: str = ""
    method: str = PaymentMethod.CHECK
    payer_name: str = ""
    payer_street: str = ""
    payer_city: str = ""
    payer_state: str = "CA"
    payer_zip: str = ""
    payer_email: str = ""
    occupation: str = ""
    employer: str = ""
    committee_sos_id: str = ""
    attest: bool = False
    ask_id: int | None = None


def create_pledge(session: Session, official: User, data: PledgeInput) -> Pledge:
    """An official's pledge. Refused, with the reason, when the payer looks like the city (DOMAIN.md §4.9)."""
    if official.role is not Role.OFFICIAL or official.city_id is None:
        raise AccessDenied("Pledges are made by city officials, from their own funds.")
    problems: list[str] = []
    try:
        amount = _amount(data.amount)
    except CitipacError as exc:
        problems.append(str(exc))
        amount = 0
    source = _choice(FundsSource, data.source, "source of the money") if data.source else None
    if source is None:
        problems.append(
            "Say where the money comes from: your personal funds, your business or your own campaign committee."
        )
    holder = _choice(AccountHolder, data.account_holder, "card or account holder") if data.account_holder else None
    if holder is None:
        problems.append("Say whose card or account will pay.")
    method = _choice(PaymentMethod, data.method, "payment method")
    if method is PaymentMethod.CASH:
        problems.append(
            "Pledges are paid by check, card or bank transfer (cash of $100 or more is not allowed, Gov. Code §84300)."
        )
    payer_name = _text(data.payer_name, "payer's name", 200)
    if not payer_name:
        problems.append("Give the name on the check, card or account.")
    fields: dict[str, Any] = {
        "payer_street": _text(data.payer_street, "street address", 200),
        "payer_city": _text(data.payer_city, "city", 100),
        "payer_state": _text(data.payer_state, "state", 2).upper() or "CA",
        "payer_zip": _text(data.payer_zip, "ZIP code", 10),
        "payer_email": accounts.normalize_email(data.payer_email or ""),
        "occupation": _text(data.occupation, "occupation", 100),
        "employer": _text(data.employer, "employer", 200),
        "committee_sos_id": _text(data.committee_sos_id, "Secretary of State ID", 20),
    }
    if fields["payer_zip"] and not _ZIP_RE.match(fields["payer_zip"]):
        problems.append("The ZIP code must look like 95814 or 95814-1234.")
    if not _STATE_RE.match(fields["payer_state"]):
        problems.append("The state is its two-letter code, like CA.")
    if fields["payer_email"] and not accounts.is_valid_email(fields["payer_email"]):
        problems.append("The e-mail address for your receipt is not an e-mail address.")
    if fields["committee_sos_id"] and not _SOS_ID_RE.match(fields["committee_sos_id"]):
        problems.append("The Secretary of State ID is letters and digits only, like 1234567.")
    if not data.attest:
        problems.append("Confirm the attestation: CitiPAC can accept the pledge only if the money is not the city's.")
    ask = None
    if data.ask_id is not None:
        ask = session.get(CitipacAsk, data.ask_id)
        if ask is None or not ask.active:
            problems.append("That ask is no longer open; pledge from the CitiPAC page.")
    city = session.get(City, official.city_id)
    problems += rules.city_payer_refusals(
        rules.PayerFacts(
            payer_name=payer_name,
            payer_street=fields["payer_street"],
            payer_email=fields["payer_email"],
            account_holder=holder or AccountHolder.PERSONAL,
            city_name=city.name if city else "",
            city_official_name=city.official_name if city else "",
            city_hall_address=city.address if city else "",
            official_email=official.email,
        )
    )
    if problems:
        raise CitipacError(" ".join(problems))
    assert source is not None and holder is not None
    pledge = Pledge(
        user_id=_id(official),
        city_id=official.city_id,
        ask_id=ask.id if ask else None,
        amount_cents=amount,
        source=source,
        account_holder=holder,
        method=method,
        payer_name=payer_name,
        attestation=attestation_text(source),
        **fields,
    )
    session.add(pledge)
    session.flush()
    accounts.record(
        session,
        official,
        "citipac.pledge.create",
        f"citipac_pledge:{pledge.id}",
        {"amount": rules.money(amount), "source": source.value},
    )
    session.commit()
    return pledge


def get_pledge(session: Session, viewer: User, pledge_id: int) -> Pledge:
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise NotFound(f"no pledge {pledge_id}")
    if not (is_treasurer(viewer) or pledge.user_id == viewer.id):
        raise AccessDenied("You may see only your own pledges.")
    return pledge


def cancel_pledge(session: Session, actor: User, pledge_id: int) -> Pledge:
    pledge = get_pledge(session, actor, pledge_id)
    if pledge.status is not PledgeStatus.OPEN:
        raise CitipacError(f"Pledge {pledge_id} is {pledge.status.value}; only an open pledge can be cancelled.")
    pledge.status = PledgeStatus.CANCELLED
    session.add(pledge)
    accounts.record(session, actor, "citipac.pledge.cancel", f"citipac_pledge:{pledge_id}")
    session.commit()
    return pledge


def list_pledges(session: Session, viewer: User, *, status: PledgeStatus | None = None) -> list[tuple[Pledge, User]]:
    require_treasurer(viewer)
    query = select(Pledge, User).join(User, col(User.id) == Pledge.user_id)
    if status is not None:
        query = query.where(Pledge.status == status)
    return [(p, u) for p, u in session.exec(query.order_by(col(Pledge.created_at).desc())).all()]


def contributor_input_for_pledge(session: Session, pledge: Pledge) -> ContributorInput:
    """A new contributor's details as the pledge gives them (the treasurer checks them before recording)."""
    official = session.get(User, pledge.user_id)
    names = (official.name if official else pledge.payer_name).split()
    common: dict[str, Any] = {
        "street": pledge.payer_street,
        "city": pledge.payer_city,
        "state": pledge.payer_state,
        "zip_code": pledge.payer_zip,
        "email": pledge.payer_email,
        "user_id": pledge.user_id,
        "official_city_id": pledge.city_id,
    }
    if pledge.source is FundsSource.PERSONAL:
        return ContributorInput(
            kind=ContributorKind.INDIVIDUAL,
            first_name=" ".join(names[:-1]) or names[0],
            last_name=names[-1],
            occupation=pledge.occupation,
            employer=pledge.employer,
            **common,
        )
    if pledge.source is FundsSource.OWN_COMMITTEE:
        return ContributorInput(
            kind=ContributorKind.COMMITTEE,
            organization_name=pledge.payer_name,
            committee_sos_id=pledge.committee_sos_id,
            **common,
        )
    return ContributorInput(kind=ContributorKind.BUSINESS, organization_name=pledge.payer_name, **common)


def matching_contributor(session: Session, pledge: Pledge) -> Contributor | None:
    """An existing contributor record of the same official and kind, to record a pledge's money against."""
    wanted = contributor_input_for_pledge(session, pledge)
    for contributor in session.exec(
        select(Contributor).where(Contributor.user_id == pledge.user_id, Contributor.kind == wanted.kind)
    ).all():
        if contributor.kind is ContributorKind.INDIVIDUAL or (
            contributor.organization_name.lower() == wanted.organization_name.lower()
        ):
            return contributor
    return None


# ---------------------------------------------------------------------------------------------------------------
# The treasurer's queue and the 60-day clock


@dataclass
class InfoItem:
    entry: LedgerEntry
    contributor: Contributor
    clock: rules.InfoClock
    missing: tuple[str, ...]
    requests_sent: int


@dataclass
class Queue:
    info: list[InfoItem]
    alerts: list[tuple[ComplianceAlert, Contributor]]
    pledges: list[tuple[Pledge, User]]
    failed_messages: list[tuple[CitipacMessage, Contributor]]


def flagged_entries(
    session: Session,
    today: date,
    *,
    start: date | None = None,
    end: date | None = None,
    contributor_ids: list[int] | None = None,
    open_only: bool = False,
) -> list[InfoItem]:
    """Contributions recorded without the information §85700 needs, with where their 60-day clock stands."""
    query = (
        select(LedgerEntry, Contributor)
        .join(Contributor, col(Contributor.id) == LedgerEntry.contributor_id)
        .where(col(LedgerEntry.info_required).is_(True), LedgerEntry.kind == EntryKind.CONTRIBUTION)
    )
    if start is not None:
        query = query.where(col(LedgerEntry.received_on) >= start)
    if end is not None:
        query = query.where(col(LedgerEntry.received_on) <= end)
    if contributor_ids is not None:
        query = query.where(col(LedgerEntry.contributor_id).in_(contributor_ids))
    rows = session.exec(query.order_by(col(LedgerEntry.received_on), col(LedgerEntry.id))).all()
    reversed_ = reversed_amounts(session, [_id(entry) for entry, _ in rows])
    sent: dict[int, int] = defaultdict(int)
    for message in session.exec(
        select(CitipacMessage).where(
            CitipacMessage.kind == MessageKind.INFO_REQUEST, CitipacMessage.status == MessageStatus.SENT
        )
    ).all():
        if message.entry_id is not None:
            sent[message.entry_id] += 1
    items = []
    for entry, contributor in rows:
        missing = missing_information(contributor)
        clock = rules.info_clock(
            entry.received_on,
            today,
            info_received=not missing,
            returned=reversed_.get(_id(entry), 0) >= entry.amount_cents,
        )
        if open_only and clock.state in (InfoState.RECEIVED, InfoState.RETURNED):
            continue
        items.append(
            InfoItem(
                entry=entry,
                contributor=contributor,
                clock=clock,
                missing=missing,
                requests_sent=sent.get(_id(entry), 0),
            )
        )
    return items


def treasurer_queue(session: Session, viewer: User, today: date | None = None) -> Queue:
    require_treasurer(viewer)
    today = today or today_in_california()
    info = sorted(flagged_entries(session, today, open_only=True), key=lambda i: (i.clock.due_on, _id(i.entry)))
    alerts = [
        (a, c)
        for a, c in session.exec(
            select(ComplianceAlert, Contributor)
            .join(Contributor, col(Contributor.id) == ComplianceAlert.contributor_id)
            .where(col(ComplianceAlert.resolved_at).is_(None))
            .order_by(col(ComplianceAlert.due_on), col(ComplianceAlert.id))
        ).all()
    ]
    failed = [
        (m, c)
        for m, c in session.exec(
            select(CitipacMessage, Contributor)
            .join(Contributor, col(Contributor.id) == CitipacMessage.contributor_id)
            .where(CitipacMessage.status == MessageStatus.FAILED)
            .order_by(col(CitipacMessage.id).desc())
        ).all()
    ]
    return Queue(
        info=info,
        alerts=alerts,
        pledges=list_pledges(session, viewer, status=PledgeStatus.OPEN),
        failed_messages=failed,
    )


def resolve_alert(session: Session, actor: User, alert_id: int, resolution: str) -> ComplianceAlert:
    require_treasurer(actor)
    alert = session.get(ComplianceAlert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    text = _text(resolution, "note", 300)
    if not text:
        raise CitipacError("Say what was done (for example: Form 497 filed on 2026-10-12).")
    if alert.resolved_at is None:
        alert.resolved_at, alert.resolved_by_id, alert.resolution = utcnow(), actor.id, text
        session.add(alert)
        accounts.record(session, actor, "citipac.alert.resolve", f"citipac_alert:{alert_id}", text)
        session.commit()
    return alert


# ---------------------------------------------------------------------------------------------------------------
# What an official and a regional manager see


@dataclass
class Giving:
    pledges: list[Pledge]
    entries: list[tuple[LedgerEntry, Contributor]]
    totals: dict[int, int]


def own_giving(session: Session, official: User) -> Giving:
    pledges = list(
        session.exec(select(Pledge).where(Pledge.user_id == official.id).order_by(col(Pledge.created_at).desc())).all()
    )
    rows = session.exec(
        select(LedgerEntry, Contributor)
        .join(Contributor, col(Contributor.id) == LedgerEntry.contributor_id)
        .where(Contributor.user_id == official.id)
        .order_by(col(LedgerEntry.received_on).desc(), col(LedgerEntry.id).desc())
    ).all()
    entries = [(e, c) for e, c in rows]
    return Giving(pledges=pledges, entries=entries, totals=totals_by_year(e for e, _ in entries))


@dataclass
class DivisionTotal:
    division: Division
    received_cents: int = 0
    contributions: int = 0
    contributing_cities: int = 0
    open_pledges: int = 0
    open_pledged_cents: int = 0


def division_totals(session: Session, viewer: User, year: int) -> list[DivisionTotal]:
    """Totals per Regional Division for a year, with no person's name or amount in them.

    A regional manager sees their own division only; the treasurer every division.
    """
    if viewer.role is Role.REGIONAL_MANAGER and viewer.division_id is not None:
        divisions = [d for d in [session.get(Division, viewer.division_id)] if d is not None]
    elif is_treasurer(viewer):
        divisions = list(session.exec(select(Division).order_by(col(Division.name))).all())
    else:
        raise AccessDenied("Division totals are for regional managers and the CitiPAC treasurer.")
    wanted = {_id(d): DivisionTotal(division=d) for d in divisions}
    rows = session.exec(
        select(City.division_id, City.id, LedgerEntry.amount_cents, LedgerEntry.kind)
        .join(Contributor, col(Contributor.id) == LedgerEntry.contributor_id)
        .join(City, col(City.id) == Contributor.official_city_id)
        .where(
            col(City.division_id).in_(list(wanted)),
            col(LedgerEntry.received_on) >= date(year, 1, 1),
            col(LedgerEntry.received_on) <= date(year, 12, 31),
        )
    ).all()
    cities: dict[int, set[int]] = defaultdict(set)
    for division_id, city_id, cents, kind in rows:
        total = wanted[int(division_id or 0)]
        total.received_cents += int(cents)
        if kind is EntryKind.CONTRIBUTION:
            total.contributions += 1
        cities[int(division_id or 0)].add(int(city_id or 0))
    for division_id, city_ids in cities.items():
        wanted[division_id].contributing_cities = len(city_ids)
    for division_id, cents in session.exec(
        select(City.division_id, Pledge.amount_cents)
        .join(City, col(City.id) == Pledge.city_id)
        .where(col(City.division_id).in_(list(wanted)), Pledge.status == PledgeStatus.OPEN)
    ).all():
        wanted[int(division_id or 0)].open_pledges += 1
        wanted[int(division_id or 0)].open_pledged_cents += int(cents)
    return list(wanted.values())


# ---------------------------------------------------------------------------------------------------------------
# E-mail CitiPAC owes people: receipts, information requests, §84105 notices


def _schedule_info_requests(
    session: Session, today: date, *, contributor_ids: list[int] | None = None
) -> list[CitipacMessage]:
    """Create the information request due today for each contributor with an open flag (each step at most once).

    The clock of a contributor's earliest open flagged contribution drives the schedule (``INFO_REQUEST_DAYS``);
    when a later step is already due (the sweep did not run for a while), the steps missed are not sent.
    """
    earliest: dict[int, InfoItem] = {}
    for item in flagged_entries(session, today, contributor_ids=contributor_ids, open_only=True):
        earliest.setdefault(_id(item.contributor), item)
    created: list[CitipacMessage] = []
    for contributor_id, item in earliest.items():
        if not item.contributor.email:
            continue
        step = rules.info_request_step(item.entry.received_on, today)
        if step is None:
            continue
        anchor = _id(item.entry)
        sent_steps = session.exec(
            select(CitipacMessage.step).where(
                CitipacMessage.kind == MessageKind.INFO_REQUEST, CitipacMessage.entry_id == anchor
            )
        ).all()
        if any(s >= step for s in sent_steps):
            continue
        message = CitipacMessage(
            kind=MessageKind.INFO_REQUEST,
            key=f"info_request:{anchor}:{step}",
            contributor_id=contributor_id,
            entry_id=anchor,
            step=step,
            to_email=item.contributor.email,
        )
        if _add_once(session, message) is not None:
            created.append(message)
    session.flush()
    return created


def schedule_info_requests(session: Session, today: date | None = None) -> list[int]:
    """Sweep step: create the information requests due today; commit; return their ids (to enqueue)."""
    created = _schedule_info_requests(session, today or today_in_california())
    ids = [_id(m) for m in created]
    session.commit()
    return ids


def stuck_messages(session: Session, older_than_seconds: int) -> list[int]:
    """Pending e-mails whose worker message was lost (created or last tried long enough ago)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    rows = session.exec(
        select(CitipacMessage.id).where(
            CitipacMessage.status == MessageStatus.PENDING, col(CitipacMessage.created_at) <= cutoff
        )
    ).all()
    return [int(r) for r in rows if r is not None]


def sent_this_month(session: Session, kind: MessageKind, now: datetime) -> int:
    start = datetime(now.year, now.month, 1)
    return int(
        session.exec(
            select(func.count())
            .select_from(CitipacMessage)
            .where(
                CitipacMessage.kind == kind,
                CitipacMessage.status == MessageStatus.SENT,
                col(CitipacMessage.sent_at) >= start,
            )
        ).one()
    )


@dataclass
class MessageParts:
    message: CitipacMessage
    contributor: Contributor
    entry: LedgerEntry | None
    paid_for: bool
    missing: tuple[str, ...]
    clock: rules.InfoClock | None
    year_total_cents: int


def claim_message(session: Session, message_id: int) -> MessageParts | None:
    """Take a pending e-mail for sending (one worker at a time); None when it is gone, sent or failed for good.

    The claim is a conditional UPDATE on the attempt count, so of two workers handed the same message only one
    proceeds; the sweep re-sends the nudge if the worker then dies before sending.
    """
    message = session.get(CitipacMessage, message_id)
    if message is None or message.status is not MessageStatus.PENDING:
        return None
    claimed = session.execute(
        update(CitipacMessage)
        .where(
            col(CitipacMessage.id) == message_id,
            col(CitipacMessage.status) == MessageStatus.PENDING,
            col(CitipacMessage.attempts) == message.attempts,
        )
        .values(attempts=message.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    session.commit()
    session.refresh(message)
    contributor = session.get(Contributor, message.contributor_id)
    assert contributor is not None
    entry = session.get(LedgerEntry, message.entry_id) if message.entry_id is not None else None
    now = utcnow()
    missing = missing_information(contributor)
    clock = rules.info_clock(entry.received_on, today_in_california()) if entry is not None else None
    year = entry.received_on.year if entry is not None else now.year
    return MessageParts(
        message=message,
        contributor=contributor,
        entry=entry,
        paid_for=rules.paid_for_required(message.kind.value, sent_this_month(session, message.kind, now)),
        missing=missing,
        clock=clock,
        year_total_cents=year_total(session, _id(contributor), year),
    )


def mark_message_sent(session: Session, message_id: int, provider_message_id: str, paid_for: bool) -> None:
    message = session.get(CitipacMessage, message_id)
    if message is None:
        return
    message.status, message.sent_at = MessageStatus.SENT, utcnow()
    message.provider_message_id, message.paid_for_disclaimer, message.error = provider_message_id[:120], paid_for, ""
    session.add(message)
    if message.kind is MessageKind.NOTICE_84105 and message.entry_id is not None:
        entry = session.get(LedgerEntry, message.entry_id)
        year = entry.received_on.year if entry else utcnow().year
        alert = session.exec(
            select(ComplianceAlert).where(ComplianceAlert.key == f"notice_84105:{message.contributor_id}:{year}")
        ).first()
        if alert is not None and alert.resolved_at is None:
            alert.resolved_at = utcnow()
            alert.resolution = f"Notice e-mailed to {message.to_email} on {today_in_california():%Y-%m-%d}."
            session.add(alert)
    session.commit()


def mark_message_failed(session: Session, message_id: int, reason: str, *, final: bool) -> None:
    message = session.get(CitipacMessage, message_id)
    if message is None:
        return
    message.error = reason[:500]
    if final:
        message.status = MessageStatus.FAILED
    session.add(message)
    session.commit()


def retry_message(session: Session, actor: User, message_id: int) -> CitipacMessage:
    """Put a failed e-mail back in line (after the address was corrected, say)."""
    require_treasurer(actor)
    message = session.get(CitipacMessage, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    contributor = session.get(Contributor, message.contributor_id)
    if message.status is MessageStatus.FAILED:
        message.status, message.error = MessageStatus.PENDING, ""
        if contributor is not None and contributor.email:
            message.to_email = contributor.email
        session.add(message)
        _send_after_commit(session, [_id(message)])
        session.commit()
    return message
