"""Nudges and weekly digests: the only rows participation writes. Counts themselves are never stored (they are
computed from letters, deliveries and signature requests on every view, so no summary can drift from them)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from advocacy.db import utcnow


class MailState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one worker for one provider call (``claimed_at``); stale claims are retaken
    SENT = "sent"
    FAILED = "failed"  # refused by the provider for good (reason kept)
    SKIPPED = "skipped"  # nobody to write to


class Nudge(SQLModel, table=True):
    """A reminder to one city's officials about one campaign; the constraint makes it at most one per day."""

    __table_args__ = (UniqueConstraint("campaign_id", "city_id", "day", name="uq_nudge_campaign_city_day"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    city_id: int = Field(foreign_key="city.id", index=True)
    day: date = Field(description="the Pacific calendar day the nudge belongs to")
    sent_by_id: int = Field(foreign_key="user.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    status: str = Field(default=MailState.PENDING, max_length=8, index=True)
    claimed_at: NaiveDatetime | None = Field(default=None, description="when a worker marked it sending")
    recipients: str = Field(default="", max_length=2000, description="addresses e-mailed, comma-separated")
    sent_at: NaiveDatetime | None = None
    error: str = Field(default="", max_length=500)


class Digest(SQLModel, table=True):
    """The weekly digest owed to one regional manager for one ISO week (``2026-W48``)."""

    __table_args__ = (UniqueConstraint("manager_id", "iso_week", name="uq_digest_manager_week"),)

    id: int | None = Field(default=None, primary_key=True)
    manager_id: int = Field(foreign_key="user.id", index=True)
    iso_week: str = Field(max_length=8)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    status: str = Field(default=MailState.PENDING, max_length=8, index=True)
    claimed_at: NaiveDatetime | None = Field(default=None, description="when a worker marked it sending")
    sent_at: NaiveDatetime | None = None
    error: str = Field(default="", max_length=500)
