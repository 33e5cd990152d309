"""Fixtures for the campaign console tests: staff and officials, draft campaigns on real bills, bills of our own
(tests that amend or move a bill never touch the shipped reference data), fresh queues, and mailers.

Each test restricts its campaign's audience to cities it names, so the officials other tests create elsewhere never
receive its alerts; officials a test creates in bulk are deactivated afterwards.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import agenda, wizard
from advocacy.campaigns.models import Campaign, Position
from advocacy.db import session_scope, utcnow
from advocacy.directory.models import Bill, City, Committee
from advocacy.mail import MemoryMailer, SendGridMailer, reset_mailer
from tests.helpers import create_user

# Tests use small member cities the other packages' tests do not touch ("Yreka", "Weed", "Dorris" …); a test that
# counts a campaign's recipients takes a city no other test uses, since the database lives for the whole run.
_numbers = itertools.count(int(uuid.uuid4().int % 40_000) + 50_000)  # >= TEST_BILL_NUMBERS


def city_named(session: Session, name: str) -> City:
    city = session.exec(select(City).where(City.name == name)).first()
    assert city is not None, name
    return city


def bill_by_label(session: Session, label: str) -> Bill:
    measure, _, number = label.partition(" ")
    bill = session.exec(select(Bill).where(Bill.measure_type == measure, Bill.number == int(number))).first()
    assert bill is not None, label
    return bill


def audience_size(campaign_id: int) -> int:
    """Officials a campaign's alerts go to now (other packages' tests may have officials in the same city)."""
    from advocacy.campaigns.alerts import plan_of
    from advocacy.campaigns.audience import audience_of, count_audience

    with session_scope() as session:
        return count_audience(session, audience_of(plan_of(session, campaign_id))).officials


def committee_named(session: Session, chamber: str, name: str) -> Committee:
    committee = session.exec(select(Committee).where(Committee.chamber == chamber, Committee.name == name)).first()
    assert committee is not None, f"{chamber} {name}"
    return committee


@pytest.fixture(autouse=True)
def _empty_queues() -> Iterator[None]:
    """No test inherits another's unprocessed messages (alerts, and letters queued by officials' presses)."""
    import dramatiq

    from advocacy.jobs import import_actors

    import_actors()
    broker = dramatiq.get_broker()

    def flush() -> None:
        for queue in ("alerts", "letters"):
            broker.declare_queue(queue)
            broker.flush(queue)
            if isinstance(broker, StubBroker):
                broker.flush(dq_name(queue))

    flush()
    yield
    flush()


TEST_BILL_NUMBERS = 50_000  # bills this package's tests create are numbered from here (shipped ones are far below)


def purge_test_bills() -> None:
    """Delete the bills the tests created, and everything hanging from them: the shipped data stays as loaded
    (other packages' tests count its bills)."""
    from sqlalchemy import delete

    from advocacy.campaigns.console_models import (
        AgendaItem,
        Alert,
        AlertRun,
        CampaignPlan,
        CampaignStage,
        CampaignVariant,
        LetterReview,
        ReconfirmRequest,
    )
    from advocacy.letters.models import Delivery, IdempotencyKey, Letter, SignatureRequest

    bills = select(Bill.id).where(col(Bill.number) >= TEST_BILL_NUMBERS)
    campaigns = select(Campaign.id).where(col(Campaign.bill_id).in_(bills))
    letter_ids = select(Letter.id).where(col(Letter.campaign_id).in_(campaigns))
    with session_scope() as session:
        for model in (Delivery, SignatureRequest, IdempotencyKey):
            session.execute(delete(model).where(col(model.letter_id).in_(letter_ids)))
        for model in (LetterReview, Alert, ReconfirmRequest, AlertRun, CampaignStage, CampaignVariant, CampaignPlan):
            session.execute(delete(model).where(col(model.campaign_id).in_(campaigns)))
        session.execute(delete(Letter).where(col(Letter.id).in_(letter_ids)))
        session.execute(delete(Campaign).where(col(Campaign.id).in_(campaigns)))
        session.execute(delete(AgendaItem).where(col(AgendaItem.bill_id).in_(bills)))
        session.execute(delete(Bill).where(col(Bill.number) >= TEST_BILL_NUMBERS))
        session.commit()


@pytest.fixture(autouse=True)
def _no_test_bills_left() -> Iterator[None]:
    yield
    purge_test_bills()


@pytest.fixture()
def staff(loaded_data: dict[str, int]) -> User:
    with session_scope() as session:
        return create_user(session, role=Role.STAFF, name=f"Casey Staff {uuid.uuid4().hex[:4]}")


@pytest.fixture()
def make_official(loaded_data: dict[str, int]) -> Callable[..., User]:
    def make(city: str = "Yreka", *, may_sign: bool = True, title: str = "Mayor") -> User:
        with session_scope() as session:
            geoid = city_named(session, city).geoid
            return create_user(
                session,
                role=Role.OFFICIAL,
                city_geoid=geoid,
                may_sign=may_sign,
                title=title,
                name=f"Robin Example {uuid.uuid4().hex[:5]}",
            )

    return make


@pytest.fixture()
def bulk_officials(loaded_data: dict[str, int]) -> Iterator[Callable[[str, int], list[int]]]:
    """``make(city, n)``: n officials of a city inserted at once (plainly fictional); deactivated afterwards."""
    made: list[int] = []

    def make(city: str, count: int) -> list[int]:
        tag = uuid.uuid4().hex[:8]
        with session_scope() as session:
            city_id = city_named(session, city).id
            session.execute(
                insert(User),
                [
                    {
                        "email": f"bulk-{tag}-{i}@officials.test.example",
                        "name": f"Pat Example {tag} {i}",
                        "role": Role.OFFICIAL,
                        "title": "Council Member",
                        "city_id": city_id,
                        "may_sign": False,
                        "is_treasurer": False,
                        "active": True,
                        "created_at": utcnow(),
                    }
                    for i in range(count)
                ],
            )
            session.commit()
            ids = list(session.exec(select(User.id).where(col(User.email).like(f"bulk-{tag}-%"))).all())
        made.extend(i for i in ids if i is not None)
        return [i for i in ids if i is not None]

    yield make
    if made:
        with session_scope() as session:
            session.execute(update(User).where(col(User.id).in_(made)).values(active=False))
            session.commit()


@pytest.fixture()
def memory_mailer() -> Iterator[MemoryMailer]:
    mailer = MemoryMailer()
    reset_mailer(mailer)
    yield mailer
    reset_mailer(None)


@pytest.fixture()
def sendgrid(fake_sendgrid: Any) -> Iterator[Any]:
    """The real SendGrid client (through SendGridMailer) against the local fake; yields the fake."""
    reset_mailer(SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=5.0))
    yield fake_sendgrid
    reset_mailer(None)


