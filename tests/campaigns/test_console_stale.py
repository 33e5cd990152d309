"""Letters follow the bill: an amendment or a move to the next committee opens the campaign's next stage, lists the
out-of-date letters, e-mails each signer a re-confirm link, and nothing is sent again until the signer presses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from litestar.testing import TestClient
from sqlmodel import col, select

from advocacy.accounts.models import User
from advocacy.campaigns import agenda, stale, stats, wizard
from advocacy.campaigns.console_models import Alert, AlertRun, CampaignStage, Hearing, ReconfirmRequest, RunKind
from advocacy.campaigns.hearings import HearingInput, create_hearing
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import stage_of
from advocacy.db import session_scope
from advocacy.letters import service as letters
from advocacy.letters.models import Letter, LetterStatus
from advocacy.mail import MemoryMailer
from tests.campaigns.conftest import committee_named
from tests.helpers import csrf_token


def _campaign_on(bill_id: int, staff: User, city: str) -> int:
    with session_scope() as session:
        campaign = wizard.start_campaign(session, wizard.BillStep(bill_id=bill_id), staff)
        wizard.update_audience(session, campaign.id or 0, division_ids=[], cities=[city], roles=[])
        wizard.update_deadline(
            session, campaign.id or 0, wizard.DeadlineStep(override_date=date.today() + timedelta(days=10))
        )
        wizard.launch(session, campaign.id or 0, staff)
        return campaign.id or 0


def _letters(campaign_id: int) -> list[Letter]:
    with session_scope() as session:
        return list(session.exec(select(Letter).where(Letter.campaign_id == campaign_id).order_by(Letter.id)).all())


def test_from_amendment_to_reconfirmed_letter(
    app: Any,
    worker: Any,
    memory_mailer: MemoryMailer,
    staff: User,
    own_bill: Callable[..., Any],
    make_official: Callable[..., User],
) -> None:
    signer = make_official("Weed", may_sign=True)
    bill = own_bill()
    campaign_id = _campaign_on(bill.id, staff, "Weed")
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        first_stage = stage_of(session, campaign)  # type: ignore[arg-type]
        letters.send_letter(session, campaign_id, session.get(User, signer.id) or signer, "Our downtown plan.")
    worker.drain()
    [sent] = _letters(campaign_id)
    assert sent.status is LetterStatus.SENT and sent.stage == first_stage.key
    memory_mailer.sent.clear()

    # Staff record the amendment.
    with session_scope() as session:
        report = agenda.update_agenda(
            session, bill.id, agenda.AgendaInput(label="", version_date=date(2026, 4, 20)), staff
        )
        assert len(report.stage_changes) == 1 and "1 letter(s) to re-confirm" in report.stage_changes[0]
        campaign = session.get(Campaign, campaign_id)
        new_stage = stage_of(session, campaign)  # type: ignore[arg-type]
        assert new_stage.key != first_stage.key and new_stage.key.endswith("@2026-04-20")
        rows = session.exec(
            select(CampaignStage).where(CampaignStage.campaign_id == campaign_id).order_by(col(CampaignStage.id))
        ).all()
        assert [r.stage_key for r in rows] == [first_stage.key, new_stage.key] and rows[0].closed_at is not None
        assert "amended" in rows[1].reason
        found = stats.campaign_stats(session, campaign)  # type: ignore[arg-type]
        assert [letter.id for letter, _ in found.out_of_date] == [sent.id]
    worker.drain()
    [reconfirm_mail] = [m for m in memory_mailer.sent if "re-confirm" in m.subject]
    [personalization] = reconfirm_mail.personalizations
    assert personalization.to[0].email == signer.email and "List-Unsubscribe" not in personalization.headers
    link = personalization.substitutions["-action_link-"]
    path = re.sub(r"^https?://[^/]+", "", link)
    assert len(_letters(campaign_id)) == 1  # nothing re-sent by itself

    with TestClient(app) as browser:
        page = browser.get(path)
        assert page.status_code == 200 and "Re-confirm and send" in page.text and "Our downtown plan." in page.text
        assert len(_letters(campaign_id)) == 1  # the GET sent nothing
        pressed = browser.post(path, data={"_csrf_token": csrf_token(browser)}, follow_redirects=False)
        # Then the signer follows the letter under the campaign's action link: the press logs no one in.
        assert pressed.status_code == 303 and re.fullmatch(r"/act/[\w.-]+/letter", pressed.headers["location"])
        assert "advocacy_session" not in pressed.headers.get("set-cookie", "")
        again = browser.post(path, data={"_csrf_token": csrf_token(browser)}, follow_redirects=False)
        assert again.headers["location"] == pressed.headers["location"]  # a second press finds the same letter
    worker.drain()
    old, new = _letters(campaign_id)
    assert old.status is LetterStatus.SUPERSEDED and new.status is LetterStatus.SENT
    assert new.stage == new_stage.key and new.local_note == "Our downtown plan." and new.signer_id == signer.id
    with session_scope() as session:
        request = session.exec(select(ReconfirmRequest).where(ReconfirmRequest.old_letter_id == old.id)).one()
        assert request.confirmed_letter_id == new.id and request.notified_at is not None
        runs = session.exec(
            select(AlertRun).where(AlertRun.campaign_id == campaign_id).order_by(col(AlertRun.id))
        ).all()
        assert [r.kind for r in runs] == [RunKind.LAUNCH, RunKind.RECONFIRM]
        assert session.exec(select(Alert).where(Alert.run_id == runs[1].id)).one().reconfirm_id == request.id


def test_a_move_to_the_next_committee_follows_its_hearing_and_deadline(
    memory_mailer: MemoryMailer,
    staff: User,
    own_bill: Callable[..., Any],
    make_official: Callable[..., User],
) -> None:
    make_official("Sand City", may_sign=False)
    bill = own_bill(committee="Assembly Housing and Community Development")
    campaign_id = _campaign_on(bill.id, staff, "Sand City")
    with session_scope() as session:
        from advocacy.campaigns.committee_rules import seed_rules

        seed_rules(session)
        senate_housing = committee_named(session, "Senate", "Housing")
        # The stage follows the committee's NEXT hearing: hearings other tests (or the demo) scheduled for Senate
        # Housing are moved into the past, so this test's hearing is the next one whatever ran before.
        for other in session.exec(select(Hearing).where(Hearing.committee_id == senate_housing.id)).all():
            other.hearing_date = date(2020, 1, 7)
            session.add(other)
        session.commit()
        hearing = create_hearing(
            session, HearingInput(senate_housing.id or 0, date(2027, 6, 9), "13:30", "2100"), staff
        )
        # Overridden deadlines stay; clear the override so the new committee's hearing sets it.
        wizard.update_deadline(session, campaign_id, wizard.DeadlineStep())
        report = agenda.update_agenda(session, bill.id, agenda.AgendaInput(label="", committee="Senate Housing"), staff)
        assert "now Senate Committee on Housing" in report.stage_changes[0]
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.deadline is not None
        assert stale.current_stage_row(session, campaign_id).hearing_id == hearing.id  # type: ignore[union-attr]
        # Senate Housing: noon on the Wednesday before the hearing (June 9, 2027 is a Wednesday: June 2).
        from advocacy.campaigns.deadlines import to_local

        assert to_local(campaign.deadline).date() == date(2027, 6, 2) and to_local(campaign.deadline).hour == 12
        # No letter was sent at the first stage: nobody to re-confirm, so no mailing.
        assert not session.exec(select(ReconfirmRequest).where(ReconfirmRequest.campaign_id == campaign_id)).all()
        assert "moved to" in stale.current_stage_row(session, campaign_id).reason  # type: ignore[union-attr]


def test_the_same_stage_twice_changes_nothing(
    staff: User, own_bill: Callable[..., Any], make_official: Callable[..., User]
) -> None:
    make_official("Colfax")
    bill = own_bill()
    campaign_id = _campaign_on(bill.id, staff, "Colfax")
    with session_scope() as session:
        report = agenda.update_agenda(session, bill.id, agenda.AgendaInput(label="", hot=True), staff)
        assert report.stage_changes == []
        assert len(stale.stages_of(session, campaign_id)) == 1
