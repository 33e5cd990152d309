"""Testimony sign-ups: staff open a call for witnesses at a hearing, officials sign up as lead witness or me-too,
staff confirm, reassign or decline, and record who spoke. Every rule and state move is here.

Lead slots are counted under a lock on the call row, so however many officials press at once a side never gets
more than its slots (two at most, DOMAIN.md §2): on PostgreSQL ``SELECT … FOR UPDATE``; on SQLite, whose writers
serialise on one database lock, an ``UPDATE`` of the call row as the transaction's first statement takes that lock
before anything is counted. A slot a lead gives up (cancelled, declined, moved to me-too) goes at once to the
first official on the waiting list.

Every change an official should hear about queues a ``TestimonyNotice`` (an e-mail with the calendar invite at the
sign-up's next SEQUENCE) in the same transaction; its actor is nudged after the commit and again by the sweep if
the nudge is lost (``mailing``).
"""

from __future__ import annotations

import logging
import time as clock_time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.accounts.service import record
from advocacy.campaigns.console_models import Hearing
from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.db import after_commit, utcnow
from advocacy.directory.models import Bill, Chamber, City, Committee, CommitteeMembership, CommitteeRole, Legislator
from advocacy.testimony.calendar import (
    clock,
    format_pacific,
    hearing_start,
    long_date,
    pacific_to_utc_naive,
    parse_clock,
    to_pacific,
)
from advocacy.testimony.models import (
    ACTIVE_STATUSES,
    MAX_LEAD_SLOTS,
    MODE_LABELS,
    ROLE_LABELS,
    SIDE_LABELS,
    SLOT_STATUSES,
    STAFF_MESSAGE_MAX,
    STATUS_LABELS,
    CallStatus,
    Mode,
    NoticeKind,
    Side,
    SignupStatus,
    TestimonyCall,
    TestimonyNotice,
    TestimonySignup,
    WitnessRole,
)
from advocacy.testimony.script import DraftFacts, me_too_line, side_of, two_minute_draft

log = logging.getLogger("advocacy.testimony")

# Default sign-up deadline: close of business the day before the hearing, Pacific time.
DEFAULT_DEADLINE_TIME = time(17, 0)
LOCK_ATTEMPTS = 5
T = TypeVar("T")


class TestimonyError(ValueError):
    """Bad input or a rule refused; nothing was changed. The message is meant for the person who asked."""

    __test__ = False


class Conflict(TestimonyError):
    """The request is fine but the state refuses it now: already signed up, places full, sign-ups closed."""


class TestimonyNotFound(LookupError):
    """No such call, hearing or sign-up, or not one the caller may see."""

    __test__ = False


class NotAllowed(PermissionError):
    """The caller's role may not do this."""


def is_staff(user: User) -> bool:
    return user.role in (Role.STAFF, Role.ADMIN)


# ----------------------------------------------------------------------------------------------- locking


def _begin_fresh(session: Session) -> None:
    """End any transaction the session holds, so the lock below is the first statement of a new one.

    SQLite can turn a read snapshot into a write only if nobody wrote since it was taken, and fails at once
    (without waiting) otherwise; a transaction whose first statement is a write waits for the lock instead.
    """
    if session.in_transaction():
        session.commit()


def lock_call(session: Session, call_id: int) -> TestimonyCall:
    """The call row, locked until this transaction ends (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        call = session.exec(
            select(TestimonyCall)
            .where(col(TestimonyCall.id) == call_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
    else:
        session.execute(
            update(TestimonyCall)
            .where(col(TestimonyCall.id) == call_id)
            .values(lock_version=col(TestimonyCall.lock_version) + 1)
            .execution_options(synchronize_session=False)
        )
        call = session.get(TestimonyCall, call_id, populate_existing=True)
    if call is None:
        raise TestimonyNotFound(f"There is no testimony call {call_id}.")
    return call


def _is_lock_timeout(exc: OperationalError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text


def _locked(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` (which locks a call, changes rows and commits) in a fresh transaction; roll back on any error.

    SQLite waits up to its busy timeout for the write lock; if that ever runs out under load the whole unit is
    tried again rather than failing the official's request.
    """
    for attempt in range(LOCK_ATTEMPTS):
        _begin_fresh(session)
        try:
            return work()
        except OperationalError as exc:
            session.rollback()
            if not _is_lock_timeout(exc) or attempt == LOCK_ATTEMPTS - 1:
                raise
            clock_time.sleep(0.05 * (attempt + 1))
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------------------------- small helpers


def _clean_line(value: str, what: str, limit: int, *, required: bool = False) -> str:
    text = " ".join((value or "").split())
    if any(ord(c) < 32 for c in text):
        raise TestimonyError(f"The {what} contains control characters.")
    if required and not text:
        raise TestimonyError(f"Give the {what}.")
    if len(text) > limit:
        raise TestimonyError(f"The {what} takes at most {limit} characters.")
    return text


def hearing_fingerprint(hearing: Hearing) -> str:
    """What an invite carried of the hearing: when it changes, the official gets an updated invite."""
    return f"{hearing.hearing_date.isoformat()} {hearing.hearing_time} {hearing.room}"[:120]


