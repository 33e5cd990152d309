"""Testimony at committee hearings (DOMAIN.md §2): a campaign's call for witnesses at one hearing, the officials who
sign up, the e-mails that tell them where they stand, and the reminders before the hearing.

A call belongs to one campaign and one hearing; the campaign's position decides the side (support or opposition),
and there is at most one call per hearing, bill and side, so locking the call row serialises everything that
counts that side's lead slots. Status-like columns are short strings validated by the service (their values are
the ``StrEnum`` classes below), as elsewhere in the project, so a new value needs no database enum migration.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow

# Committees hear two primary witnesses per side (DOMAIN.md §2); a call may reserve fewer for the league.
MAX_LEAD_SLOTS = 2
STAFF_MESSAGE_MAX = 1000


def _text() -> Column:  # type: ignore[type-arg]
    return Column(Text, nullable=False, default="")


class Side(StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"


class CallStatus(StrEnum):
    OPEN = "open"  # officials may sign up until the deadline
    CLOSED = "closed"  # staff closed sign-ups; existing sign-ups stand


class WitnessRole(StrEnum):
    LEAD = "lead"  # a primary witness: about two minutes
    ME_TOO = "me_too"  # name, title, city and position only


class Mode(StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"  # only where the committee offers it for this hearing


class SignupStatus(StrEnum):
    HELD = "held"  # a lead slot is held for the official; staff confirm it for the author's office
    CONFIRMED = "confirmed"  # a lead confirmed by staff, or a me-too (who needs no confirmation)
    WAITLISTED = "waitlisted"  # asked to lead when both slots were taken; moves up when one frees
    DECLINED = "declined"  # staff declined, with a message the official sees
    CANCELLED = "cancelled"  # the official withdrew (or staff did for them)


ACTIVE_STATUSES = (SignupStatus.HELD, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
# Sign-ups that hold one of the side's lead slots.
SLOT_STATUSES = (SignupStatus.HELD, SignupStatus.CONFIRMED)

SIDE_LABELS = {Side.SUPPORT: "Support", Side.OPPOSE: "Opposition"}
ROLE_LABELS = {WitnessRole.LEAD: "Lead witness", WitnessRole.ME_TOO: "Me-too"}
MODE_LABELS = {Mode.IN_PERSON: "In person", Mode.REMOTE: "Remote"}
STATUS_LABELS = {
    SignupStatus.HELD: "Lead slot held, awaiting confirmation",
    SignupStatus.CONFIRMED: "Confirmed",
    SignupStatus.WAITLISTED: "On the waiting list for a lead slot",
    SignupStatus.DECLINED: "Declined",
    SignupStatus.CANCELLED: "Cancelled",
}


class TestimonyCall(SQLModel, table=True):
    """A campaign asks officials to testify on its bill at one hearing."""

    __test__ = False  # not a pytest test class, despite the name
    __table_args__ = (UniqueConstraint("hearing_id", "bill_id", "side", name="uq_testimony_call_side"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    bill_id: int = Field(foreign_key="bill.id", index=True, description="the campaign's bill, kept for uniqueness")
    side: str = Field(max_length=8, description="a Side value, from the campaign's position")
    file_order: int | None = Field(default=None, description="the bill's item number in the hearing's file")
    remote_offered: bool = Field(default=False, description="the committee takes remote testimony at this hearing")
    signup_deadline: NaiveDatetime = Field(description="naive UTC")
    capacity: int | None = Field(default=None, description="most me-toos taken; None: no limit")
    lead_slots_per_side: int = Field(default=MAX_LEAD_SLOTS)
    status: str = Field(default=CallStatus.OPEN, max_length=8, index=True)
    instructions: str = Field(default="", sa_column=_text())
    # Bumped by every write that counts slots: on SQLite the UPDATE takes the database's write lock first.
    lock_version: int = Field(default=0)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class TestimonySignup(SQLModel, table=True):
    """One official's sign-up to testify for one call; one row per official and call (re-signing reuses it, which
    keeps the calendar invite's UID)."""

    __test__ = False
    __table_args__ = (
        UniqueConstraint("call_id", "user_id", name="uq_testimony_signup_user"),
        Index("ix_testimony_signup_call_status", "call_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="testimonycall.id")
    user_id: int = Field(foreign_key="user.id", index=True)
    city_id: int | None = Field(default=None, foreign_key="city.id")
    role: str = Field(max_length=8, description="a WitnessRole value")
    mode: str = Field(default=Mode.IN_PERSON, max_length=10)
    status: str = Field(max_length=12)
    stated_name: str = Field(max_length=120)
    stated_title: str = Field(default="", max_length=120)
    stated_city: str = Field(default="", max_length=120)
    # Orders witnesses: leads by when they took their slot, me-toos (and the waiting list) by when they signed up.
    signed_up_at: NaiveDatetime = Field(default_factory=utcnow)
    slot_taken_at: NaiveDatetime | None = None
    staff_message: str = Field(default="", max_length=STAFF_MESSAGE_MAX)
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    decided_at: NaiveDatetime | None = None
    cancelled_at: NaiveDatetime | None = None
    spoke: bool | None = Field(default=None, description="recorded by staff after the hearing")
    spoke_recorded_at: NaiveDatetime | None = None
    spoke_recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    # The calendar invite: SEQUENCE of the last one queued, and the hearing's date/time/room it carried (the sweep
    # sends an update when staff move the hearing).
    ics_sequence: int = Field(default=0)
    invited_hearing: str = Field(default="", max_length=120)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class NoticeKind(StrEnum):
    SIGNED_UP = "signed_up"
    CONFIRMED = "confirmed"
    PROMOTED = "promoted"  # moved up from the waiting list
    REASSIGNED = "reassigned"  # staff changed lead to me-too or back
    HEARING_CHANGED = "hearing_changed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class MailStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker for one provider call
    SENT = "sent"
    SKIPPED = "skipped"  # no longer useful (a later notice replaced it, or the hearing is over)
    FAILED = "failed"  # refused by the provider (reason kept)


class TestimonyNotice(SQLModel, table=True):
    """An e-mail telling an official where their sign-up stands, with the calendar invite of one SEQUENCE."""

    __test__ = False
    __table_args__ = (UniqueConstraint("signup_id", "sequence", name="uq_testimony_notice_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="testimonysignup.id", index=True)
    sequence: int
    kind: str = Field(max_length=16)
    method: str = Field(max_length=8, description="REQUEST or CANCEL")
    status: str = Field(default=MailStatus.PENDING, max_length=8, index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    claimed_at: NaiveDatetime | None = None
    sent_at: NaiveDatetime | None = None
    attempts: int = 0
    message_id: str = Field(default="", max_length=120)
    error: str = Field(default="", max_length=500)


class ReminderKind(StrEnum):
    DAY_BEFORE = "day_before"
    MORNING_OF = "morning_of"


class TestimonyReminder(SQLModel, table=True):
    """A reminder e-mail; the unique (sign-up, kind) pair is what makes a sweep after a restart neither lose one
    (the row says it is due and unsent) nor repeat one (a second row cannot exist)."""

    __test__ = False
    __table_args__ = (UniqueConstraint("signup_id", "kind", name="uq_testimony_reminder_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="testimonysignup.id", index=True)
    kind: str = Field(max_length=12)
    status: str = Field(default=MailStatus.PENDING, max_length=8, index=True)
    due_at: NaiveDatetime
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    claimed_at: NaiveDatetime | None = None
    sent_at: NaiveDatetime | None = None
    attempts: int = 0
    message_id: str = Field(default="", max_length=120)
    error: str = Field(default="", max_length=500)
