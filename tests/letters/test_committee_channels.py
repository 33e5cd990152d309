"""The committee's letter rule, kept by staff on the console, decides how the committee itself gets the letter:
e-mail (when accepted and an inbox is known), the Position Letter Portal, or paper (a mail packet and "mark as
mailed"). Without a rule the directory's ``letter_channel`` decides, as before. Members are e-mailed either way."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, delete, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import stats
from advocacy.campaigns.committee_rules import RuleInput, save_rule
from advocacy.campaigns.console_models import CommitteeRule
from advocacy.campaigns.models import Campaign, Position
from advocacy.campaigns.service import create_campaign, stage_of
from advocacy.db import session_scope
from advocacy.directory.models import Bill, Chamber, Committee, CommitteeMembership, Legislator
from advocacy.letters.compose import california_date
from advocacy.letters.models import Channel, Delivery, DeliveryStatus, Letter, LetterStatus
from advocacy.letters.recipients import Recipient, compute_recipients
from advocacy.letters.service import send_letter
from tests.helpers import api_token, bearer, create_user, csrf_token, login
from tests.letters.conftest import LOS_ANGELES, SACRAMENTO, city_by_geoid

INBOX = "letters.committee@asm.test.example"


@pytest.fixture()
def committee_with_rule(loaded_data: Any) -> Iterator[Callable[..., tuple[Campaign, Committee]]]:
    """A scratch committee (three real Assembly members, the first its chair) hearing a scratch bill, a campaign on
    it, and, unless ``rule`` is None, the committee's letter rule with these channels. Removed afterwards."""
    made: list[tuple[int, int, int]] = []

    def make(
        *, rule: tuple[bool, bool, bool] | None, email: str = "", letter_channel: str = "portal"
    ) -> tuple[Campaign, Committee]:
        suffix = uuid.uuid4().hex[:8]
        with session_scope() as session:
            committee = Committee(
                ocd_id=f"ocd-organization/test-rules-{suffix}",
                name=f"Rules Test {suffix}",
                chamber=Chamber.ASSEMBLY,
                letter_channel=letter_channel,
                email=email,
            )
            session.add(committee)
            session.flush()
            people = session.exec(
                select(Legislator)
                .where(Legislator.chamber == Chamber.ASSEMBLY)
                .order_by(col(Legislator.district))
                .limit(3)
            ).all()
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
                number=80000 + int(suffix[:4], 16) % 9999,
                origin_chamber=Chamber.ASSEMBLY,
                title=f"Scratch bill {suffix}",
                committee_id=committee.id,
            )
            session.add(bill)
            session.commit()
            if rule is not None:
                portal, email_ok, mail = rule
                save_rule(
                    session,
                    committee.id or 0,
                    RuleInput(
                        kind="business_days",
                        days=5,
                        source_url="https://committee.test.example/position-letters",
                        accepts_portal=portal,
                        accepts_email=email_ok,
                        accepts_mail=mail,
                    ),
                    None,
                )
            campaign = create_campaign(session, bill_id=bill.id or 0, position=Position.SUPPORT)
            made.append((committee.id or 0, bill.id or 0, campaign.id or 0))
            return campaign, committee

    yield make
    with session_scope() as session:
        for committee_id, bill_id, campaign_id in made:
            letters = select(Letter.id).where(Letter.campaign_id == campaign_id)
            session.exec(delete(Delivery).where(col(Delivery.letter_id).in_(letters)))  # type: ignore[call-overload]
            session.exec(delete(Letter).where(col(Letter.campaign_id) == campaign_id))  # type: ignore[call-overload]
            session.exec(delete(Campaign).where(col(Campaign.id) == campaign_id))  # type: ignore[call-overload]
            session.exec(delete(Bill).where(col(Bill.id) == bill_id))  # type: ignore[call-overload]
            session.exec(
                delete(CommitteeMembership).where(  # type: ignore[call-overload]
                    col(CommitteeMembership.committee_id) == committee_id
                )
            )
            session.exec(delete(CommitteeRule).where(col(CommitteeRule.committee_id) == committee_id))  # type: ignore[call-overload]
            session.exec(delete(Committee).where(col(Committee.id) == committee_id))  # type: ignore[call-overload]
        session.commit()


