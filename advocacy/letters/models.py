"""Position letters, one delivery per recipient and channel, and the state machines that move them.

A letter is one city's answer to one campaign at one committee stage (the committee now hearing the bill, or the
Governor, at the bill's current version): the unique constraint makes a second press, a second official or a
replayed request find the first letter instead of writing another.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow

LOCAL_NOTE_MAX = 1500


class LetterStatus(StrEnum):
    DRAFT = "draft"  # prepared by an official who may not sign (or returned by league staff); waits for a signer
    # A signer pressed Send in a campaign with the approval queue: league staff approve it (queued) or return it
    # with a comment (draft again). Nothing is rendered or sent meanwhile, so it is not in flight.
    AWAITING_APPROVAL = "awaiting_approval"
    QUEUED = "queued"  # a signer pressed Send; render_letter is due
    RENDERED = "rendered"  # PDF stored; deliver_letter is due
    SENT = "sent"  # every e-mail accepted by the provider
    PARTIALLY_SENT = "partially_sent"  # some e-mails accepted, others failed for good
    FAILED = "failed"  # nothing could be sent (see Letter.error)
    SUPERSEDED = "superseded"  # the bill was amended or moved on: a new letter is due


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker, the provider call is under way
    ACCEPTED = "accepted"  # the provider took it (message id kept)
    DELIVERED = "delivered"  # the receiving server took it (Event Webhook)
    BOUNCED = "bounced"
    DROPPED = "dropped"
    DEFERRED = "deferred"  # the receiving server asked the provider to try later
    FAILED = "failed"  # refused by the provider, or retries exhausted (see Delivery.error)
    PORTAL_PENDING = "portal_pending"  # a person must upload the packet to the Position Letter Portal
    PORTAL_SUBMITTED = "portal_submitted"
    MAIL_PENDING = "mail_pending"  # a person must print the packet and mail it to the committee
    MAILED = "mailed"


class Channel(StrEnum):
    EMAIL = "email"
    PORTAL = "portal"  # the Legislature's Position Letter Portal (no API: a person submits, DOMAIN.md §1.3)
    MAIL = "mail"  # on paper: a committee whose letter rule accepts only mail (DOMAIN.md §1.2)


L, D = LetterStatus, DeliveryStatus

LETTER_MOVES: dict[LetterStatus, frozenset[LetterStatus]] = {
    L.DRAFT: frozenset({L.QUEUED, L.AWAITING_APPROVAL, L.SUPERSEDED}),
    # Staff approve (queued, as if the signer had pressed Send just then) or return it with a comment (draft).
    L.AWAITING_APPROVAL: frozenset({L.QUEUED, L.DRAFT, L.SUPERSEDED}),
    L.QUEUED: frozenset({L.RENDERED, L.FAILED}),
    L.RENDERED: frozenset({L.SENT, L.PARTIALLY_SENT, L.FAILED}),
    # A bounce reported after "sent" can make a letter partially sent; nothing else moves back.
    L.SENT: frozenset({L.PARTIALLY_SENT, L.SUPERSEDED}),
    L.PARTIALLY_SENT: frozenset({L.SUPERSEDED}),
    L.FAILED: frozenset({L.SUPERSEDED}),
    L.SUPERSEDED: frozenset(),
}

DELIVERY_MOVES: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    D.PENDING: frozenset({D.SENDING, D.FAILED}),
    # Back to pending when the provider asked us to try later (429, 5xx, timeout); failed when it refused.
    D.SENDING: frozenset({D.ACCEPTED, D.PENDING, D.FAILED}),
    D.ACCEPTED: frozenset({D.DELIVERED, D.BOUNCED, D.DROPPED, D.DEFERRED}),
    D.DEFERRED: frozenset({D.DELIVERED, D.BOUNCED, D.DROPPED}),
    # A later bounce (e.g. an out-of-office turned hard bounce) is still news worth showing.
    D.DELIVERED: frozenset({D.BOUNCED}),
    D.BOUNCED: frozenset(),
    D.DROPPED: frozenset(),
    D.FAILED: frozenset(),
    D.PORTAL_PENDING: frozenset({D.PORTAL_SUBMITTED}),
    D.PORTAL_SUBMITTED: frozenset(),
    D.MAIL_PENDING: frozenset({D.MAILED}),
    D.MAILED: frozenset(),
}

#: The status a delivery starts in, by channel: e-mails wait for a worker, portal and mail deliveries for a person.
FIRST_STATUS: dict[Channel, DeliveryStatus] = {
    Channel.EMAIL: D.PENDING,
    Channel.PORTAL: D.PORTAL_PENDING,
    Channel.MAIL: D.MAIL_PENDING,
}

#: How pages, the API and the live status poller say each status to a person.
LETTER_LABELS: dict[LetterStatus, str] = {
    L.DRAFT: "Draft: waiting for a signature",
    L.AWAITING_APPROVAL: "Held for league review",
    L.QUEUED: "Queued: the PDF is being made",
    L.RENDERED: "PDF ready: sending",
    L.SENT: "Sent",
    L.PARTIALLY_SENT: "Partly sent: some recipients did not get it",
    L.FAILED: "Not sent",
    L.SUPERSEDED: "Superseded: the bill changed, a new letter is due",
}
DELIVERY_LABELS: dict[DeliveryStatus, str] = {
    D.PENDING: "Waiting",
    D.SENDING: "Sending",
    D.ACCEPTED: "Accepted by the mail service",
    D.DELIVERED: "Delivered",
    D.BOUNCED: "Bounced",
    D.DROPPED: "Dropped by the mail service",
    D.DEFERRED: "Delayed by the receiving server",
    D.FAILED: "Not sent",
    D.PORTAL_PENDING: "To submit on the Position Letter Portal",
    D.PORTAL_SUBMITTED: "Submitted on the Position Letter Portal",
    D.MAIL_PENDING: "To print and mail",
    D.MAILED: "Mailed",
}

#: Letters a worker still has to move forward (the sweep looks for them). A letter awaiting approval waits for a
#: person, not a worker: the sweep leaves it alone.
IN_FLIGHT = frozenset({L.QUEUED, L.RENDERED})
#: E-mail deliveries the provider has taken, whatever happened next.
ACCEPTED_OR_LATER = frozenset({D.ACCEPTED, D.DELIVERED, D.DEFERRED, D.BOUNCED, D.DROPPED})


class Letter(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("campaign_id", "city_id", "stage", name="uq_letter_campaign_city_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    city_id: int = Field(foreign_key="city.id", index=True)
    # "committee:<ocd id>@<version date>", "governor@<version date>" or "floor@…": see campaigns.service.stage_of.
    stage: str = Field(max_length=160)
    committee_id: int | None = Field(default=None, foreign_key="committee.id", index=True)
    bill_version_date: date | None = None
    status: LetterStatus = Field(default=LetterStatus.DRAFT, max_length=20, index=True)
    status_changed_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    local_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    prepared_by_id: int = Field(foreign_key="user.id", index=True)
    signer_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    subject: str = Field(default="", max_length=300)
    # The staff-edited template version the letter was composed with (None: the file template of its kind).
    template_version_id: int | None = Field(default=None, foreign_key="lettertemplateversion.id")
    # The letter's document as the signer sent it (document.stored_document), kept when it is queued; the worker
    # renders the PDF from it. Empty for a draft.
    document: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    queued_at: NaiveDatetime | None = None
    rendered_at: NaiveDatetime | None = None
    sent_at: NaiveDatetime | None = None
    pdf_path: str | None = Field(default=None, max_length=300, description="relative to settings.storage_dir")
    pdf_sha256: str | None = Field(default=None, max_length=64)
    send_attempts: int = Field(default=0, description="provider calls made for this letter")
    # When the next worker step is due: now when queued or rendered, later while a retry waits out a backoff. The
    # sweep nudges in-flight letters whose step is overdue by more than settings.letter_stuck_seconds.
    next_step_at: NaiveDatetime | None = Field(default=None, index=True)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Optimistic locking: every UPDATE checks the version it read, so two workers handed the same message (at-least-
    # once delivery, or a sweep nudge racing the original) cannot both move the letter; the loser gets StaleDataError.
    version: int = Field(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Delivery(SQLModel, table=True):
    """One recipient on one channel. ``recipient_key`` deduplicates (a legislator, the Governor, a committee)."""

    # The busiest table for writes: a letter's every recipient moves to sending, then accepted, then (webhook)
    # delivered, a row update each. Pages kept 30 % free, and no index on a column those moves write, make them HOT
    # updates on PostgreSQL: the new row version stays on its page and no index is touched (docs/benchmarks.md:
    # the database's CPU per letter 2.7-3.1 ms before, 2.1-2.4 ms after). Lookups go by id (webhooks) or letter (the
    # unique constraint's index leads with letter_id); status filters always come with a letter or a campaign.
    __table_args__ = (
        UniqueConstraint("letter_id", "channel", "recipient_key", name="uq_delivery_recipient"),
        {"postgresql_with": {"fillfactor": 70}},
    )

    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id")
    channel: Channel = Field(max_length=8)
    recipient_key: str = Field(max_length=120, description="legislator:<id>, committee:<id>, governor")
    legislator_id: int | None = Field(default=None, foreign_key="legislator.id", index=True)
    committee_id: int | None = Field(default=None, foreign_key="committee.id")
    name: str = Field(max_length=200)
    email: str = Field(default="", max_length=254)
    reason: str = Field(max_length=300, description='e.g. "Chair, Assembly Local Government; Author"')
    cc_note: str = Field(default="", max_length=200, description='beside the name in the cc block: "author of AB 1"')
    sort_order: int = 0
    status: DeliveryStatus = Field(max_length=20)
    status_changed_at: NaiveDatetime = Field(default_factory=utcnow)
    message_id: str = Field(default="", max_length=120)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    attempts: int = 0
    receipt_number: str = Field(default="", max_length=80, description="Position Letter Portal receipt")
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    submitted_at: NaiveDatetime | None = None
    mailed_on: date | None = Field(default=None, description="the day a person mailed the packet (mail channel)")
    # "" for the letter's main document (Letter.pdf_path); else the target group whose own document this recipient
    # gets, because that group's message variant reads differently (a LetterDocumentFile of the letter).
    document: str = Field(default="", max_length=24)


class LetterDocumentFile(SQLModel, table=True):
    """A letter's further document: the letter as written to one target group whose message variant differs from
    the main document's (Letter.pdf_path), rendered in the same step, on the same letterhead, date and signature."""

    __table_args__ = (UniqueConstraint("letter_id", "target_group", name="uq_letter_document_group"),)

    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    target_group: str = Field(max_length=24, description="a campaigns.models.TargetGroup value")
    template_version_id: int | None = Field(default=None, foreign_key="lettertemplateversion.id")
    pdf_path: str = Field(max_length=300, description="relative to settings.storage_dir")
    pdf_sha256: str = Field(max_length=64)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class IdempotencyKey(SQLModel, table=True):
    """An API caller's ``Idempotency-Key``: a replay returns the letter the first request made."""

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    key: str = Field(max_length=200)
    request_fingerprint: str = Field(max_length=64, description="sha256 of the route and body")
    letter_id: int = Field(foreign_key="letter.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class SignatureRequest(SQLModel, table=True):
    """An official asked the city's signers to review and send a draft letter."""

    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    requested_by_id: int = Field(foreign_key="user.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    notified: str = Field(default="", max_length=1000, description="signers e-mailed, comma-separated addresses")
