"""Action alerts: batches of at most 1,000 personalizations per SendGrid call through a worker, every alert recorded,
signed one-click links bound to official and campaign until the deadline, RFC 8058 unsubscribe honoured at once,
reminders only to cities that have not acted, retries and refusals."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, update
from sqlmodel import col, select

from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import User, UserSession
from advocacy.campaigns import alerts, inbox, links, wizard
from advocacy.campaigns.console_models import Alert, AlertOptOut, AlertRun, AlertStatus, RunKind, RunStatus
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.db import session_scope, utcnow
from advocacy.letters import service as letters
from advocacy.mail import MemoryMailer, SendGridMailer
from tests.campaigns.conftest import audience_size, city_named


def launch(campaign: Campaign, staff: User) -> AlertRun:
    with session_scope() as session:
        return wizard.launch(session, campaign.id or 0, staff)


def recipients(mailer: MemoryMailer) -> list[str]:
    return sorted(p.to[0].email for email in mailer.sent for p in email.personalizations)


def test_launch_to_2500_officials_makes_three_sendgrid_calls(
    sendgrid: Any,
    worker: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    bulk_officials: Callable[[str, int], list[int]],
) -> None:
    ids = bulk_officials("Montague", 2500)
    campaign = make_campaign(cities=["Montague"])
    total = audience_size(campaign.id or 0)  # 2,500, plus any official another package's test made there
    assert 2500 <= total <= 3000
    run = launch(campaign, staff)
    worker.drain()
    # Only this campaign's calls: a run another test left queued may be sent by the same worker.
    ours = [
        r
        for r in sendgrid.requests
        if r.path == "/v3/mail/send" and json.loads(r.body)["custom_args"]["campaign_id"] == str(campaign.id)
    ]
    assert len(ours) == 3 and all(r.status == 202 for r in ours)
    accepted = [json.loads(r.body) for r in ours]
    assert sorted(len(p["personalizations"]) for p in accepted) == [total - 2000, 1000, 1000]
    first = accepted[0]["personalizations"][0]
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http\S+/unsubscribe/\d+\.[\w-]+>", first["headers"]["List-Unsubscribe"])
    link = first["substitutions"]["-action_link-"]
    token = link.rsplit("/act/", 1)[1]
    user_id, campaign_id, expires = links.read_action_token(token, utcnow())
    assert campaign_id == campaign.id and user_id in ids and abs((expires - campaign.deadline).total_seconds()) < 1
    body = accepted[0]["content"][0]["value"]
    assert "-action_link-" in body and "-unsubscribe_link-" in body and "CitiPAC" not in body
    with session_scope() as session:
        done = session.get(AlertRun, run.id)
        assert done is not None and done.status == RunStatus.DONE
        assert (done.total, done.sent, done.failed, done.mail_calls) == (total, total, 0, 3)
        recorded = session.exec(select(Alert).where(Alert.run_id == run.id)).all()
        assert len(recorded) == total and {a.status for a in recorded} == {AlertStatus.SENT}
        assert all(a.message_id and a.sent_at for a in recorded)
        assert set(ids) <= {a.user_id for a in recorded}


def test_process_run_is_idempotent_and_batches_by_the_given_size(
    staff: User,
    make_campaign: Callable[..., Campaign],
    bulk_officials: Callable[[str, int], list[int]],
) -> None:
    bulk_officials("Tulelake", 25)
    campaign = make_campaign(cities=["Tulelake"])
    total = audience_size(campaign.id or 0)
    run = launch(campaign, staff)
    mailer = MemoryMailer()
    with session_scope() as session:
        assert alerts.process_run(session, run.id or 0, mailer=mailer, batch_size=10) == total >= 25
        sizes = [len(e.personalizations) for e in mailer.sent]
        assert sizes == [10] * (total // 10) + ([total % 10] if total % 10 else [])
        assert alerts.process_run(session, run.id or 0, mailer=mailer) == 0  # a redelivered message: nothing twice
    assert len(mailer.sent) == len(sizes)


def test_one_click_unsubscribe_without_csrf_is_honoured_from_then_on(
    app: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    leaving, staying, later = (make_official("Dorris", may_sign=False, title="Council Member") for _ in range(3))
    campaign = make_campaign(cities=["Dorris"])
    with TestClient(app) as mail_client:  # a mail provider: no cookies, no CSRF token
        answer = mail_client.post(
            f"/unsubscribe/{links.unsubscribe_token(leaving.id or 0)}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200 and "will receive no more action alerts" in answer.text
        page = mail_client.get(f"/unsubscribe/{links.unsubscribe_token(staying.id or 0)}")
        assert page.status_code == 200 and "Unsubscribe from action alerts" in page.text
        forged = mail_client.post(
            f"/unsubscribe/{links.unsubscribe_token(staying.id or 0)[:-2]}xx",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert forged.status_code == 404
    with session_scope() as session:
        methods = {o.user_id: o.method for o in session.exec(select(AlertOptOut)).all()}
        assert methods.get(leaving.id) == "one-click" and staying.id not in methods  # the GET changed nothing
    run = launch(campaign, staff)
    mailer = MemoryMailer()
    with session_scope() as session:
        # The official who unsubscribes while a run is under way is skipped too.
        alerts._prepare(session, session.get(AlertRun, run.id) or AlertRun())
        inbox.unsubscribe(session, links.unsubscribe_token(later.id or 0), "page")
        alerts.process_run(session, run.id or 0, mailer=mailer)
        statuses = {a.user_id: a.status for a in session.exec(select(Alert).where(Alert.run_id == run.id)).all()}
    assert staying.email in recipients(mailer) and leaving.email not in recipients(mailer)
    assert later.email not in recipients(mailer)
    assert leaving.id not in statuses and statuses[later.id] == AlertStatus.SKIPPED


def test_reminders_go_only_to_cities_that_have_not_acted(
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    signer = make_official("Etna", may_sign=True)
    colleague = make_official("Etna", may_sign=False, title="Council Member")
    waiting = [make_official("Fort Jones", may_sign=False, title="City Manager") for _ in range(2)]
    campaign = make_campaign(cities=["Etna", "Fort Jones"])
    run = launch(campaign, staff)
    mailer = MemoryMailer()
    with session_scope() as session:
        alerts.process_run(session, run.id or 0, mailer=mailer)
        assert {signer.email, colleague.email, *(w.email for w in waiting)} <= set(recipients(mailer))
        letters.send_letter(session, campaign.id or 0, session.get(User, signer.id) or signer, "Our streets.")
        reminder = wizard.send_reminder(session, campaign.id or 0, staff)
        mailer.sent.clear()
        alerts.process_run(session, reminder.id or 0, mailer=mailer)
    reminded = set(recipients(mailer))
    assert {w.email for w in waiting} <= reminded and not {signer.email, colleague.email} & reminded
    with session_scope() as session:
        etna = city_named(session, "Etna").id
        cities = {a.city_id for a in session.exec(select(Alert).where(Alert.run_id == reminder.id)).all()}
    assert etna not in cities  # nobody of the city that acted is reminded
    assert all(e.subject.startswith("Reminder: ") for e in mailer.sent)


def test_action_link_is_signed_bound_and_expires(
    client: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    official = make_official("Mount Shasta", may_sign=True)
    campaign = make_campaign(cities=["Mount Shasta"])
    launch(campaign, staff)
    assert campaign.deadline is not None
    token = links.action_token(official.id or 0, campaign.id or 0, campaign.deadline)
    with pytest.raises(links.LinkError):
        links.read_action_token(token.replace(f"{official.id}.", f"{(official.id or 0) + 1}.", 1), utcnow())
    with pytest.raises(links.LinkError):
        links.verify("unsubscribe", token, 3)  # made for another purpose
    with pytest.raises(links.LinkError, match="expired"):
        links.read_action_token(token, campaign.deadline + timedelta(seconds=1))
    expired = links.action_token(official.id or 0, campaign.id or 0, utcnow() - timedelta(minutes=1))

    def sessions() -> int:
        with session_scope() as session:
            return int(
                session.execute(
                    select(func.count(col(UserSession.id))).where(UserSession.user_id == official.id)
                ).scalar_one()
            )

    before = sessions()
    page = client.get(f"/act/{token}")  # the campaign's action page itself, for the link's official
    assert page.status_code == 200 and official.name in page.text and "Send the letter" in page.text
    assert "CitiPAC" not in page.text and page.headers["referrer-policy"] == "no-referrer"
    assert SESSION_COOKIE not in page.headers.get("set-cookie", "") and sessions() == before  # logs no one in
    assert client.get(f"/act/{expired}").status_code == 410
    with session_scope() as session:
        wizard.close_campaign(session, campaign.id or 0, staff)
    assert client.get(f"/act/{token}").status_code == 410  # a closed campaign takes no more letters


def test_provider_pause_gives_the_batch_back_and_a_refusal_fails_it(
    fake_sendgrid: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    bulk_officials: Callable[[str, int], list[int]],
) -> None:
    bulk_officials("Dunsmuir", 3)
    campaign = make_campaign(cities=["Dunsmuir"])
    total = audience_size(campaign.id or 0)
    run = launch(campaign, staff)
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=5.0)
    fake_sendgrid.script(503)
    with session_scope() as session:
        with pytest.raises(alerts.AlertRetry):
            alerts.process_run(session, run.id or 0, mailer=mailer)
        pending = session.exec(select(Alert).where(Alert.run_id == run.id)).all()
        assert {a.status for a in pending} == {AlertStatus.PENDING} and not any(a.claim for a in pending)
        assert alerts.process_run(session, run.id or 0, mailer=mailer) == total
    second = make_campaign(cities=["Dunsmuir"])
    refused = launch(second, staff)
    fake_sendgrid.script(400)
    with session_scope() as session:
        alerts.process_run(session, refused.id or 0, mailer=mailer)
        done = session.get(AlertRun, refused.id)
        assert done is not None and done.status == RunStatus.FAILED and done.failed == total and "400" in done.error
        assert {a.error[:30] for a in session.exec(select(Alert).where(Alert.run_id == refused.id)).all()} == {
            done.error[:30]
        }


def test_the_sweep_takes_back_batches_of_a_killed_worker(
    staff: User,
    make_campaign: Callable[..., Campaign],
    bulk_officials: Callable[[str, int], list[int]],
) -> None:
    bulk_officials("Alturas", 4)
    campaign = make_campaign(cities=["Alturas"])
    run = launch(campaign, staff)
    with session_scope() as session:
        alerts._prepare(session, session.get(AlertRun, run.id) or AlertRun())
        long_ago = utcnow() - timedelta(hours=1)
        session.execute(
            update(Alert)
            .where(col(Alert.run_id) == run.id)
            .values(status=AlertStatus.SENDING, claim="dead-worker", claimed_at=long_ago)
        )
        session.execute(update(AlertRun).where(col(AlertRun.id) == run.id).values(last_progress_at=long_ago))
        session.commit()
        assert alerts.sweep_runs(session) >= 1
        assert {a.status for a in session.exec(select(Alert).where(Alert.run_id == run.id)).all()} == {
            AlertStatus.PENDING
        }
        mailer = MemoryMailer()
        recorded = len(session.exec(select(Alert).where(Alert.run_id == run.id)).all())
        assert recorded >= 4 and alerts.process_run(session, run.id or 0, mailer=mailer) == recorded


def test_runs_need_a_future_deadline_and_an_open_campaign(
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    make_official("Susanville")
    campaign = make_campaign(cities=["Susanville"])
    with session_scope() as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        row.deadline = utcnow() - timedelta(hours=1)
        session.add(row)
        session.commit()
        with pytest.raises(wizard.WizardError, match="deadline has passed"):
            wizard.launch(session, campaign.id or 0, staff)
        assert session.get(Campaign, campaign.id).status is CampaignStatus.DRAFT  # type: ignore[union-attr]
        with pytest.raises(alerts.AlertError):
            alerts.start_run(session, row, RunKind.REMINDER, staff)
