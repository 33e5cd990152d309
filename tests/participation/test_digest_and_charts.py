"""The weekly digest (durable: one per manager and ISO week, however often the sweep runs) and the charts page."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.db import session_scope
from advocacy.letters.models import LetterStatus as L
from advocacy.mail import MemoryMailer
from advocacy.participation import charts, service
from advocacy.participation.models import Digest, MailState
from tests.helpers import login
from tests.participation.conftest import add_letter, sacramento


def test_weekly_digest_is_sent_once_per_manager_and_week(
    people: dict[str, User], campaign: Campaign, mailer: MemoryMailer, worker: Any
) -> None:
    manager = people["manager"]
    week_day = date(2031, 3, 12)  # a week no other test uses
    with session_scope() as session:
        service.create_due_digests(session, today=week_day)
        session.commit()
    with session_scope() as session:
        service.create_due_digests(session, today=week_day)  # the sweep running again makes no second row
        session.commit()
    worker.drain()
    with session_scope() as session:
        rows = session.exec(select(Digest).where(Digest.manager_id == manager.id, Digest.iso_week == "2031-W11")).all()
        assert len(rows) == 1 and rows[0].status == MailState.SENT
        service.send_digest(session, rows[0].id or 0, mailer)  # a replayed message sends nothing
    mine = [e for e in mailer.sent if any(a.email == manager.email for p in e.personalizations for a in p.to)]
    assert len(mine) == 1
    assert campaign.title in mine[0].text and "To nudge:" in mine[0].text and "league:" in mine[0].text


def test_charts_page_has_accessible_svg_and_tables(client: Any, people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        add_letter(session, campaign.id or 0, sacramento(session).id or 0, people["official"], L.SENT)
    login(client, people["manager"])
    page = client.get("/participation/charts")
    assert page.status_code == 200
    assert page.text.count('role="img"') >= 3
    assert '<title id="ranked-title">' in page.text and "<desc id=" in page.text
    assert "Letters sent per week" in page.text and campaign.title in page.text


def test_chart_text_is_escaped() -> None:
    svg = charts.bar_chart("x", "<script>", "d", [("<b>", 50.0)])
    assert "<script>" not in svg and "&lt;b&gt;" in svg


def test_only_one_worker_claims_a_digest(people: dict[str, User]) -> None:
    """Two workers handed the same message: the second finds the digest claimed and sends nothing."""
    with session_scope() as session:
        digest = Digest(manager_id=people["manager"].id or 0, iso_week="1999-W01")
        session.add(digest)
        session.commit()
        assert service._claim(session, Digest, digest.id or 0) is True
        assert service._claim(session, Digest, digest.id or 0) is False
        memory = MemoryMailer()
        assert service.send_digest(session, digest.id or 0, memory).status == MailState.SENDING
        assert memory.sent == []
