"""Campaigns: the committee stage a letter is for, the demo campaigns on real bills, and the campaign pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.demo import create_demo_campaigns
from advocacy.campaigns.models import Campaign, CampaignStatus, Position, TargetGroup
from advocacy.campaigns.service import create_campaign, stage_of
from advocacy.db import session_scope
from advocacy.directory.models import Bill, City, CommitteeMembership
from advocacy.directory.service import committee_members
from tests.helpers import create_user, login


@pytest.fixture()
def make_official_in(loaded_data: dict[str, int]) -> Callable[..., User]:
    """A user of ``role`` (an official of Sacramento by default, who may sign)."""

    def make(role: Role = Role.OFFICIAL) -> User:
        with session_scope() as session:
            return create_user(
                session, role=role, may_sign=role is Role.OFFICIAL, title="Mayor" if role is Role.OFFICIAL else ""
            )

    return make


def bill(session: Any, measure: str, number: int) -> Bill:
    return session.exec(select(Bill).where(Bill.measure_type == measure, Bill.number == number)).one()


def test_stage_names_the_committee_the_governor_or_the_floor_at_the_bills_version(loaded_data: Any) -> None:
    with session_scope() as session:
        sb1256 = bill(session, "SB", 1256)
        support = create_campaign(session, bill_id=sb1256.id or 0, position=Position.SUPPORT)
        stage = stage_of(session, support)
        assert stage.committee is not None and stage.committee.id == sb1256.committee_id
        assert stage.label == "Assembly Committee on Local Government"
        version = sb1256.version_date or sb1256.introduced_date
        assert stage.key == f"committee:{stage.committee.ocd_id}@{version}"

        sb1426 = bill(session, "SB", 1426)
        request = create_campaign(session, bill_id=sb1426.id or 0, position=Position.REQUEST_FOR_SIGNATURE)
        assert request.targets == [TargetGroup.GOVERNOR, TargetGroup.AUTHOR, TargetGroup.OWN_LEGISLATORS]
        assert request.letter_kind == "request_signature"
        governor = stage_of(session, request)
        assert governor.committee is None and governor.key.startswith("governor@")

        enrolled = bill(session, "AB", 2320)  # no committee: on the floor or done with committees
        floor = create_campaign(session, bill_id=enrolled.id or 0, position=Position.OPPOSE)
        assert stage_of(session, floor).key.startswith("floor@")


def test_demo_campaigns_use_real_bills_before_committees_with_members(loaded_data: Any) -> None:
    with session_scope() as session:
        first = create_demo_campaigns(session)
        again = create_demo_campaigns(session)
        assert [c.id for c in first] == [c.id for c in again]  # running it twice creates nothing new
        assert 3 <= len(first) <= 4
        assert all(c.status is CampaignStatus.ACTIVE and c.title.startswith("Demo: ") for c in first)
        assert sum(c.position.to_governor for c in first) == 1
        for campaign in first:
            if campaign.position.to_governor:
                continue
            stage = stage_of(session, campaign)
            assert stage.committee is not None
            assert len(committee_members(session, stage.committee.id or 0)) >= 5
            assert "Rules" not in stage.committee.name


def test_campaign_pages(client: Any, make_official_in: Any) -> None:
    with session_scope() as session:
        sb1256 = bill(session, "SB", 1256)
        active = create_campaign(
            session,
            bill_id=sb1256.id or 0,
            position=Position.SUPPORT,
            title=f"Active {uuid.uuid4().hex[:6]}",
            talking_points="Local review works.",
        )
        draft = create_campaign(
            session,
            bill_id=sb1256.id or 0,
            position=Position.OPPOSE,
            title=f"Draft {uuid.uuid4().hex[:6]}",
            status=CampaignStatus.DRAFT,
        )
        sacramento = session.exec(select(City).where(City.geoid == "0664000")).one()
    official = make_official_in()
    login(client, official)
    listing = client.get("/campaigns")
    assert listing.status_code == 200 and active.title.split()[0] in listing.text
    assert f'href="/campaigns/{active.id}"' in listing.text and f'href="/campaigns/{draft.id}"' not in listing.text
    page = client.get(f"/campaigns/{active.id}")
    assert page.status_code == 200
    for expected in (
        "SB 1256",
        "Support",
        "Local review works.",
        "Assembly Committee on Local Government",
        'maxlength="1500"',
        "Send the letter",
        "The letter, exactly as it will be sent",
    ):
        assert expected in page.text, expected
    assert client.get(f"/campaigns/{draft.id}").status_code == 404

    staff = make_official_in(role=Role.STAFF)
    login(client, staff)
    assert client.get(f"/campaigns/{draft.id}").status_code == 200  # staff see drafts
    preview = client.get(f"/campaigns/{active.id}", params={"city": sacramento.id})
    assert "Your Senator (SD 8)" in preview.text and "Send the letter" not in preview.text

    manager = make_official_in(role=Role.REGIONAL_MANAGER)
    login(client, manager)
    assert client.get(f"/campaigns/{active.id}").status_code == 403


def test_committee_members_exist_for_the_demo_stages(loaded_data: Any) -> None:
    with session_scope() as session:
        for campaign in session.exec(select(Campaign).where(Campaign.title.startswith("Demo: "))).all():  # type: ignore[attr-defined]
            stage = stage_of(session, campaign)
            if stage.committee is not None:
                members = session.exec(
                    select(CommitteeMembership).where(CommitteeMembership.committee_id == stage.committee.id)
                ).all()
                assert any(m.role == "chair" for m in members)
