"""Fixtures for the CitiPAC tests: people of every role (a treasurer among them), a memory mailer, and contributors.

The database lives for the whole run, so every test makes its own contributors (unique names) and works in its own
calendar years (rules sum by contributor and year; elections are global, so election tests use years nobody else
uses). Service calls pass ``today=`` so that any year can be tested.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from advocacy.accounts import service as accounts
from advocacy.accounts.models import Role, User
from advocacy.citipac import service
from advocacy.citipac.models import Contributor
from advocacy.citipac.rules import ContributorKind
from advocacy.db import session_scope
from advocacy.mail import MemoryMailer, reset_mailer
from tests.helpers import create_user


def make_treasurer(session: Any) -> User:
    suffix = uuid.uuid4().hex[:8]
    return accounts.create_user(
        session,
        email=f"treasurer-{suffix}@league.example",
        name=f"Terry Treasurer {suffix}",
        role=Role.STAFF,
        is_treasurer=True,
    )


@pytest.fixture()
def people(loaded_data: Any) -> dict[str, User]:
    """One committed user per kind of caller, plus a second official in another city."""
    with session_scope() as session:
        return {
            "treasurer": make_treasurer(session),
            "official": create_user(session, role=Role.OFFICIAL, title="Council Member"),
            "other_official": create_user(session, role=Role.OFFICIAL, city_geoid="0644000"),
            "regional_manager": create_user(session, role=Role.REGIONAL_MANAGER),
            "staff": create_user(session, role=Role.STAFF),
            "admin": create_user(session, role=Role.ADMIN),
        }


@pytest.fixture()
def treasurer(people: dict[str, User]) -> User:
    return people["treasurer"]


@pytest.fixture()
def mailer() -> Iterator[MemoryMailer]:
    memory = MemoryMailer()
    reset_mailer(memory)
    yield memory
    reset_mailer(None)


def new_contributor(
    treasurer: User,
    *,
    kind: ContributorKind = ContributorKind.INDIVIDUAL,
    complete: bool = True,
    email: str = "",
    **extra: Any,
) -> Contributor:
    """A committed contributor with a unique name; ``complete`` fills everything §85700 needs."""
    suffix = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {"kind": kind.value}
    if kind is ContributorKind.INDIVIDUAL:
        fields.update(first_name="Pat", last_name=f"Example-{suffix}")
        if complete:
            fields.update(occupation="Engineer", employer="Example Works LLC")
    elif kind is not ContributorKind.ANONYMOUS:
        fields.update(organization_name=f"Example Org {suffix}")
        if complete and kind is ContributorKind.COMMITTEE:
            fields.update(committee_sos_id="1234567")
    if complete:
        fields.update(street="100 Example Street", city="Sacramento", zip_code="95814")
    fields.update(email=email, **extra)
    with session_scope() as session:
        return service.create_contributor(session, treasurer, service.ContributorInput(**fields))


def record(
    treasurer: User,
    contributor_id: int,
    amount: str,
    on: date,
    *,
    method: str = "check",
    today: date | None = None,
    **extra: Any,
) -> service.RecordResult:
    with session_scope() as session:
        return service.record_contribution(
            session,
            treasurer,
            service.ContributionInput(
                amount=amount, method=method, received_on=on, contributor_id=contributor_id, **extra
            ),
            today=today or date(on.year + 1, 12, 31),
        )
