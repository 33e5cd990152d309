"""The e-mails of testimony sign-ups: notices (with the calendar invite) and reminders, and the sweep that keeps
them from being lost.

Each e-mail is a row first (``TestimonyNotice``, ``TestimonyReminder``), written in the transaction that decided
it; an actor sends it after the commit. A worker claims the row with one conditional UPDATE (``pending`` →
``sending``), so two deliveries of the same message never both send; the row becomes ``sent`` after the provider
accepts it. If the nudge is lost (broker outage, killed worker, restart) the sweep finds the row still ``pending``,
or ``sending`` for too long, and nudges again. Reminders are created by the sweep itself when they fall due, and
the unique (sign-up, kind) constraint means a second sweep, or a sweep in a new process after a restart, finds the
row and never creates or sends a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from advocacy.campaigns.console_models import Hearing
from advocacy.db import after_commit, utcnow
from advocacy.mail import Address, Attachment, Email, Mailer, MailError, Personalization, render_email
from advocacy.settings import get_settings
from advocacy.testimony import service
from advocacy.testimony.calendar import (
    METHOD_CANCEL,
    METHOD_REQUEST,
    Invite,
    build_invite,
    pacific_to_utc_naive,
    signup_uid,
    to_pacific,
)
from advocacy.testimony.models import (
    ACTIVE_STATUSES,
    SLOT_STATUSES,
    MailStatus,
    Mode,
    NoticeKind,
    ReminderKind,
    SignupStatus,
    TestimonyCall,
    TestimonyNotice,
    TestimonyReminder,
    TestimonySignup,
    WitnessRole,
)
from advocacy.testimony.service import SignupView

log = logging.getLogger("advocacy.testimony")

# Reminders: 9 a.m. Pacific the day before the hearing, and 7 a.m. on the day.
DAY_BEFORE_AT = time(9, 0)
MORNING_OF_AT = time(7, 0)
# A pending e-mail whose nudge should have been handled by now is nudged again; a claim this old is taken over
# (its worker died mid-call).
STUCK_AFTER = timedelta(minutes=2)
STALE_CLAIM = timedelta(minutes=10)

SUBJECTS = {
    NoticeKind.SIGNED_UP: "Signed up to testify",
    NoticeKind.CONFIRMED: "Confirmed as a lead witness",
    NoticeKind.PROMOTED: "A lead witness slot opened for you",
    NoticeKind.REASSIGNED: "Your testimony role changed",
    NoticeKind.HEARING_CHANGED: "The hearing changed",
    NoticeKind.DECLINED: "Your testimony sign-up was declined",
    NoticeKind.CANCELLED: "Testimony sign-up cancelled",
}


# ----------------------------------------------------------------------------------------------- the invite


def invite_for(view: SignupView, *, sequence: int, method: str, stamp: datetime | None = None) -> bytes:
    """The calendar invite of a sign-up at ``sequence``: REQUEST while it stands, CANCEL once it ended."""
    settings = get_settings()
    signup, hearing = view.signup, view.hearing
    committee = view.committee.full_name if view.committee else "Committee hearing"
    role = "lead witness" if signup.role == WitnessRole.LEAD else "me-too"
    page = f"{settings.base_url.rstrip('/')}/testimony/signups/{signup.id}"
    if signup.role == WitnessRole.LEAD:
        say = "You have about two minutes; your draft is on your sign-up page."
    else:
        say = f'When called, state: "{view.me_too_line}"'
    location = hearing.room
    if signup.mode == Mode.REMOTE:
        room = f" ({hearing.room})" if hearing.room else ""
        location = f"Remote testimony: follow the committee's instructions{room}"
    elif location:
        location = f"{location}, Sacramento, California"
    order = f" Item {view.call.file_order} in the file." if view.call.file_order else ""
    invite = Invite(
        uid=signup_uid(signup.id or 0, settings.mail_from.rpartition("@")[2]),
        sequence=sequence,
        method=method,
        summary=f"Testify on {view.bill.label} ({role}): {committee}",
        description=f"{view.bill.label}: {view.bill.title}{order}\n{say}\nYour sign-up: {page}",
        location=location,
        hearing_date=hearing.hearing_date,
        hearing_time=hearing.hearing_time,
        organizer_email=settings.mail_from,
        organizer_name=settings.mail_from_name,
        attendee_email=view.official.email if view.official else settings.mail_from,
        attendee_name=signup.stated_name,
        tentative=signup.status in (SignupStatus.HELD, SignupStatus.WAITLISTED),
        stamp=stamp,
    )
    return build_invite(invite)


def current_invite(session: Session, signup_id: int, user: Any) -> bytes:
    """The invite as it stands now (the page's download): the last SEQUENCE sent, CANCEL if the sign-up ended."""
    view = service.signup_view(session, signup_id, user)
    method = METHOD_REQUEST if view.active else METHOD_CANCEL
    return invite_for(view, sequence=view.signup.ics_sequence, method=method)


# ----------------------------------------------------------------------------------------------- e-mails


def _context(view: SignupView) -> dict[str, Any]:
    settings = get_settings()
    signup = view.signup
    return {
        "view": view,
        "signup": signup,
        "bill": view.bill,
        "campaign": view.campaign,
        "call": view.call,
        "hearing_text": view.hearing_text,
        "hearing_day": f"{view.hearing.hearing_date:%B} {view.hearing.hearing_date.day}",
        "committee_name": view.committee.full_name if view.committee else "the committee",
        "side": "support" if view.call.side == "support" else "opposition",
        "is_lead": signup.role == WitnessRole.LEAD,
        "holds_slot": signup.status in SLOT_STATUSES,
        "waitlisted": signup.status == SignupStatus.WAITLISTED,
        "active": view.active,
        "remote": signup.mode == Mode.REMOTE,
        "link": f"{settings.base_url.rstrip('/')}/testimony/signups/{signup.id}",
    }


def _email(
    view: SignupView, template: str, context: dict[str, Any], attachments: list[Attachment], category: str
) -> Email:
    settings = get_settings()
    subject, text, html = render_email(template, context)
    official = view.official
    if official is None:
        raise MailError(f"sign-up {view.signup.id} has no official to write to", retryable=False)
    return Email(
        subject=subject,
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        html=html,
        personalizations=[
            Personalization(
                to=[Address(official.email, official.name)], custom_args={"testimony_signup": str(view.signup.id)}
            )
        ],
        attachments=attachments,
        categories=[category],
    )


def notice_email(session: Session, notice: TestimonyNotice) -> Email:
    signup = session.get(TestimonySignup, notice.signup_id)
    if signup is None:
        raise MailError(f"notice {notice.id} names a missing sign-up", retryable=False)
    view = service._signup_view(session, signup)
    kind = NoticeKind(notice.kind)
    context = {**_context(view), "kind": kind.value, "heading": SUBJECTS[kind], "method": notice.method}
    invite = invite_for(view, sequence=notice.sequence, method=notice.method, stamp=notice.created_at)
    return _email(
        view, "testimony_notice", context, [Attachment("invite.ics", invite, "text/calendar")], "testimony-notice"
    )


def reminder_email(session: Session, reminder: TestimonyReminder) -> Email:
    signup = session.get(TestimonySignup, reminder.signup_id)
    if signup is None:
        raise MailError(f"reminder {reminder.id} names a missing sign-up", retryable=False)
    view = service._signup_view(session, signup)
    context = {**_context(view), "when": "today" if reminder.kind == ReminderKind.MORNING_OF else "tomorrow"}
    return _email(view, "testimony_reminder", context, [], "testimony-reminder")


# ----------------------------------------------------------------------------------------------- sending


def _claim(
    session: Session, model: type[TestimonyNotice] | type[TestimonyReminder], row_id: int, now: datetime
) -> bool:
    """Take the row for one send: pending, or a claim gone stale. Exactly one caller gets True. Commits."""
    result = session.execute(
        update(model)
        .where(
            col(model.id) == row_id,
            (col(model.status) == MailStatus.PENDING)
            | ((col(model.status) == MailStatus.SENDING) & (col(model.claimed_at) < now - STALE_CLAIM)),
        )
        .values(status=MailStatus.SENDING, claimed_at=now, attempts=col(model.attempts) + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _deliver(session: Session, row: TestimonyNotice | TestimonyReminder, email: Email, mailer: Mailer) -> bool:
    """Send a claimed row's e-mail and record the outcome; a retryable error puts it back and is raised."""
    try:
        message_id = mailer.send(email)
    except MailError as exc:
        row.error = exc.reason[:500]
        row.status = MailStatus.PENDING if exc.retryable else MailStatus.FAILED
        session.add(row)
        session.commit()
        if exc.retryable:
            raise
        log.error("testimony e-mail %s %s could not be sent: %s", type(row).__name__, row.id, exc.reason)
        return False
    row.status, row.sent_at, row.message_id, row.error = MailStatus.SENT, utcnow(), message_id[:120], ""
    session.add(row)
    session.commit()
    return True


def _skip(session: Session, row: TestimonyNotice | TestimonyReminder, why: str) -> bool:
    row.status, row.error = MailStatus.SKIPPED, why[:500]
    session.add(row)
    session.commit()
    return False


def send_notice(session: Session, notice_id: int, *, mailer: Mailer, now: datetime | None = None) -> bool:
    """Send one notice if it is still due; True when an e-mail went out. Safe to call any number of times."""
    now = now or utcnow()
    notice = session.get(TestimonyNotice, notice_id)
    if notice is None or notice.status not in (MailStatus.PENDING, MailStatus.SENDING):
        return False
    newer = session.exec(
        select(TestimonyNotice.id).where(
            TestimonyNotice.signup_id == notice.signup_id, col(TestimonyNotice.sequence) > notice.sequence
        )
    ).first()
    if newer is not None:
        # The later notice carries the sign-up's whole state with a higher SEQUENCE: this one would only add noise.
        if _claim(session, TestimonyNotice, notice_id, now):
            session.refresh(notice)
            return _skip(session, notice, f"replaced by notice {newer}")
        return False
    if not _claim(session, TestimonyNotice, notice_id, now):
        return False
    session.refresh(notice)
    try:
        email = notice_email(session, notice)
    except MailError as exc:
        notice.status, notice.error = MailStatus.FAILED, exc.reason[:500]
        session.add(notice)
        session.commit()
        return False
    return _deliver(session, notice, email, mailer)


def send_reminder(session: Session, reminder_id: int, *, mailer: Mailer, now: datetime | None = None) -> bool:
    """Send one reminder if it is still useful; True when an e-mail went out. Safe to call any number of times."""
    now = now or utcnow()
    reminder = session.get(TestimonyReminder, reminder_id)
    if reminder is None or reminder.status not in (MailStatus.PENDING, MailStatus.SENDING):
        return False
    if not _claim(session, TestimonyReminder, reminder_id, now):
        return False
    session.refresh(reminder)
    signup = session.get(TestimonySignup, reminder.signup_id)
    call = session.get(TestimonyCall, signup.call_id) if signup else None
    hearing = session.get(Hearing, call.hearing_id) if call else None
    if signup is None or hearing is None or signup.status not in SLOT_STATUSES:
        return _skip(session, reminder, "the sign-up no longer stands")
    if now >= service.hearing_end_utc(hearing):
        return _skip(session, reminder, "the hearing had begun when the reminder could be sent")
    try:
        email = reminder_email(session, reminder)
    except MailError as exc:
        reminder.status, reminder.error = MailStatus.FAILED, exc.reason[:500]
        session.add(reminder)
        session.commit()
        return False
    return _deliver(session, reminder, email, mailer)


# ----------------------------------------------------------------------------------------------- the sweep


def reminder_times(hearing: Hearing) -> dict[ReminderKind, datetime]:
    """When each reminder falls due (naive UTC), from the hearing's Pacific date."""
    return {
        ReminderKind.DAY_BEFORE: pacific_to_utc_naive(hearing.hearing_date - timedelta(days=1), DAY_BEFORE_AT),
        ReminderKind.MORNING_OF: pacific_to_utc_naive(hearing.hearing_date, MORNING_OF_AT),
    }


@dataclass
class SweepResult:
    reminders: list[int]
    nudged_notices: list[int]
    nudged_reminders: list[int]
    hearing_changes: int

    @property
    def nudges(self) -> int:
        return len(self.reminders) + len(self.nudged_notices) + len(self.nudged_reminders) + self.hearing_changes


def schedule_reminders(session: Session, now: datetime) -> list[int]:
    """Create the reminder rows now due (once each: the unique constraint) and return those to send."""
    today = to_pacific(now).date()
    rows = session.exec(
        select(TestimonySignup, Hearing)
        .join(TestimonyCall, col(TestimonyCall.id) == TestimonySignup.call_id)
        .join(Hearing, col(Hearing.id) == TestimonyCall.hearing_id)
        .where(
            col(TestimonySignup.status).in_(SLOT_STATUSES),
            col(Hearing.hearing_date) >= today,
            col(Hearing.hearing_date) <= today + timedelta(days=1),
        )
    ).all()
    if not rows:
        return []
    ids = [signup.id for signup, _ in rows]
    existing = {
        (r.signup_id, r.kind)
        for r in session.exec(select(TestimonyReminder).where(col(TestimonyReminder.signup_id).in_(ids))).all()
    }
    created: list[int] = []
    for signup, hearing in rows:
        end = service.hearing_end_utc(hearing)
        times = reminder_times(hearing)
        for kind, due in times.items():
            if (signup.id, kind.value) in existing or now < due or now >= end:
                continue
            status, why = MailStatus.PENDING, ""
            if signup.signed_up_at >= due:
                status, why = MailStatus.SKIPPED, "signed up after it fell due: the confirmation said it all"
            elif kind == ReminderKind.DAY_BEFORE and now >= times[ReminderKind.MORNING_OF]:
                status, why = MailStatus.SKIPPED, "the morning reminder replaces it"
            reminder_id = _insert_reminder(session, signup.id or 0, kind, status, due, now, why)
            if reminder_id is not None and status == MailStatus.PENDING:
                created.append(reminder_id)
    return created


def _insert_reminder(
    session: Session, signup_id: int, kind: ReminderKind, status: MailStatus, due: datetime, now: datetime, why: str
) -> int | None:
    """Insert a reminder row unless one exists for (sign-up, kind): then another sweep made it, and it is theirs.

    ``ON CONFLICT DO NOTHING`` (both PostgreSQL and SQLite have it) keeps the sweep's transaction intact where a
    failed plain INSERT would abort it."""
    values = {
        "signup_id": signup_id,
        "kind": kind.value,
        "status": status.value,
        "due_at": due,
        "created_at": now,
        "error": why,
        "attempts": 0,
        "message_id": "",
    }
    table = TestimonyReminder.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        statement: Any = postgresql_insert(table).values(**values)
    else:
        statement = sqlite_insert(table).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["signup_id", "kind"]).returning(table.c.id)
    inserted = session.execute(statement).first()
    return int(inserted[0]) if inserted else None


def _stuck(
    session: Session, model: type[TestimonyNotice] | type[TestimonyReminder], now: datetime, exclude: list[int]
) -> list[int]:
    query = select(model.id).where(
        ((col(model.status) == MailStatus.PENDING) & (col(model.created_at) < now - STUCK_AFTER))
        | ((col(model.status) == MailStatus.SENDING) & (col(model.claimed_at) < now - STALE_CLAIM))
    )
    return [row_id for row_id in session.exec(query).all() if row_id is not None and row_id not in exclude]


def queue_hearing_changes(session: Session, now: datetime) -> int:
    """An updated invite for each standing sign-up whose hearing staff moved (date, time or room) since its last one."""
    today = to_pacific(now).date()
    rows = session.exec(
        select(TestimonySignup, Hearing)
        .join(TestimonyCall, col(TestimonyCall.id) == TestimonySignup.call_id)
        .join(Hearing, col(Hearing.id) == TestimonyCall.hearing_id)
        .where(col(TestimonySignup.status).in_(ACTIVE_STATUSES), col(Hearing.hearing_date) >= today)
    ).all()
    changed = 0
    for signup, hearing in rows:
        if signup.invited_hearing and signup.invited_hearing != service.hearing_fingerprint(hearing):
            service._queue_notice(session, signup, hearing, NoticeKind.HEARING_CHANGED, now=now)
            changed += 1
    return changed


def sweep(session: Session, *, now: datetime | None = None) -> SweepResult:
    """Create due reminders, queue updates for moved hearings, and nudge every e-mail waiting too long. The nudges
    go out after the caller commits."""
    now = now or utcnow()
    reminders = schedule_reminders(session, now)
    changes = queue_hearing_changes(session, now)
    notices = _stuck(session, TestimonyNotice, now, [])
    stuck_reminders = _stuck(session, TestimonyReminder, now, reminders)

    def nudge() -> None:
        for notice_id in notices:
            service.enqueue_notice(notice_id)
        for reminder_id in [*reminders, *stuck_reminders]:
            service.enqueue_reminder(reminder_id)

    if notices or reminders or stuck_reminders:
        after_commit(session, nudge)
    result = SweepResult(reminders, notices, stuck_reminders, changes)
    if result.nudges:
        log.info(
            "testimony sweep: %d reminder(s) due, %d hearing change(s), %d notice(s) and %d reminder(s) nudged",
            len(reminders),
            changes,
            len(notices),
            len(stuck_reminders),
        )
    return result