def hearing_end_utc(hearing: Hearing) -> datetime:
    """When a hearing counts as begun for cancellations and reminders (naive UTC): its start, or the end of its
    day while the time is not announced."""
    at = parse_clock(hearing.hearing_time)
    if at is None:
        return pacific_to_utc_naive(hearing.hearing_date + timedelta(days=1), time(0, 0))
    return pacific_to_utc_naive(hearing.hearing_date, at)


def hearing_started(hearing: Hearing, now: datetime) -> bool:
    """Whether the hearing has begun (its start has passed; the whole day when no time is known)."""
    at = parse_clock(hearing.hearing_time) or time(0, 0)
    return now >= pacific_to_utc_naive(hearing.hearing_date, at)


def describe_hearing(hearing: Hearing, committee: Committee | None) -> str:
    """ "Assembly Committee on Local Government, Wednesday, March 17, 2027, 9:00 a.m., 1021 O Street, Room 1100"."""
    at = parse_clock(hearing.hearing_time)
    parts = [
        committee.full_name if committee else "",
        long_date(hearing.hearing_date),
        clock(at) if at else "time not yet announced",
        hearing.room,
    ]
    return ", ".join(p for p in parts if p)


def _chair_of(session: Session, committee_id: int) -> str:
    row = session.exec(
        select(Legislator)
        .join(CommitteeMembership, col(CommitteeMembership.legislator_id) == Legislator.id)
        .where(CommitteeMembership.committee_id == committee_id, CommitteeMembership.role == CommitteeRole.CHAIR)
    ).first()
    if row is None:
        return ""
    return f"Chair {row.family_name or row.name}"


def _author_of(session: Session, bill: Bill) -> str:
    legislator = session.get(Legislator, bill.author_id) if bill.author_id else None
    if legislator is None:
        return bill.author_name
    prefix = "Assembly Member" if legislator.chamber == Chamber.ASSEMBLY else "Senator"
    return f"{prefix} {legislator.name}"


def _require(value: T | None, what: str) -> T:
    if value is None:
        raise TestimonyNotFound(f"There is no {what}.")
    return value


# ----------------------------------------------------------------------------------------------- calls


@dataclass
class CallInput:
    """What staff set when they open a call or change it. ``signup_deadline`` is naive UTC (None: the default,
    close of business the day before the hearing)."""

    campaign_id: int
    hearing_id: int
    file_order: int | None = None
    remote_offered: bool = False
    signup_deadline: datetime | None = None
    capacity: int | None = None
    lead_slots_per_side: int = MAX_LEAD_SLOTS
    instructions: str = ""
    status: CallStatus = CallStatus.OPEN


def default_deadline(hearing: Hearing) -> datetime:
    return pacific_to_utc_naive(hearing.hearing_date - timedelta(days=1), DEFAULT_DEADLINE_TIME)


def _check_settings(data: CallInput, hearing: Hearing) -> CallInput:
    if data.file_order is not None and not 1 <= data.file_order <= 999:
        raise TestimonyError("The file order is the bill's item number in the hearing's file: 1 to 999.")
    if data.capacity is not None and not 0 <= data.capacity <= 500:
        raise TestimonyError("The number of me-too places must be between 0 and 500 (leave it empty for no limit).")
    if not 0 <= data.lead_slots_per_side <= MAX_LEAD_SLOTS:
        raise TestimonyError(f"Committees hear at most {MAX_LEAD_SLOTS} lead witnesses per side.")
    deadline = data.signup_deadline or default_deadline(hearing)
    if deadline > hearing_end_utc(hearing):
        raise TestimonyError("The sign-up deadline must come before the hearing.")
    try:
        status = CallStatus(data.status)
    except ValueError:
        raise TestimonyError(f"Unknown status {data.status!r}.") from None
    instructions = (data.instructions or "").strip()
    if len(instructions) > 2000:
        raise TestimonyError("The instructions take at most 2,000 characters.")
    return CallInput(
        campaign_id=data.campaign_id,
        hearing_id=data.hearing_id,
        file_order=data.file_order,
        remote_offered=bool(data.remote_offered),
        signup_deadline=deadline,
        capacity=data.capacity,
        lead_slots_per_side=data.lead_slots_per_side,
        instructions=instructions,
        status=status,
    )