def committee_recipient(campaign: Campaign, committee: Committee) -> Recipient:
    with session_scope() as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        bill = session.get(Bill, row.bill_id)
        assert bill is not None
        found = compute_recipients(session, row, bill, city_by_geoid(session, SACRAMENTO), stage_of(session, row, bill))
    [inbox] = [r for r in found if r.key == f"committee:{committee.id}"]
    members = [r for r in found if r.legislator and "Rules Test" in r.reason]
    assert len(members) == 3 and all(m.channel is Channel.EMAIL for m in members)  # members: e-mailed as ever
    return inbox


@pytest.mark.parametrize(
    ("rule", "email", "letter_channel", "channel", "reason"),
    [
        # e-mail accepted and an inbox known: e-mail, even where the directory says "portal only"
        ((True, True, True), INBOX, "portal_only", Channel.EMAIL, "takes letters by e-mail (committee rule)"),
        # e-mail accepted but no inbox on file: the portal
        ((True, True, False), "", "email", Channel.PORTAL, "Position Letter Portal (committee rule)"),
        # portal and mail (the common seeded rule): the portal, even where the directory says "email"
        ((True, False, True), INBOX, "email", Channel.PORTAL, "Position Letter Portal (committee rule)"),
        # paper only
        ((False, False, True), INBOX, "email", Channel.MAIL, "takes letters only by mail (committee rule)"),
        # e-mail only and no inbox: an e-mail delivery that fails visibly for staff to fix
        ((False, True, False), "", "portal", Channel.EMAIL, "no committee address is on file"),
        # no rule: the directory decides, as before
        (None, INBOX, "email", Channel.EMAIL, "Committee now hearing the bill"),
        (None, INBOX, "portal_only", Channel.PORTAL, "only through the Position Letter Portal"),
    ],
)
def test_the_committee_rule_decides_the_committee_channel(
    committee_with_rule: Any,
    rule: tuple[bool, bool, bool] | None,
    email: str,
    letter_channel: str,
    channel: Channel,
    reason: str,
) -> None:
    campaign, committee = committee_with_rule(rule=rule, email=email, letter_channel=letter_channel)
    inbox = committee_recipient(campaign, committee)
    assert inbox.channel is channel and reason in inbox.reason
    assert inbox.email == (email if channel is Channel.EMAIL else "")


def test_an_email_rule_sends_the_committee_its_copy_in_the_same_call(
    committee_with_rule: Any, worker: Any, sendgrid: Any, make_official: Callable[..., User]
) -> None:
    campaign, committee = committee_with_rule(rule=(True, True, False), email=INBOX, letter_channel="portal_only")
    with session_scope() as session:
        letter_id = send_letter(session, campaign.id or 0, make_official(), "").id or 0
    worker.drain()
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.SENT
        inbox = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.committee_id == committee.id)
        ).one()
        assert inbox.channel is Channel.EMAIL and inbox.status is DeliveryStatus.ACCEPTED
    [payload] = [
        p for p in sendgrid.accepted if p["personalizations"][-1]["custom_args"].get("letter_id") == str(letter_id)
    ]
    assert INBOX in [p["to"][0]["email"] for p in payload["personalizations"]]


