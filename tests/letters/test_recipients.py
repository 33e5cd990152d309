"""Who a letter goes to and why: computed from the real data (committee, author, the city's own legislators,
the Governor), each person once; portal-only committees get a portal delivery and a packet."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import col, delete, select

from advocacy.campaigns.models import Campaign, Position, TargetGroup
from advocacy.campaigns.service import CampaignError, create_campaign, stage_of
from advocacy.db import session_scope
from advocacy.directory.models import Bill, Chamber, Committee, CommitteeMembership, Legislator
from advocacy.directory.service import city_delegation
from advocacy.letters.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    IdempotencyKey,
    Letter,
    LetterStatus,
    SignatureRequest,
)
from advocacy.letters.recipients import Recipient, compute_recipients
from tests.helpers import csrf_token, login
from tests.letters.conftest import LOS_ANGELES, SACRAMENTO, bill_by_label, city_by_geoid


def recipients_for(campaign: Campaign, geoid: str) -> list[Recipient]:
    with session_scope() as session:
        campaign = session.get(Campaign, campaign.id)
        assert campaign is not None
        bill = session.get(Bill, campaign.bill_id)
        assert bill is not None
        city = city_by_geoid(session, geoid)
        return compute_recipients(session, campaign, bill, city, stage_of(session, campaign, bill))


def test_committee_author_and_own_legislators_each_with_a_reason(make_campaign: Any) -> None:
    found = recipients_for(make_campaign("SB 1256"), SACRAMENTO)
    reasons = {r.name: r.reason for r in found}
    # The committee itself first (here through the portal: it publishes no inbox), then its chair and members.
    assert found[0].key.startswith("committee:") and found[0].name == "Assembly Committee on Local Government"
    assert found[1].name == "The Honorable Juan Carrillo"
    assert found[1].reason == "Chair, Assembly Local Government"
    assert reasons["The Honorable Tri Ta"] == "Vice Chair, Assembly Local Government"
    assert reasons["The Honorable Brian Jones"] == "Author"
    assert reasons["The Honorable Maggy Krell"] == "Your Assembly member (AD 6, 61% of residents)"
    assert reasons["The Honorable Stephanie Nguyen"] == "Your Assembly member (AD 10, 39% of residents)"
    assert reasons["The Honorable Angelique Ashby"] == "Your Senator (SD 8)"
    assert all(r.channel is Channel.EMAIL and r.email.endswith(".ca.gov") for r in found if r.legislator)
    assert len({r.key for r in found}) == len(found)


def test_a_split_city_writes_to_every_legislator_with_residents(make_campaign: Any) -> None:
    found = recipients_for(make_campaign("SB 1256"), LOS_ANGELES)
    with session_scope() as session:
        city = city_by_geoid(session, LOS_ANGELES)
        expected = {m.legislator.id for m in city_delegation(session, city.id or 0) if m.share > 0}
    own = {r.legislator.id for r in found if r.legislator and "Your " in r.reason}
    assert own == expected and len(expected) > 10  # 13 Assembly and 6 Senate districts


def test_governor_requests_go_to_the_governor_and_no_committee(make_campaign: Any, fast_letters: Any) -> None:
    found = recipients_for(make_campaign("SB 1426", Position.REQUEST_FOR_VETO), SACRAMENTO)
    governor = [r for r in found if r.key == "governor"]
    assert governor and governor[0].email == fast_letters.governor_letters_address
    assert governor[0].reason == "Governor: request for veto"
    assert not any("Chair" in r.reason for r in found)


def test_targets_must_fit_the_position(loaded_data: Any) -> None:
    with session_scope() as session:
        bill = bill_by_label(session, "SB 1256")
        with pytest.raises(CampaignError, match="Governor"):
            create_campaign(session, bill_id=bill.id or 0, position=Position.SUPPORT, targets=[TargetGroup.GOVERNOR])
        with pytest.raises(CampaignError, match="unknown position"):
            create_campaign(session, bill_id=bill.id or 0, position="Neutral")
        with pytest.raises(CampaignError, match="letter kind"):
            create_campaign(session, bill_id=bill.id or 0, position=Position.SUPPORT, letter_kind="../../etc")


# --------------------------------------------------------------------------------------------------------------
# Scratch committees and bills (created and removed by the test: the shipped data stays as it was)


@pytest.fixture()
def scratch(loaded_data: Any) -> Iterator[Callable[..., tuple[Campaign, Committee]]]:
    """Make a committee (with real legislators as members) hearing a scratch bill, and a campaign on it."""
    made: list[tuple[int, int, int]] = []

    def make(
        *, channel: str, author: Legislator | None = None, members: list[Legislator] | None = None, email: str = ""
    ) -> tuple[Campaign, Committee]:
        suffix = uuid.uuid4().hex[:8]
        with session_scope() as session:
            committee = Committee(
                ocd_id=f"ocd-organization/test-{suffix}",
                name=f"Test Hearings {suffix}",
                chamber=Chamber.ASSEMBLY,
                letter_channel=channel,
                email=email,
            )
            session.add(committee)
            session.flush()
            people = members or list(
                session.exec(
                    select(Legislator)
                    .where(Legislator.chamber == Chamber.ASSEMBLY)
                    .order_by(col(Legislator.district))
                    .limit(3)
                ).all()
            )
            for index, legislator in enumerate(people):
                session.add(
                    CommitteeMembership(
                        committee_id=committee.id or 0,
                        legislator_id=legislator.id or 0,
                        role="chair" if index == 0 else "member",
                    )
                )
            bill = Bill(
                session="20252026",
                measure_type="AB",
                number=90000 + int(suffix[:4], 16) % 9999,
                origin_chamber=Chamber.ASSEMBLY,
                title=f"Scratch bill {suffix}",
                committee_id=committee.id,
                author_id=author.id if author else None,
                author_name=author.name if author else "",
            )
            session.add(bill)
            session.commit()
            campaign = create_campaign(session, bill_id=bill.id or 0, position=Position.SUPPORT)
            made.append((committee.id or 0, bill.id or 0, campaign.id or 0))
            return campaign, committee

    yield make
    with session_scope() as session:
        for committee_id, bill_id, campaign_id in made:
            letters = select(Letter.id).where(Letter.campaign_id == campaign_id)
            for model in (Delivery, SignatureRequest, IdempotencyKey):
                session.exec(delete(model).where(col(model.letter_id).in_(letters)))  # type: ignore[call-overload]
            session.exec(delete(Letter).where(col(Letter.campaign_id) == campaign_id))  # type: ignore[call-overload]
            session.exec(delete(Campaign).where(col(Campaign.id) == campaign_id))  # type: ignore[call-overload]
            session.exec(delete(Bill).where(col(Bill.id) == bill_id))  # type: ignore[call-overload]
            session.exec(
                delete(CommitteeMembership).where(  # type: ignore[call-overload]
                    col(CommitteeMembership.committee_id) == committee_id
                )
            )
            session.exec(delete(Committee).where(col(Committee.id) == committee_id))  # type: ignore[call-overload]
        session.commit()


def sacramento_assembly_member() -> Legislator:
    with session_scope() as session:
        city = city_by_geoid(session, SACRAMENTO)
        return max(
            (m for m in city_delegation(session, city.id or 0) if str(m.chamber) == "Assembly"), key=lambda m: m.share
        ).legislator


def test_a_person_named_for_three_reasons_is_written_to_once(scratch: Any) -> None:
    krell = sacramento_assembly_member()
    campaign, committee = scratch(channel="email", author=krell, members=[krell])
    found = recipients_for(campaign, SACRAMENTO)
    mine = [r for r in found if r.legislator and r.legislator.id == krell.id]
    assert len(mine) == 1
    assert mine[0].reasons == [
        f"Chair, Assembly {committee.name}",
        "Author",
        "Your Assembly member (AD 6, 61% of residents)",
    ]


def test_a_committee_inbox_gets_its_own_email(scratch: Any) -> None:
    campaign, committee = scratch(channel="email", email="committee.inbox@asm.test.example")
    found = recipients_for(campaign, SACRAMENTO)
    inbox = [r for r in found if r.key == f"committee:{committee.id}"]
    assert inbox and inbox[0].channel is Channel.EMAIL and inbox[0].email == "committee.inbox@asm.test.example"


def test_portal_only_committee_gets_a_packet_and_members_are_still_emailed(
    scratch: Any, client: Any, worker: Any, memory_mailer: Any, make_official: Any
) -> None:
    campaign, _ = scratch(channel="portal_only")
    found = recipients_for(campaign, SACRAMENTO)
    portal = [r for r in found if r.channel is Channel.PORTAL]
    assert len(portal) == 1 and "only through the Position Letter Portal" in portal[0].reason
    assert sum(1 for r in found if "Test Hearings" in r.reason and r.channel is Channel.EMAIL) == 3

    mayor, clerk = make_official(may_sign=True), make_official(may_sign=False, title="City Clerk")
    login(client, mayor)
    sent = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"action": "send", "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    letter_id = int(sent.headers["location"].rsplit("/", 1)[1])
    worker.drain()
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.SENT  # the e-mails went; the portal waits
        portal_delivery = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.channel == Channel.PORTAL)
        ).one()
        assert portal_delivery.status is DeliveryStatus.PORTAL_PENDING
    [email] = memory_mailer.sent
    assert all(p.to[0].email for p in email.personalizations)  # the portal is no e-mail recipient

    page = client.get(f"/letters/{letter_id}")
    assert "Position Letter Portal packet" in page.text and "Mark as submitted" in page.text
    assert letter.subject in page.text and f"/letters/{letter_id}/pdf" in page.text

    # Another official of the city records the portal's receipt; a different receipt later is refused.
    login(client, clerk)
    url = f"/letters/{letter_id}/deliveries/{portal_delivery.id}/submitted"
    # The delivery named under another letter's address is not found there, and nothing is recorded.
    wrong = client.post(
        f"/letters/{letter_id + 1000}/deliveries/{portal_delivery.id}/submitted",
        data={"receipt_number": "PLP-WRONG", "_csrf_token": csrf_token(client)},
    )
    assert wrong.status_code == 404
    with session_scope() as session:
        untouched = session.get(Delivery, portal_delivery.id)
        assert untouched is not None and untouched.status is DeliveryStatus.PORTAL_PENDING
    missing = client.post(url, data={"receipt_number": " ", "_csrf_token": csrf_token(client)})
    assert missing.status_code == 422 and "receipt number" in missing.text
    done = client.post(
        url, data={"receipt_number": "PLP-2026-00042", "_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert done.status_code == 303
    other = client.post(url, data={"receipt_number": "PLP-2026-99999", "_csrf_token": csrf_token(client)})
    assert other.status_code == 422 and "PLP-2026-00042" in other.text
    with session_scope() as session:
        stored = session.get(Delivery, portal_delivery.id)
        assert stored is not None and stored.status is DeliveryStatus.PORTAL_SUBMITTED
        assert stored.receipt_number == "PLP-2026-00042" and stored.submitted_by_id == clerk.id

    # An official of another city cannot see it at all.
    stranger = make_official(geoid=LOS_ANGELES)
    login(client, stranger)
    assert client.post(url, data={"receipt_number": "X1", "_csrf_token": csrf_token(client)}).status_code == 404


def test_an_amended_bill_makes_a_new_letter_due_and_supersedes_the_old(
    scratch: Any, worker: Any, memory_mailer: Any, make_official: Any
) -> None:
    from datetime import date

    from advocacy.letters.service import send_letter

    campaign, _ = scratch(channel="email", email="inbox@asm.test.example")
    mayor = make_official()
    with session_scope() as session:
        first = send_letter(session, campaign.id, mayor, "")
    worker.drain()
    with session_scope() as session:
        bill = session.get(Bill, campaign.bill_id)
        assert bill is not None
        bill.version_date = date(2026, 6, 1)  # amended: letters must refer to the current version
        session.add(bill)
        session.commit()
        second = send_letter(session, campaign.id, mayor, "")
    worker.drain()
    assert second.id != first.id and second.stage.endswith("@2026-06-01")
    with session_scope() as session:
        old, new = session.get(Letter, first.id), session.get(Letter, second.id)
        assert old is not None and new is not None
        assert old.status is LetterStatus.SUPERSEDED and new.status is LetterStatus.SENT