def open_call(session: Session, data: CallInput, staff: User, *, now: datetime | None = None) -> TestimonyCall:
    """Open sign-ups for a campaign's bill at a hearing. Commits."""
    now = now or utcnow()
    if not is_staff(staff):
        raise NotAllowed("Only league staff open testimony sign-ups.")
    campaign = session.get(Campaign, data.campaign_id)
    if campaign is None:
        raise TestimonyError(f"There is no campaign {data.campaign_id}.")
    if campaign.status is CampaignStatus.CLOSED:
        raise TestimonyError("This campaign is closed.")
    side = side_of(Position(campaign.position))
    if side is None:
        raise TestimonyError(
            f"A campaign with the position {campaign.position.value} goes to the Governor: no committee hears it."
        )
    hearing = session.get(Hearing, data.hearing_id)
    if hearing is None:
        raise TestimonyError(f"There is no hearing {data.hearing_id}.")
    if hearing_started(hearing, now):
        raise TestimonyError("This hearing has already taken place.")
    data = _check_settings(data, hearing)
    assert data.signup_deadline is not None
    if data.signup_deadline <= now:
        raise TestimonyError("The sign-up deadline has already passed: choose a later one.")
    existing = session.exec(
        select(TestimonyCall).where(
            TestimonyCall.hearing_id == hearing.id,
            TestimonyCall.bill_id == campaign.bill_id,
            TestimonyCall.side == side,
        )
    ).first()
    if existing is not None:
        raise TestimonyError(
            f"Sign-ups for this bill's {SIDE_LABELS[side].lower()} witnesses at this hearing are already open "
            f"(call {existing.id})."
        )
    call = TestimonyCall(
        campaign_id=campaign.id or 0,
        hearing_id=hearing.id or 0,
        bill_id=campaign.bill_id,
        side=side,
        file_order=data.file_order,
        remote_offered=data.remote_offered,
        signup_deadline=data.signup_deadline,
        capacity=data.capacity,
        lead_slots_per_side=data.lead_slots_per_side,
        instructions=data.instructions,
        status=data.status,
        created_at=now,
        created_by_id=staff.id,
    )
    session.add(call)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise TestimonyError("Sign-ups for this bill and side at this hearing are already open.") from None
    record(
        session,
        staff,
        "testimony.call.open",
        f"testimony_call:{call.id}",
        {"campaign_id": call.campaign_id, "hearing_id": call.hearing_id},
    )
    session.commit()
    return call


def update_call(
    session: Session, call_id: int, data: CallInput, staff: User, *, now: datetime | None = None
) -> TestimonyCall:
    """Change a call's file order, remote option, deadline, places, slots, instructions or status. Commits."""
    now = now or utcnow()
    if not is_staff(staff):
        raise NotAllowed("Only league staff change testimony sign-ups.")

    def work() -> TestimonyCall:
        call = lock_call(session, call_id)
        hearing = _require(session.get(Hearing, call.hearing_id), "hearing")
        clean = _check_settings(data, hearing)
        signups = _signups(session, call_id)
        if not clean.remote_offered and any(s.mode == Mode.REMOTE and s.status in ACTIVE_STATUSES for s in signups):
            raise TestimonyError(
                "Some officials chose remote testimony: reassign or decline them before turning remote off."
            )
        holders = [s for s in signups if s.role == WitnessRole.LEAD and s.status in SLOT_STATUSES]
        if len(holders) > clean.lead_slots_per_side:
            raise TestimonyError(
                f"{len(holders)} lead witnesses hold slots: reassign or decline one before lowering the slots."
            )
        me_toos = [s for s in signups if s.role == WitnessRole.ME_TOO and s.status in ACTIVE_STATUSES]
        if clean.capacity is not None and len(me_toos) > clean.capacity:
            raise TestimonyError(f"{len(me_toos)} me-toos are signed up: the places cannot be fewer.")
        call.file_order, call.remote_offered = clean.file_order, clean.remote_offered
        call.signup_deadline = clean.signup_deadline or call.signup_deadline
        call.capacity, call.lead_slots_per_side = clean.capacity, clean.lead_slots_per_side
        call.instructions, call.status = clean.instructions, clean.status
        session.add(call)
        _promote_waitlist(session, call, hearing, now)
        record(
            session,
            staff,
            "testimony.call.update",
            f"testimony_call:{call.id}",
            {
                "status": call.status,
                "deadline": call.signup_deadline,
                "slots": call.lead_slots_per_side,
                "capacity": call.capacity,
                "remote": call.remote_offered,
                "file_order": call.file_order,
            },
        )
        session.commit()
        return call

    return _locked(session, work)


def get_call(session: Session, call_id: int, user: User) -> TestimonyCall:
    call = session.get(TestimonyCall, call_id)
    if call is None:
        raise TestimonyNotFound(f"There is no testimony call {call_id}.")
    if not is_staff(user):
        campaign = session.get(Campaign, call.campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
            raise TestimonyNotFound(f"There is no testimony call {call_id}.")
    return call


def _signups(session: Session, call_id: int) -> list[TestimonySignup]:
    return list(
        session.exec(
            select(TestimonySignup).where(TestimonySignup.call_id == call_id).order_by(col(TestimonySignup.id))
        ).all()
    )


# ----------------------------------------------------------------------------------------------- notices


def _queue_notice(
    session: Session,
    signup: TestimonySignup,
    hearing: Hearing,
    kind: NoticeKind,
    *,
    first: bool = False,
    now: datetime | None = None,
) -> TestimonyNotice:
    """Queue the e-mail (and invite at the next SEQUENCE) telling the official about ``kind``; sent after commit."""
    sequence = 0 if first else signup.ics_sequence + 1
    signup.ics_sequence = sequence
    signup.invited_hearing = hearing_fingerprint(hearing)
    signup.updated_at = now or utcnow()
    method = "CANCEL" if kind in (NoticeKind.CANCELLED, NoticeKind.DECLINED) else "REQUEST"
    notice = TestimonyNotice(
        signup_id=signup.id or 0, sequence=sequence, kind=kind, method=method, created_at=now or utcnow()
    )
    session.add(signup)
    session.add(notice)
    session.flush()
    notice_id = notice.id or 0
    after_commit(session, lambda: enqueue_notice(notice_id))
    return notice


def enqueue_notice(notice_id: int) -> None:
    from advocacy.testimony import actors as testimony_actors

    testimony_actors.send_testimony_notice.send(notice_id)


def enqueue_reminder(reminder_id: int) -> None:
    from advocacy.testimony import actors as testimony_actors

    testimony_actors.send_testimony_reminder.send(reminder_id)


# ----------------------------------------------------------------------------------------------- sign-ups


@dataclass
class SignupInput:
    role: WitnessRole | str = WitnessRole.ME_TOO
    mode: Mode | str = Mode.IN_PERSON
    stated_name: str = ""
    stated_title: str = ""
    stated_city: str = ""


def default_statement(session: Session, user: User) -> SignupInput:
    """What the form starts with: the official's name, title and city as the committee should hear them."""
    city = session.get(City, user.city_id) if user.city_id else None
    city_name = f"{'Town' if city.lsad == 'town' else 'City'} of {city.name}" if city else ""
    return SignupInput(stated_name=user.name, stated_title=user.title, stated_city=city_name)


def _clean_signup(data: SignupInput) -> SignupInput:
    try:
        role = WitnessRole(data.role)
    except ValueError:
        raise TestimonyError("Choose to testify as a lead witness or as a me-too.") from None
    try:
        mode = Mode(data.mode)
    except ValueError:
        raise TestimonyError("Choose to testify in person or remotely.") from None
    return SignupInput(
        role=role,
        mode=mode,
        stated_name=_clean_line(data.stated_name, "name you will state", 120, required=True),
        stated_title=_clean_line(data.stated_title, "title", 120),
        stated_city=_clean_line(data.stated_city, "city", 120, required=True),
    )


def _count(session: Session, call_id: int, role: WitnessRole, statuses: tuple[SignupStatus, ...]) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(TestimonySignup)
            .where(
                TestimonySignup.call_id == call_id,
                TestimonySignup.role == role,
                col(TestimonySignup.status).in_(statuses),
            )
        ).one()
    )


