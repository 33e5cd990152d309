"""Fixtures for the participation tests: people of each role, campaigns made (and closed) per test, and letters
written straight into the tables, so that any history can be built without rendering PDFs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import service as campaigns
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.db import session_scope, utcnow
from advocacy.directory.models import Bill, City
from advocacy.letters.models import (
    IN_FLIGHT,
    Channel,
    Delivery,
    DeliveryStatus,
    Letter,
    LetterStatus,
    SignatureRequest,
)
from advocacy.mail import MemoryMailer, reset_mailer
from tests.helpers import DEFAULT_CITY_GEOID, create_user


@pytest.fixture()
def people(loaded_data: Any) -> dict[str, User]:
    with session_scope() as session:
        return {
            "manager": create_user(session, role=Role.REGIONAL_MANAGER),
            "other_manager": create_user(
                session, role=Role.REGIONAL_MANAGER, division_slug=other_division_slug(session)
            ),
            "official": create_user(session, role=Role.OFFICIAL),
            "staff": create_user(session, role=Role.STAFF),
        }


def other_division_slug(session: Session) -> str:
    from advocacy.directory.models import Division

    home = sacramento(session).division_id
    division = session.exec(select(Division).where(Division.id != home).order_by(col(Division.id))).first()
    assert division is not None
    return division.slug


def sacramento(session: Session) -> City:
    city = session.exec(select(City).where(City.geoid == DEFAULT_CITY_GEOID)).one()
    return city


def division_cities(session: Session, limit: int | None = None) -> list[City]:
    """Member cities of Sacramento's division, by name (the regional manager fixture's division)."""
    home = sacramento(session).division_id
    query = select(City).where(City.division_id == home, col(City.is_member)).order_by(col(City.name))
    cities = list(session.exec(query).all())
    return cities[:limit] if limit else cities


def new_campaign(session: Session, staff: User | None = None) -> Campaign:
    bill = session.exec(select(Bill).where(col(Bill.committee_id).is_not(None)).order_by(col(Bill.id))).first()
    assert bill is not None
    return campaigns.create_campaign(
        session,
        bill_id=bill.id,
        position="Oppose",
        created_by=staff,
        title=f"Participation test {uuid.uuid4().hex[:8]}",
    )


def close(session: Session, campaign_id: int) -> None:
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    campaign.status = CampaignStatus.CLOSED
    session.add(campaign)
    session.commit()


@pytest.fixture()
def campaign(people: dict[str, User]) -> Iterator[Campaign]:
    """An active campaign for one test, closed afterwards so that later tests do not see it."""
    with session_scope() as session:
        made = new_campaign(session, people["staff"])
    yield made
    with session_scope() as session:
        close(session, made.id or 0)


def add_letter(
    session: Session,
    campaign_id: int,
    city_id: int,
    author: User,
    status: LetterStatus,
    *,
    deliveries: list[DeliveryStatus] = (),  # type: ignore[assignment]
    signature_requested: bool = False,
) -> Letter:
    letter = Letter(
        campaign_id=campaign_id,
        city_id=city_id,
        stage=f"test:{uuid.uuid4().hex}",
        status=status,
        prepared_by_id=author.id or 0,
        queued_at=None if status is LetterStatus.DRAFT else utcnow(),
        # These rows stand for a state, not a letter a worker could finish (no PDF, no recipients to mail): keep
        # "queued" and "rendered" ones away from the sweep that the letters tests run on the same database.
        next_step_at=utcnow() + timedelta(days=3650) if status in IN_FLIGHT else None,
    )
    session.add(letter)
    session.flush()
    for n, delivery_status in enumerate(deliveries):
        channel = Channel.PORTAL if delivery_status.value.startswith("portal") else Channel.EMAIL
        session.add(
            Delivery(
                letter_id=letter.id or 0,
                channel=channel,
                recipient_key=f"test:{n}",
                name=f"R {n}",
                reason="test",
                status=delivery_status,
            )
        )
    if signature_requested:
        session.add(SignatureRequest(letter_id=letter.id or 0, requested_by_id=author.id or 0))
    session.commit()
    return letter


@pytest.fixture()
def mailer() -> Iterator[MemoryMailer]:
    memory = MemoryMailer()
    reset_mailer(memory)
    yield memory
    reset_mailer(None)
