"""Fixtures for the letters tests: people, campaigns on real bills, fast retry timings, SendGrid faked locally.

Each test makes its own campaign, so its letters never meet another test's (one letter per campaign, city and
stage). The reference data is read-only; tests that need an unusual committee create their own rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.campaigns.service import create_campaign
from advocacy.db import session_scope
from advocacy.directory.models import Bill, City
from advocacy.mail import MemoryMailer, SendGridMailer, reset_mailer
from advocacy.settings import Settings, get_settings
from tests.helpers import create_user

SACRAMENTO = "0664000"
LOS_ANGELES = "0644000"
STAFF_ALERTS = "alerts@staff.test.example"


def bill_by_label(session: Session, label: str) -> Bill:
    measure, _, number = label.partition(" ")
    bill = session.exec(select(Bill).where(Bill.measure_type == measure, Bill.number == int(number))).first()
    assert bill is not None, f"{label} is not in the shipped data"
    return bill


def city_by_geoid(session: Session, geoid: str) -> City:
    city = session.exec(select(City).where(City.geoid == geoid)).first()
    assert city is not None
    return city


@pytest.fixture(autouse=True)
def _empty_queues() -> Iterator[None]:
    """No test inherits unprocessed messages: tests without a worker leave their nudges queued (on Redis they even
    outlive the run), and another package's leftover e-mail would take the fake SendGrid's scripted answers."""
    import dramatiq

    from advocacy.jobs import import_actors

    import_actors()
    broker = dramatiq.get_broker()

    broker.flush_all()  # delay queues included, on both brokers
    yield
    broker.flush_all()


@pytest.fixture()
def fast_letters(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Retry timings in milliseconds instead of minutes, and staff alerts to one known address."""
    settings = get_settings()
    monkeypatch.setattr(settings, "letter_retry_min_backoff_ms", 50)
    monkeypatch.setattr(settings, "letter_retry_max_backoff_ms", 400)
    monkeypatch.setattr(settings, "letter_max_send_attempts", 4)
    monkeypatch.setattr(settings, "staff_alert_address", STAFF_ALERTS)
    return settings


@pytest.fixture()
def sendgrid(fake_sendgrid: Any, fast_letters: Settings) -> Iterator[Any]:
    """The real SendGrid client (through SendGridMailer) against the local fake; yields the fake."""
    reset_mailer(SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=1.0))
    yield fake_sendgrid
    reset_mailer(None)


@pytest.fixture()
def memory_mailer(fast_letters: Settings) -> Iterator[MemoryMailer]:
    mailer = MemoryMailer()
    reset_mailer(mailer)
    yield mailer
    reset_mailer(None)


@pytest.fixture()
def make_campaign(loaded_data: dict[str, int]) -> Callable[..., Campaign]:
    def make(label: str = "SB 1256", position: Position = Position.SUPPORT, **kwargs: Any) -> Campaign:
        with session_scope() as session:
            bill = bill_by_label(session, label)
            kwargs.setdefault("talking_points", "Keeps decisions about local land use with local councils.")
            kwargs.setdefault("status", CampaignStatus.ACTIVE)
            return create_campaign(session, bill_id=bill.id or 0, position=position, **kwargs)

    return make


@pytest.fixture()
def make_official(loaded_data: dict[str, int]) -> Callable[..., User]:
    """An official of a city (Sacramento by default); plainly fictional names."""

    def make(
        *,
        may_sign: bool = True,
        geoid: str = SACRAMENTO,
        title: str = "Mayor",
        role: Role = Role.OFFICIAL,
        name: str | None = None,
    ) -> User:
        suffix = uuid.uuid4().hex[:6]
        with session_scope() as session:
            return create_user(
                session,
                role=role,
                city_geoid=geoid if role is Role.OFFICIAL else None,
                may_sign=may_sign and role is Role.OFFICIAL,
                title=title if role is Role.OFFICIAL else "",
                name=name or f"Alex Example {suffix}",
            )

    return make