def sign_up(
    session: Session, call_id: int, user: User, data: SignupInput, *, now: datetime | None = None
) -> TestimonySignup:
    """Sign ``user`` up: a me-too is confirmed at once (within the places); a lead holds a slot for staff to
    confirm when one is free, else joins the waiting list. Commits; the e-mail follows."""
    now = now or utcnow()
    if user.role is not Role.OFFICIAL:
        raise NotAllowed("Only city officials sign up to testify.")
    clean = _clean_signup(data)

    def work() -> TestimonySignup:
        call = lock_call(session, call_id)
        campaign = session.get(Campaign, call.campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
            raise TestimonyNotFound(f"There is no testimony call {call_id}.")
        hearing = _require(session.get(Hearing, call.hearing_id), "hearing")
        if call.status != CallStatus.OPEN:
            raise Conflict("Sign-ups for this bill at this hearing are closed.")
        if now >= call.signup_deadline:
            raise Conflict(f"Sign-ups closed {format_pacific(call.signup_deadline)}.")
        if clean.mode == Mode.REMOTE and not call.remote_offered:
            raise TestimonyError(
                "The committee does not take remote testimony at this hearing: sign up to testify in person."
            )
        existing = session.exec(
            select(TestimonySignup)
            .where(TestimonySignup.call_id == call_id, TestimonySignup.user_id == user.id)
            .execution_options(populate_existing=True)
        ).first()
        if existing is not None and existing.status in ACTIVE_STATUSES:
            raise Conflict(
                f"You are already signed up for this bill at this hearing "
                f"({ROLE_LABELS[WitnessRole(existing.role)].lower()}, "
                f"{STATUS_LABELS[SignupStatus(existing.status)].lower()})."
            )
        if existing is not None and existing.status == SignupStatus.DECLINED:
            why = f" Their message: {existing.staff_message}" if existing.staff_message else ""
            raise Conflict(
                f"League staff declined your sign-up for this bill.{why} Write to the league if that has changed."
            )
        if clean.role == WitnessRole.ME_TOO:
            taken = _count(session, call_id, WitnessRole.ME_TOO, ACTIVE_STATUSES)
            if call.capacity is not None and taken >= call.capacity:
                raise Conflict(
                    f"All {call.capacity} me-too places are taken. Write to the league if you still wish to testify."
                )
            status = SignupStatus.CONFIRMED
        else:
            held = _count(session, call_id, WitnessRole.LEAD, SLOT_STATUSES)
            status = SignupStatus.HELD if held < call.lead_slots_per_side else SignupStatus.WAITLISTED
        signup = existing or TestimonySignup(
            call_id=call_id, user_id=user.id or 0, role=clean.role, status=status, stated_name=clean.stated_name
        )
        signup.role, signup.mode, signup.status = clean.role, clean.mode, status
        signup.city_id = user.city_id
        signup.stated_name, signup.stated_title = clean.stated_name, clean.stated_title
        signup.stated_city = clean.stated_city
        signup.signed_up_at = now
        signup.slot_taken_at = now if status == SignupStatus.HELD else None
        signup.staff_message, signup.decided_by_id, signup.decided_at = "", None, None
        signup.cancelled_at, signup.spoke, signup.spoke_recorded_at, signup.spoke_recorded_by_id = (
            None,
            None,
            None,
            None,
        )
        session.add(signup)
        try:
            session.flush()
        except IntegrityError:
            # The lock makes this unreachable in practice; a second request of the same official lands here.
            raise Conflict("You are already signed up for this bill at this hearing.") from None
        _queue_notice(session, signup, hearing, NoticeKind.SIGNED_UP, first=existing is None, now=now)
        session.commit()
        return signup

    return _locked(session, work)


def _signup_for(session: Session, signup_id: int, user: User) -> TestimonySignup:
    """The sign-up, if the caller may see it: their own, or any for staff (others' look as if they did not exist)."""
    signup = session.get(TestimonySignup, signup_id)
    if signup is None or (not is_staff(user) and signup.user_id != user.id):
        raise TestimonyNotFound(f"There is no sign-up {signup_id}.")
    return signup


def _holds_slot(signup: TestimonySignup) -> bool:
    return signup.role == WitnessRole.LEAD and signup.status in SLOT_STATUSES


def _promote_waitlist(session: Session, call: TestimonyCall, hearing: Hearing, now: datetime) -> list[int]:
    """Give free lead slots to the waiting list, first come first served; returns the promoted sign-up ids."""
    promoted: list[int] = []
    held = _count(session, call.id or 0, WitnessRole.LEAD, SLOT_STATUSES)
    while held < call.lead_slots_per_side:
        waiting = session.exec(
            select(TestimonySignup)
            .where(
                TestimonySignup.call_id == call.id,
                TestimonySignup.role == WitnessRole.LEAD,
                TestimonySignup.status == SignupStatus.WAITLISTED,
            )
            .order_by(col(TestimonySignup.signed_up_at), col(TestimonySignup.id))
        ).first()
        if waiting is None:
            break
        waiting.status, waiting.slot_taken_at = SignupStatus.HELD, now
        _queue_notice(session, waiting, hearing, NoticeKind.PROMOTED, now=now)
        promoted.append(waiting.id or 0)
        held += 1
    return promoted


def cancel_signup(session: Session, signup_id: int, user: User, *, now: datetime | None = None) -> TestimonySignup:
    """Withdraw a sign-up (the official's own, or any for staff) until the hearing begins; a lead slot it held goes
    to the waiting list. Commits."""
    now = now or utcnow()
    call_id = _signup_for(session, signup_id, user).call_id

    def work() -> TestimonySignup:
        call = lock_call(session, call_id)
        signup = _require(session.get(TestimonySignup, signup_id, populate_existing=True), f"sign-up {signup_id}")
        hearing = _require(session.get(Hearing, call.hearing_id), "hearing")
        if signup.status not in ACTIVE_STATUSES:
            raise TestimonyError(f"This sign-up is already {signup.status}.")
        if hearing_started(hearing, now):
            raise TestimonyError("The hearing has begun: a sign-up can no longer be cancelled.")
        held_slot = _holds_slot(signup)
        signup.status, signup.cancelled_at, signup.slot_taken_at = SignupStatus.CANCELLED, now, None
        if user.id != signup.user_id:
            signup.decided_by_id, signup.decided_at = user.id, now
            record(session, user, "testimony.signup.cancel", f"testimony_signup:{signup.id}")
        _queue_notice(session, signup, hearing, NoticeKind.CANCELLED, now=now)
        if held_slot:
            _promote_waitlist(session, call, hearing, now)
        session.commit()
        return signup

    return _locked(session, work)


class Decision:
    CONFIRM = "confirm"
    REASSIGN = "reassign"
    DECLINE = "decline"


def decide(
    session: Session,
    signup_id: int,
    staff: User,
    action: str,
    message: str = "",
    *,
    now: datetime | None = None,
) -> TestimonySignup:
    """Staff, for the author's office: ``confirm`` a lead (one holding a slot, or from the waiting list when a slot
    is free), ``reassign`` a sign-up to the other role, or ``decline`` it; ``message`` is shown to the official
    (required to decline). Commits."""
    now = now or utcnow()
    if not is_staff(staff):
        raise NotAllowed("Only league staff confirm, reassign or decline sign-ups.")
    message = (message or "").strip()
    if len(message) > STAFF_MESSAGE_MAX:
        raise TestimonyError(f"The message takes at most {STAFF_MESSAGE_MAX} characters.")
    if action not in (Decision.CONFIRM, Decision.REASSIGN, Decision.DECLINE):
        raise TestimonyError("Choose confirm, reassign or decline.")
    if action == Decision.DECLINE and not message:
        raise TestimonyError("Say why the sign-up is declined: the official sees the message.")
    call_id = _signup_for(session, signup_id, staff).call_id

    def work() -> TestimonySignup:
        call = lock_call(session, call_id)
        signup = _require(session.get(TestimonySignup, signup_id, populate_existing=True), f"sign-up {signup_id}")
        hearing = _require(session.get(Hearing, call.hearing_id), "hearing")
        if signup.status not in ACTIVE_STATUSES:
            raise TestimonyError(f"This sign-up is {signup.status}: there is nothing to decide.")
        if hearing_started(hearing, now):
            raise TestimonyError("The hearing has begun.")
        held_slot = _holds_slot(signup)
        free_slot = _count(session, call_id, WitnessRole.LEAD, SLOT_STATUSES) < call.lead_slots_per_side
        kind: NoticeKind
        if action == Decision.CONFIRM:
            if signup.role != WitnessRole.LEAD:
                raise TestimonyError("Me-toos need no confirmation: they are confirmed when they sign up.")
            if signup.status == SignupStatus.CONFIRMED:
                raise TestimonyError("This lead witness is already confirmed.")
            if signup.status == SignupStatus.WAITLISTED:
                if not free_slot:
                    raise TestimonyError(
                        "Both lead slots are taken: decline or reassign a lead before confirming another."
                    )
                signup.slot_taken_at = now
            signup.status, kind = SignupStatus.CONFIRMED, NoticeKind.CONFIRMED
        elif action == Decision.REASSIGN:
            if signup.role == WitnessRole.LEAD:
                me_toos = _count(session, call_id, WitnessRole.ME_TOO, ACTIVE_STATUSES)
                if call.capacity is not None and me_toos >= call.capacity:
                    raise TestimonyError("All me-too places are taken: raise the number of places first.")
                signup.role, signup.status, signup.slot_taken_at = WitnessRole.ME_TOO, SignupStatus.CONFIRMED, None
            else:
                if not free_slot:
                    raise TestimonyError("Both lead slots are taken: free one before reassigning a me-too to lead.")
                signup.role, signup.status, signup.slot_taken_at = WitnessRole.LEAD, SignupStatus.CONFIRMED, now
            kind = NoticeKind.REASSIGNED
        else:
            signup.status, signup.slot_taken_at, kind = SignupStatus.DECLINED, None, NoticeKind.DECLINED
        signup.staff_message, signup.decided_by_id, signup.decided_at = message, staff.id, now
        _queue_notice(session, signup, hearing, kind, now=now)
        if held_slot and not _holds_slot(signup):
            _promote_waitlist(session, call, hearing, now)
        record(
            session,
            staff,
            f"testimony.signup.{action}",
            f"testimony_signup:{signup.id}",
            {"role": signup.role, "status": signup.status, "message": message},
        )
        session.commit()
        return signup

    return _locked(session, work)


def record_spoke(
    session: Session, hearing_id: int, staff: User, spoke_ids: set[int], *, now: datetime | None = None
) -> int:
    """After the hearing: mark which witnesses on its list spoke (the others did not). Returns how many were marked.

    Commits."""
    now = now or utcnow()
    if not is_staff(staff):
        raise NotAllowed("Only league staff record who spoke.")
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise TestimonyNotFound(f"There is no hearing {hearing_id}.")
    if not hearing_started(hearing, now):
        raise TestimonyError("Who spoke can be recorded once the hearing has begun.")
    witnesses = session.exec(
        select(TestimonySignup)
        .join(TestimonyCall, col(TestimonyCall.id) == TestimonySignup.call_id)
        .where(TestimonyCall.hearing_id == hearing_id, col(TestimonySignup.status).in_(SLOT_STATUSES))
    ).all()
    listed = {w.id for w in witnesses}
    unknown = spoke_ids - listed
    if unknown:
        raise TestimonyError(f"Not on this hearing's witness list: {', '.join(map(str, sorted(unknown)))}.")
    for witness in witnesses:
        witness.spoke = witness.id in spoke_ids
        witness.spoke_recorded_at, witness.spoke_recorded_by_id = now, staff.id
        session.add(witness)
    record(session, staff, "testimony.spoke", f"hearing:{hearing_id}", {"spoke": sorted(spoke_ids)})
    session.commit()
    return len(witnesses)


# ----------------------------------------------------------------------------------------------- what pages show


@dataclass
class SignupView:
    signup: TestimonySignup
    call: TestimonyCall
    campaign: Campaign
    bill: Bill
    hearing: Hearing
    committee: Committee | None
    official: User | None
    me_too_line: str
    draft: str  # lead witnesses only; empty otherwise

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[WitnessRole(self.signup.role)]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[SignupStatus(self.signup.status)]

    @property
    def mode_label(self) -> str:
        return MODE_LABELS[Mode(self.signup.mode)]

    @property
    def active(self) -> bool:
        return self.signup.status in ACTIVE_STATUSES

    @property
    def hearing_text(self) -> str:
        return describe_hearing(self.hearing, self.committee)

    @property
    def signed_up_text(self) -> str:
        return format_pacific(self.signup.signed_up_at)

    @property
    def side_label(self) -> str:
        return SIDE_LABELS[Side(self.call.side)]


@dataclass
class CallView:
    call: TestimonyCall
    campaign: Campaign
    bill: Bill
    hearing: Hearing
    committee: Committee | None
    slots_held: int
    waitlisted: int
    me_toos: int
    signups: list[SignupView] = field(default_factory=list)  # staff: all; an official: their own
    mine: SignupView | None = None

    @property
    def side_label(self) -> str:
        return SIDE_LABELS[Side(self.call.side)]

    @property
    def slots_free(self) -> int:
        return max(self.call.lead_slots_per_side - self.slots_held, 0)

    @property
    def places_left(self) -> int | None:
        return None if self.call.capacity is None else max(self.call.capacity - self.me_toos, 0)

    @property
    def deadline_text(self) -> str:
        return format_pacific(self.call.signup_deadline)

    @property
    def hearing_text(self) -> str:
        return describe_hearing(self.hearing, self.committee)

    def is_open(self, now: datetime) -> bool:
        return self.call.status == CallStatus.OPEN and now < self.call.signup_deadline


@dataclass
class HearingView:
    hearing: Hearing
    committee: Committee | None
    calls: list[CallView]
    # The position-letter deadline the hearing sets through its committee's rule (the campaign console's).
    letter_deadline: datetime | None = None
    letter_deadline_text: str = ""
    letter_rule: str = ""

    @property
    def hearing_text(self) -> str:
        return describe_hearing(self.hearing, self.committee)

    @property
    def start(self) -> datetime | None:
        return hearing_start(self.hearing.hearing_date, self.hearing.hearing_time)


def draft_for(session: Session, view: SignupView) -> str:
    signup, hearing = view.signup, view.hearing
    at = parse_clock(hearing.hearing_time)
    facts = DraftFacts(
        name=signup.stated_name,
        title=signup.stated_title,
        city=signup.stated_city,
        position=Position(view.campaign.position),
        bill_label=view.bill.label,
        bill_title=view.bill.title,
        author=_author_of(session, view.bill),
        chair=_chair_of(session, hearing.committee_id),
        talking_points=view.campaign.talking_point_list,
        afternoon=bool(at and at.hour >= 12),
    )
    return two_minute_draft(facts)


def _signup_view(session: Session, signup: TestimonySignup, call: TestimonyCall | None = None) -> SignupView:
    call = call or _require(session.get(TestimonyCall, signup.call_id), "call")
    campaign = _require(session.get(Campaign, call.campaign_id), "campaign")
    bill = _require(session.get(Bill, call.bill_id), "bill")
    hearing = _require(session.get(Hearing, call.hearing_id), "hearing")
    view = SignupView(
        signup=signup,
        call=call,
        campaign=campaign,
        bill=bill,
        hearing=hearing,
        committee=session.get(Committee, hearing.committee_id),
        official=session.get(User, signup.user_id),
        me_too_line=me_too_line(
            signup.stated_name, signup.stated_title, signup.stated_city, Position(campaign.position)
        ),
        draft="",
    )
    if signup.role == WitnessRole.LEAD:
        view.draft = draft_for(session, view)
    return view


def signup_view(session: Session, signup_id: int, user: User) -> SignupView:
    """One sign-up as its official (or staff) sees it: status, message, the line to state and the lead's draft."""
    return _signup_view(session, _signup_for(session, signup_id, user))


def call_view(session: Session, call_id: int, user: User) -> CallView:
    call = get_call(session, call_id, user)
    return _call_view(session, call, user)


def _call_view(session: Session, call: TestimonyCall, user: User) -> CallView:
    campaign = _require(session.get(Campaign, call.campaign_id), "campaign")
    hearing = _require(session.get(Hearing, call.hearing_id), "hearing")
    signups = _signups(session, call.id or 0)
    lead = [s for s in signups if s.role == WitnessRole.LEAD]
    view = CallView(
        call=call,
        campaign=campaign,
        bill=_require(session.get(Bill, call.bill_id), "bill"),
        hearing=hearing,
        committee=session.get(Committee, hearing.committee_id),
        slots_held=sum(1 for s in lead if s.status in SLOT_STATUSES),
        waitlisted=sum(1 for s in lead if s.status == SignupStatus.WAITLISTED),
        me_toos=sum(1 for s in signups if s.role == WitnessRole.ME_TOO and s.status in ACTIVE_STATUSES),
    )
    visible = signups if is_staff(user) else [s for s in signups if s.user_id == user.id]
    view.signups = [_signup_view(session, s, call) for s in _in_order(visible)]
    mine = [v for v in view.signups if v.signup.user_id == user.id]
    view.mine = mine[0] if mine else None
    return view


def _in_order(signups: list[TestimonySignup]) -> list[TestimonySignup]:
    """Leads holding slots (by when they took them), the waiting list, me-toos (by sign-up), declined, cancelled."""

    def key(s: TestimonySignup) -> tuple[int, datetime, int]:
        if s.status == SignupStatus.CANCELLED:
            group = 4
        elif s.status == SignupStatus.DECLINED:
            group = 3
        elif s.role == WitnessRole.ME_TOO:
            group = 2
        elif s.status == SignupStatus.WAITLISTED:
            group = 1
        else:
            group = 0
        return group, (s.slot_taken_at if group == 0 and s.slot_taken_at else s.signed_up_at), s.id or 0

    return sorted(signups, key=key)


def hearings_with_calls(
    session: Session, user: User, *, include_past: bool = False, now: datetime | None = None
) -> list[HearingView]:
    """Hearings that have testimony calls, soonest first (upcoming ones unless ``include_past``); officials see only
    calls of active campaigns and only their own sign-ups."""
    now = now or utcnow()
    query = select(TestimonyCall, Hearing).join(Hearing, col(Hearing.id) == TestimonyCall.hearing_id)
    if not include_past:
        query = query.where(col(Hearing.hearing_date) >= _pacific_today(now))
    if not is_staff(user):
        query = query.join(Campaign, col(Campaign.id) == TestimonyCall.campaign_id).where(
            Campaign.status == CampaignStatus.ACTIVE
        )
    rows = session.exec(
        query.order_by(
            col(Hearing.hearing_date),
            col(Hearing.hearing_time),
            col(Hearing.id),
            col(TestimonyCall.file_order),
            col(TestimonyCall.id),
        )
    ).all()
    views: dict[int, HearingView] = {}
    for call, hearing in rows:
        view = views.get(hearing.id or 0)
        if view is None:
            view = views[hearing.id or 0] = HearingView(hearing, session.get(Committee, hearing.committee_id), [])
        view.calls.append(_call_view(session, call, user))
    for view in views.values():
        view.calls.sort(key=_call_order)
    return list(views.values())


def hearing_index(
    session: Session,
    user: User,
    *,
    committee_id: int | None = None,
    testimony_only: bool = False,
    include_past: bool = False,
    now: datetime | None = None,
) -> list[HearingView]:
    """Hearings soonest first (upcoming unless ``include_past``), each with its letter deadline and the testimony
    calls the caller can see; ``testimony_only`` keeps the hearings taking sign-ups."""
    now = now or utcnow()
    with_calls = {v.hearing.id: v for v in hearings_with_calls(session, user, include_past=include_past, now=now)}
    if testimony_only:
        views = list(with_calls.values())
    else:
        query = select(Hearing)
        if not include_past:
            query = query.where(col(Hearing.hearing_date) >= _pacific_today(now))
        hearings = session.exec(query.order_by(col(Hearing.hearing_date), col(Hearing.hearing_time), col(Hearing.id)))
        views = [
            with_calls.get(h.id) or HearingView(h, session.get(Committee, h.committee_id), []) for h in hearings.all()
        ]
    if committee_id is not None:
        views = [v for v in views if v.hearing.committee_id == committee_id]
    for view in views:
        view.letter_deadline, view.letter_deadline_text, view.letter_rule = _letter_deadline(session, view.hearing)
    return views


def _letter_deadline(session: Session, hearing: Hearing) -> tuple[datetime | None, str, str]:
    """The hearing's position-letter deadline as the campaign console computes it: (UTC, text, rule)."""
    from advocacy.campaigns.deadlines import format_deadline
    from advocacy.campaigns.hearings import deadline_info

    info = deadline_info(session, hearing)
    return info.deadline, format_deadline(info.deadline), info.rule_text or info.missing


def _call_order(view: CallView) -> tuple[int, str, int, int]:
    return (
        view.call.file_order if view.call.file_order is not None else 10_000,
        view.bill.label,
        0 if view.call.side == Side.SUPPORT else 1,
        view.call.id or 0,
    )


def _pacific_today(now_utc_naive: datetime) -> date:
    return to_pacific(now_utc_naive).date()


def hearing_view(session: Session, hearing_id: int, user: User) -> HearingView:
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise TestimonyNotFound(f"There is no hearing {hearing_id}.")
    calls = list(session.exec(select(TestimonyCall).where(TestimonyCall.hearing_id == hearing_id)).all())
    views = []
    for call in calls:
        campaign = session.get(Campaign, call.campaign_id)
        if not is_staff(user) and (campaign is None or campaign.status is not CampaignStatus.ACTIVE):
            continue
        views.append(_call_view(session, call, user))
    views.sort(key=_call_order)
    view = HearingView(hearing, session.get(Committee, hearing.committee_id), views)
    view.letter_deadline, view.letter_deadline_text, view.letter_rule = _letter_deadline(session, hearing)
    return view


def my_signups(session: Session, user: User) -> list[SignupView]:
    """The caller's own sign-ups, the next hearing first."""
    rows = session.exec(
        select(TestimonySignup, TestimonyCall, Hearing)
        .join(TestimonyCall, col(TestimonyCall.id) == TestimonySignup.call_id)
        .join(Hearing, col(Hearing.id) == TestimonyCall.hearing_id)
        .where(TestimonySignup.user_id == user.id)
        .order_by(col(Hearing.hearing_date).desc(), col(TestimonySignup.id))
    ).all()
    return [_signup_view(session, signup, call) for signup, call, _hearing in rows]


def call_for_hearing(session: Session, hearing_id: int, call_id: int | None, user: User) -> TestimonyCall:
    """The call a sign-up at ``hearing_id`` is for: ``call_id``, or the hearing's only call the caller can see."""
    if call_id is not None:
        call = get_call(session, call_id, user)
        if call.hearing_id != hearing_id:
            raise TestimonyNotFound(f"There is no testimony call {call_id} at hearing {hearing_id}.")
        return call
    calls = hearing_view(session, hearing_id, user).calls
    if not calls:
        raise TestimonyNotFound(f"Hearing {hearing_id} takes no testimony sign-ups.")
    if len(calls) != 1:
        bills = ", ".join(f"{c.bill.label} (call_id {c.call.id})" for c in calls)
        raise TestimonyError(f"This hearing takes sign-ups for several bills: name the call_id: {bills}.")
    return calls[0].call


def open_choices(session: Session) -> tuple[list[Campaign], list[tuple[Hearing, Committee | None]]]:
    """What the "open sign-ups" form offers staff: campaigns that can take testimony and upcoming hearings."""
    campaigns = [
        c
        for c in session.exec(
            select(Campaign).where(Campaign.status != CampaignStatus.CLOSED).order_by(col(Campaign.id).desc())
        ).all()
        if side_of(Position(c.position)) is not None
    ]
    today = _pacific_today(utcnow())
    hearings = session.exec(
        select(Hearing).where(col(Hearing.hearing_date) >= today).order_by(col(Hearing.hearing_date), col(Hearing.id))
    ).all()
    return campaigns, [(h, session.get(Committee, h.committee_id)) for h in hearings]
