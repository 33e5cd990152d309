"""Tables of the staff campaign console: the Action Agenda, committee letter rules, hearings, staff-edited letter
templates and their versions, a campaign's plan (audience, hearing, variants, stages), action alerts and opt-outs,
the approval queue and the re-confirmations a bill's amendment calls for.

A campaign itself is ``campaigns.models.Campaign`` (its deadline lives there, where letters read it); what only
the console needs sits beside it in ``CampaignPlan``, one row per campaign. Status-like columns are short strings
validated by the services (their values are the ``StrEnum`` classes below), which keeps the schema free of
database enum types that every new value would have to migrate.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow


def _text() -> Column:  # type: ignore[type-arg]
    return Column(Text, nullable=False, default="")


# ----------------------------------------------------------------------------------------------- Action Agenda


class AgendaItem(SQLModel, table=True):
    """The league's stance on one bill: position, "hot" priority, policy area and talking points."""

    id: int | None = Field(default=None, primary_key=True)
    bill_id: int = Field(foreign_key="bill.id", unique=True, index=True)
    position: str = Field(default="", max_length=40, description="a campaigns.models.Position value; empty: none yet")
    hot: bool = Field(default=False, index=True)
    policy_area: str = Field(default="", max_length=80)
    talking_points: str = Field(default="", sa_column=_text())
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


# ----------------------------------------------------------------------------------------------- committee rules


class RuleKind(StrEnum):
    BUSINESS_DAYS = "business_days"  # N business days before the hearing date
    CALENDAR_DAYS = "calendar_days"  # N calendar days before the hearing date
    WEEKDAY_BEFORE = "weekday_before"  # the last given weekday before the hearing date
    WEEKDAY_PRIOR_WEEK = "weekday_prior_week"  # the given weekday of the calendar week before the hearing's week


class Listing(StrEnum):
    """How a committee's analysis lists positions (DOMAIN.md §1.5)."""

    ALL_FOUR = "all_four"  # Support, Support if Amended, Oppose, Oppose Unless Amended
    SUPPORT_OPPOSE = "support_oppose"  # only Support/Oppose; OUA listed as oppose; SIA filed, not listed
    NO_CONDITIONAL = "no_conditional"  # neither conditional position is listed
    NONE = "none"  # the analysis lists no positions (e.g. Senate Appropriations)
    UNKNOWN = "unknown"  # not known: warn as for SUPPORT_OPPOSE, the common case


class CommitteeRule(SQLModel, table=True):
    """How and by when one committee takes position letters, with where that was read and when."""

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", unique=True, index=True)
    kind: str = Field(default=RuleKind.BUSINESS_DAYS, max_length=24)
    days: int = Field(default=0, description="business or calendar days (the day kinds)")
    weekday: int = Field(default=0, description="Monday 0 … Sunday 6 (the weekday kinds)")
    at_time: str = Field(default="17:00", max_length=5, description="HH:MM, Pacific time")
    source_url: str = Field(default="", max_length=300)
    checked_on: date | None = None
    accepts_portal: bool = True
    accepts_email: bool = False
    accepts_mail: bool = True
    listing: str = Field(default=Listing.UNKNOWN, max_length=24)
    notes: str = Field(default="", sa_column=_text())
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


class Hearing(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True)
    hearing_date: date = Field(index=True)
    hearing_time: str = Field(default="", max_length=5, description="HH:MM, Pacific time; empty: not announced")
    room: str = Field(default="", max_length=80)
    notes: str = Field(default="", max_length=500)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


# ----------------------------------------------------------------------------------------------- letter templates


class LetterTemplate(SQLModel, table=True):
    """A staff-edited letter body for one letter kind; its text lives in numbered versions."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    kind: str = Field(max_length=40, description="letters.document.KINDS")
    description: str = Field(default="", max_length=500)
    archived: bool = False
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class LetterTemplateVersion(SQLModel, table=True):
    """One saved text of a template; never changed once saved (letters and campaigns point at it)."""

    __table_args__ = (UniqueConstraint("template_id", "number", name="uq_template_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="lettertemplate.id", index=True)
    number: int
    source: str = Field(default="", sa_column=_text())
    note: str = Field(default="", max_length=300)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


# ----------------------------------------------------------------------------------------------- campaign plan


class CampaignPlan(SQLModel, table=True):
    """What the console knows of a campaign beyond ``Campaign``: hearing, audience, flags, launch."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", unique=True, index=True)
    hearing_id: int | None = Field(default=None, foreign_key="hearing.id", index=True)
    deadline_overridden: bool = False
    # Comma-separated ids and role keys; empty means "no restriction" (all member cities, every official).
    audience_divisions: str = Field(default="", max_length=500)
    audience_cities: str = Field(default="", sa_column=_text())
    audience_roles: str = Field(default="", max_length=200)
    # Off by default and never shown on the official-capacity letter page (DOMAIN.md §4.9).
    citipac_ask: bool = False
    requires_approval: bool = False
    launched_at: NaiveDatetime | None = None
    launched_by_id: int | None = Field(default=None, foreign_key="user.id")