@pytest.fixture()
def make_campaign(staff: User) -> Callable[..., Campaign]:
    """A draft campaign on a real bill, its audience the given cities, its deadline a week away (by hand)."""

    def make(
        label: str = "SB 1256",
        position: Position = Position.SUPPORT,
        cities: list[str] | None = None,
        days: int = 7,
        **plan: Any,
    ) -> Campaign:
        with session_scope() as session:
            bill = bill_by_label(session, label)
            campaign = wizard.start_campaign(
                session,
                wizard.BillStep(
                    bill_id=bill.id or 0,
                    position=position.value,
                    title=f"Test {label} {uuid.uuid4().hex[:6]}",
                    talking_points="Keeps local decisions with local councils.",
                ),
                staff,
            )
            wizard.update_audience(session, campaign.id or 0, division_ids=[], cities=cities or ["Yreka"], roles=[])
            deadline = utcnow() + timedelta(days=days)
            local = deadline.replace(tzinfo=None)
            wizard.update_deadline(
                session,
                campaign.id or 0,
                wizard.DeadlineStep(
                    override_date=(local - timedelta(hours=8)).date(),
                    citipac_ask=plan.get("citipac_ask", False),
                    requires_approval=plan.get("requires_approval", False),
                ),
            )
            return wizard._campaign(session, campaign.id or 0)

    return make


@pytest.fixture()
def own_bill(staff: User) -> Callable[..., Bill]:
    """A bill of our own (not in the shipped data), before a real committee: safe to amend and move."""

    def make(committee: str = "Assembly Local Government", version: str = "2026-03-02") -> Bill:
        label = f"AB {next(_numbers)}"
        with session_scope() as session:
            agenda.import_rows(
                session,
                [
                    agenda.AgendaInput(
                        label=label,
                        title="Local government: test measure for the console",
                        author="Test Author",
                        committee=committee,
                        version_date=agenda._date(version),
                        position="Support",
                        talking_points="Point one.\nPoint two.",
                    )
                ],
                staff,
            )
            return bill_by_label(session, label)

    return make