def test_a_mail_only_committee_gets_a_packet_and_mark_as_mailed(
    committee_with_rule: Any, client: Any, worker: Any, memory_mailer: Any, make_official: Callable[..., User]
) -> None:
    campaign, committee = committee_with_rule(rule=(False, False, True), email=INBOX, letter_channel="email")
    mayor, clerk = make_official(), make_official(may_sign=False, title="City Clerk")

    # The action page says how the committee gets it, and why.
    login(client, mayor)
    action = client.get(f"/campaigns/{campaign.id}").text
    assert "By mail (a person prints and mails the PDF)" in action
    assert "takes letters only by mail (committee rule)" in action

    with session_scope() as session:
        letter_id = send_letter(session, campaign.id or 0, mayor, "").id or 0
    worker.drain()
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.SENT  # the e-mails went; paper waits for a person
        paper = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.channel == Channel.MAIL)
        ).one()
        assert paper.status is DeliveryStatus.MAIL_PENDING and paper.email == "" and paper.committee_id == committee.id
    [email] = memory_mailer.sent
    assert INBOX not in [p.to[0].email for p in email.personalizations]  # the committee is not e-mailed

    # The letter page: the packet (the PDF to print, the committee's mailing address) and the form.
    page = client.get(f"/letters/{letter_id}").text
    assert "Packet to mail" in page and "Mark as mailed" in page and "To print and mail" in page
    assert committee.full_name in page and "1021 O Street" in page and "Sacramento, CA 95814" in page
    assert f'href="/letters/{letter_id}/pdf"' in page and "https://committee.test.example/position-letters" in page

    url = f"/letters/{letter_id}/deliveries/{paper.id}/mailed"
    today = california_date()

    def unchanged() -> None:
        with session_scope() as session:
            row = session.get(Delivery, paper.id)
            assert row is not None and row.status is DeliveryStatus.MAIL_PENDING and row.mailed_on is None

    # Refused to those who may not: a regional manager (no such page for them), an official of another city.
    with session_scope() as session:
        manager = create_user(session, role=Role.REGIONAL_MANAGER)
    login(client, manager)
    assert client.post(url, data={"mailed_on": today.isoformat(), "_csrf_token": csrf_token(client)}).status_code == 403
    login(client, make_official(geoid=LOS_ANGELES))
    assert client.post(url, data={"mailed_on": today.isoformat(), "_csrf_token": csrf_token(client)}).status_code == 404
    unchanged()

    # Bad input changes nothing and says why.
    login(client, clerk)
    for bad, message in [
        ("", "like 2026-03-16"),
        ("16/03/2026", "like 2026-03-16"),
        ((today + timedelta(days=1)).isoformat(), "cannot be in the future"),
        ((today - timedelta(days=30)).isoformat(), "cannot have been mailed before"),
    ]:
        answer = client.post(url, data={"mailed_on": bad, "_csrf_token": csrf_token(client)})
        assert answer.status_code == 422 and message in answer.text, bad
        unchanged()
    other_letter = client.post(
        f"/letters/{letter_id + 100000}/deliveries/{paper.id}/mailed",
        data={"mailed_on": today.isoformat(), "_csrf_token": csrf_token(client)},
    )
    assert other_letter.status_code == 404
    unchanged()

    # Another official of the city marks it mailed; the same day again is fine, another day is refused.
    done = client.post(
        url, data={"mailed_on": today.isoformat(), "_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert done.status_code == 303
    again = client.post(
        url, data={"mailed_on": today.isoformat(), "_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert again.status_code == 303
    yesterday = (today - timedelta(days=1)).isoformat()
    changed = client.post(url, data={"mailed_on": yesterday, "_csrf_token": csrf_token(client)})
    assert changed.status_code == 422
    with session_scope() as session:
        row = session.get(Delivery, paper.id)
        assert row is not None and row.status is DeliveryStatus.MAILED and row.mailed_on == today
        assert row.submitted_by_id == clerk.id and row.submitted_at is not None
    page = client.get(f"/letters/{letter_id}").text
    assert f"Mailed to {committee.full_name} on {today:%B} {today.day}, {today.year}" in page
    assert f"recorded by {clerk.name}" in page and "Mark as mailed" not in page

    # The API shows it; the campaign's staff page counts it.
    with session_scope() as session:
        token = api_token(session, clerk)
        found = stats.campaign_stats(session, session.get(Campaign, campaign.id))  # type: ignore[arg-type]
    answer = client.get(f"/api/v1/letters/{letter_id}", headers=bearer(token)).json()
    [mailed] = [r for r in answer["recipients"] if r["channel"] == "mail"]
    assert mailed["status"] == "mailed" and mailed["mailed_on"] == today.isoformat()
    assert found.by_a_person == {"mailed": 1}
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
    with session_scope() as session:
        staff_token = api_token(session, staff)
    counted = client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=bearer(staff_token)).json()
    assert counted["portal_and_mail"] == {"mailed": 1}
    login(client, staff)
    console = client.get(f"/console/campaigns/{campaign.id}").text
    assert "Portal and mail deliveries" in console and '<th scope="row">Mailed</th><td class="num">1</td>' in console


def test_a_mail_packet_waiting_is_counted_for_staff(
    committee_with_rule: Any, worker: Any, memory_mailer: Any, make_official: Callable[..., User]
) -> None:
    campaign, _ = committee_with_rule(rule=(False, False, True))
    with session_scope() as session:
        letter_id = send_letter(session, campaign.id or 0, make_official(), "").id or 0
    worker.drain()
    with session_scope() as session:
        found = stats.campaign_stats(session, session.get(Campaign, campaign.id))  # type: ignore[arg-type]
    assert found.by_a_person == {"mail_pending": 1}
    assert [(lid, label) for lid, _, label in found.waiting_for_a_person] == [(letter_id, "To print and mail")]