class CampaignVariant(SQLModel, table=True):
    """One of up to three message variants for a target group; a city's letter gets one of them."""

    __table_args__ = (UniqueConstraint("campaign_id", "target_group", "slot", name="uq_campaign_variant_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    target_group: str = Field(max_length=32)
    slot: int = Field(description="1, 2 or 3")
    template_version_id: int = Field(foreign_key="lettertemplateversion.id")


class CampaignStage(SQLModel, table=True):
    """A committee stage of a campaign (``campaigns.service.stage_of``): opened at launch, then each time the bill is
    amended or moves on, so staff see which letters were written for which stage."""

    __table_args__ = (UniqueConstraint("campaign_id", "stage_key", name="uq_campaign_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    stage_key: str = Field(max_length=160)
    label: str = Field(default="", max_length=200)
    committee_id: int | None = Field(default=None, foreign_key="committee.id")
    bill_version_date: date | None = None
    hearing_id: int | None = Field(default=None, foreign_key="hearing.id")
    deadline: NaiveDatetime | None = None
    reason: str = Field(default="", max_length=300)
    opened_at: NaiveDatetime = Field(default_factory=utcnow)
    closed_at: NaiveDatetime | None = None


# ----------------------------------------------------------------------------------------------- alerts


class RunKind(StrEnum):
    LAUNCH = "launch"  # the first alert to the audience
    REMINDER = "reminder"  # to the audience that has not acted
    RECONFIRM = "reconfirm"  # signers of letters the bill has outdated


class RunStatus(StrEnum):
    QUEUED = "queued"  # recipients not yet chosen
    SENDING = "sending"  # recipients recorded, batches going out
    DONE = "done"
    FAILED = "failed"


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker for one mail call
    SENT = "sent"  # accepted by the provider
    FAILED = "failed"  # refused by the provider (reason kept)
    SKIPPED = "skipped"  # its official unsubscribed after the run started


class AlertRun(SQLModel, table=True):
    """One mailing of a campaign: its recipients are ``Alert`` rows, sent in batches by a worker."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    kind: str = Field(max_length=12)
    status: str = Field(default=RunStatus.QUEUED, max_length=12, index=True)
    stage_key: str = Field(default="", max_length=160, description="the stage whose non-actors it was sent to")
    total: int = 0
    sent: int = 0
    failed: int = 0
    mail_calls: int = 0
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    started_at: NaiveDatetime | None = None
    finished_at: NaiveDatetime | None = None
    last_progress_at: NaiveDatetime | None = None
    error: str = Field(default="", sa_column=_text())


class Alert(SQLModel, table=True):
    """One e-mail to one person in one run: every alert sent is recorded here."""

    __table_args__ = (
        UniqueConstraint("run_id", "user_id", name="uq_alert_run_user"),
        Index("ix_alert_run_status", "run_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="alertrun.id")
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    city_id: int | None = Field(default=None, foreign_key="city.id")
    email: str = Field(max_length=254)
    status: str = Field(default=AlertStatus.PENDING, max_length=12)
    claim: str = Field(default="", max_length=32, index=True, description="the worker call that holds it")
    claimed_at: NaiveDatetime | None = None
    sent_at: NaiveDatetime | None = None
    message_id: str = Field(default="", max_length=120)
    error: str = Field(default="", max_length=500)
    reconfirm_id: int | None = Field(default=None, foreign_key="reconfirmrequest.id")


class AlertOptOut(SQLModel, table=True):
    """An official who unsubscribed from action alerts (RFC 8058 one-click or the page): never alerted again."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True, index=True)
    email: str = Field(max_length=254, index=True)
    method: str = Field(max_length=16, description="one-click | page")
    created_at: NaiveDatetime = Field(default_factory=utcnow)


# ----------------------------------------------------------------------------------------------- review, re-confirm


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"  # sent back to the signer with a comment
    SUPERSEDED = "superseded"  # the bill moved on while the letter waited: it was superseded, never decided


class LetterReview(SQLModel, table=True):
    """A letter held for staff review before delivery (campaigns with the approval queue on)."""

    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", unique=True, index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    signer_id: int = Field(foreign_key="user.id")
    status: str = Field(default=ReviewStatus.PENDING, max_length=12, index=True)
    local_note: str = Field(default="", sa_column=_text())
    comment: str = Field(default="", sa_column=_text())
    reviewer_id: int | None = Field(default=None, foreign_key="user.id")
    submitted_at: NaiveDatetime = Field(default_factory=utcnow)
    decided_at: NaiveDatetime | None = None
    # When the signer was e-mailed that staff returned the letter (None: not yet; the sweep re-sends the nudge).
    signer_notified_at: NaiveDatetime | None = None


class ReconfirmRequest(SQLModel, table=True):
    """A sent letter the bill has outdated (amended, or moved to another committee): its signer is asked to
    re-confirm the letter re-rendered for the new stage. Nothing is sent until they press."""

    __table_args__ = (UniqueConstraint("old_letter_id", "stage_key", name="uq_reconfirm_letter_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    city_id: int = Field(foreign_key="city.id")
    old_letter_id: int = Field(foreign_key="letter.id", index=True)
    signer_id: int = Field(foreign_key="user.id")
    stage_key: str = Field(max_length=160)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    notified_at: NaiveDatetime | None = None
    confirmed_letter_id: int | None = Field(default=None, foreign_key="letter.id")
    confirmed_at: NaiveDatetime | None = None
