"""Fixtures for the testimony tests: people, a campaign on a real bill, a hearing of a real committee, a call.

Each test makes its own campaign and hearing (so its call never meets another test's) and reads the reference data
only. Hearing dates are relative to today, so the tests do not age; times are Pacific wall-clock times.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.console_models import Hearing
from advocacy.campaigns.hearings import HearingInput, create_hearing
from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.campaigns.service import create_campaign
from advocacy.db import session_scope, utcnow
from advocacy.directory.models import Bill, Chamber, Committee
from advocacy.mail import MemoryMailer, reset_mailer
from advocacy.testimony import service
from advocacy.testimony.calendar import to_pacific
from advocacy.testimony.models import TestimonyCall
from tests.helpers import create_user

TALKING_POINTS = (
    "Keeps decisions about local land use with the councils residents elect.\n"
    "Protects the local revenue that pays for police, fire and parks.\n"
    "Gives cities time to plan before new state rules take effect."
)


def pacific_today() -> date:
    return to_pacific(utcnow()).date()


@pytest.fixture(autouse=True)
def _empty_queues() -> Iterator[None]:
    """No test inherits another's queued nudges (on Redis they would even outlive the run)."""
    import dramatiq

    from advocacy.jobs import import_actors

    import_actors()
    broker = dramatiq.get_broker()
    broker.flush_all()
    yield
    broker.flush_all()


@pytest.fixture()
def mailer() -> Iterator[MemoryMailer]:
    memory = MemoryMailer()
    reset_mailer(memory)
    yield memory
    reset_mailer(None)


@pytest.fixture()
def committee(loaded_data: dict[str, int]) -> Committee:
    with session_scope() as session:
        found = session.exec(
            select(Committee).where(Committee.chamber == Chamber.ASSEMBLY, Committee.name == "Local Government")
        ).first()
        assert found is not None, "Assembly Local Government is in the shipped data"
        return found


@pytest.fixture()
def make_user(loaded_data: dict[str, int]) -> Callable[..., User]:
    def make(role: Role = Role.OFFICIAL, *, title: str = "Council Member", name: str | None = None) -> User:
        with session_scope() as session:
            return create_user(
                session,
                role=role,
                title=title if role is Role.OFFICIAL else "",
                name=name or f"Robin Example {uuid.uuid4().hex[:6]}",
            )

    return make


@pytest.fixture()
def staff(make_user: Callable[..., User]) -> User:
    return make_user(Role.STAFF)


@pytest.fixture()
def make_campaign(loaded_data: dict[str, int], staff: User) -> Callable[..., Campaign]:
    def make(position: Position = Position.SUPPORT, *, bill_index: int = 0, **kwargs: Any) -> Campaign:
        with session_scope() as session:
            bills = session.exec(select(Bill).order_by(col(Bill.id))).all()
            kwargs.setdefault("talking_points", TALKING_POINTS)
            kwargs.setdefault("status", CampaignStatus.ACTIVE)
            kwargs.setdefault("title", f"Testimony test {uuid.uuid4().hex[:6]}")
            return create_campaign(
                session, bill_id=bills[bill_index].id or 0, position=position, created_by=staff, **kwargs
            )

    return make


@pytest.fixture()
def make_hearing(committee: Committee, staff: User) -> Callable[..., Hearing]:
    def make(day: date | None = None, at: str = "09:00", room: str = "1021 O Street, Room 1100") -> Hearing:
        with session_scope() as session:
            return create_hearing(
                session,
                HearingInput(committee.id or 0, day or pacific_today() + timedelta(days=30), at, room),
                staff,
            )

    return make


@pytest.fixture()
def make_call(
    make_campaign: Callable[..., Campaign], make_hearing: Callable[..., Hearing], staff: User
) -> Callable[..., TestimonyCall]:
    def make(
        *,
        campaign: Campaign | None = None,
        hearing: Hearing | None = None,
        position: Position = Position.SUPPORT,
        deadline: datetime | None = None,
        **kwargs: Any,
    ) -> TestimonyCall:
        campaign = campaign or make_campaign(position)
        hearing = hearing or make_hearing()
        with session_scope() as session:
            return service.open_call(
                session,
                service.CallInput(
                    campaign_id=campaign.id or 0, hearing_id=hearing.id or 0, signup_deadline=deadline, **kwargs
                ),
                staff,
            )

    return make


def sign(user: User, call: TestimonyCall, role: str = "me_too", mode: str = "in_person", **kw: Any) -> Any:
    """Sign ``user`` up for ``call`` with the account's own name, title and city."""
    with session_scope() as session:
        statement = service.default_statement(session, user)
        return service.sign_up(
            session,
            call.id or 0,
            user,
            service.SignupInput(
                role, mode, statement.stated_name, statement.stated_title, statement.stated_city or "City of Nowhere"
            ),
            **kw,
        )
