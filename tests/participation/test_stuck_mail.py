"""Nudges and digests whose worker died mid-send: the row stays ``sending`` with its claim time, and the sweep hands
it to a new worker once the claim is stale. A fresh claim (a live worker on it) is left alone, the stale one is sent
exactly once, and a message redelivered after the send changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.db import session_scope, utcnow
from advocacy.jobs import import_actors, registered_sweep_tasks
from advocacy.mail import Email, MailError, MemoryMailer
from advocacy.participation import service
from advocacy.participation.models import Digest, MailState, Nudge
from advocacy.settings import get_settings
from tests.helpers import create_user
from tests.participation.conftest import division_cities


def _stuck_seconds() -> int:
    return get_settings().participation_mail_stuck_seconds


def _sweep(task: str) -> int:
    """One run of a registered sweep task, committed, exactly as ``run_sweep`` runs it."""
    import_actors()
    with session_scope() as session:
        nudged = registered_sweep_tasks()[task](session)
        session.commit()
    return nudged


def _mail_to(mailer: MemoryMailer, address: str) -> list[Email]:
    return [e for e in mailer.sent if any(a.email == address for p in e.personalizations for a in p.to)]


def _left_sending(session: Session, row: Nudge | Digest, claimed_ago: timedelta | None) -> int:
    """A row as a worker leaves it when it dies after its claim and before the provider's answer is recorded."""
    row.status = MailState.SENDING
    row.claimed_at = None if claimed_ago is None else utcnow() - claimed_ago
    session.add(row)
    session.commit()
    return row.id or 0


def test_the_sweep_finishes_a_nudge_a_dead_worker_left_sending_exactly_once(
    people: dict[str, User], campaign: Campaign, mailer: MemoryMailer, worker: Any
) -> None:
    stale_age = timedelta(seconds=_stuck_seconds() + 60)
    with session_scope() as session:
        dead_city, busy_city = division_cities(session, 2)
        dead_official = create_user(session, city_geoid=dead_city.geoid)
        busy_official = create_user(session, city_geoid=busy_city.geoid)
        day = service.today_in_california()
        dead = _left_sending(
            session,
            Nudge(
                campaign_id=campaign.id or 0, city_id=dead_city.id or 0, day=day, sent_by_id=people["manager"].id or 0
            ),
            stale_age,
        )
        busy = _left_sending(
            session,
            Nudge(
                campaign_id=campaign.id or 0, city_id=busy_city.id or 0, day=day, sent_by_id=people["manager"].id or 0
            ),
            timedelta(seconds=5),
        )

    assert _sweep("participation-nudges") >= 1
    worker.drain()
    with session_scope() as session:
        finished = session.get(Nudge, dead)
        untouched = session.get(Nudge, busy)
        assert finished is not None and untouched is not None
        assert finished.status == MailState.SENT and dead_official.email in finished.recipients
        assert finished.claimed_at is not None and finished.claimed_at > utcnow() - timedelta(minutes=1)
        assert untouched.status == MailState.SENDING  # another worker is on it: nobody takes it over
    assert len(_mail_to(mailer, dead_official.email)) == 1
    assert _mail_to(mailer, busy_official.email) == []

    # The sweep again, and the same message redelivered after the send: nothing more goes out.
    _sweep("participation-nudges")
    from advocacy.participation.actors import send_nudge

    send_nudge.send(dead)
    worker.drain()
    with session_scope() as session:
        assert service.send_nudge(session, dead, mailer).status == MailState.SENT
        # Still one nudge per city, campaign and Pacific day: a second press today is refused for that city.
        staff = session.get(User, people["staff"].id)
        assert staff is not None
        again = service.nudge_cities(session, staff, campaign.id or 0, [dead_city.id or 0])
        assert again.created == [] and again.already_today == [dead_city.id]
        rows = session.exec(select(Nudge).where(Nudge.campaign_id == campaign.id, Nudge.city_id == dead_city.id)).all()
        assert len(rows) == 1
    worker.drain()
    assert len(_mail_to(mailer, dead_official.email)) == 1
    _settle([busy], Nudge)


def test_the_sweep_finishes_a_digest_a_dead_worker_left_sending_exactly_once(
    people: dict[str, User], campaign: Campaign, mailer: MemoryMailer, worker: Any
) -> None:
    manager, busy_manager = people["manager"], people["other_manager"]
    week = service.iso_week(service.today_in_california())
    with session_scope() as session:
        # This week's digests, so the sweep finds them instead of creating new ones for these two managers.
        dead = _left_sending(
            session, Digest(manager_id=manager.id or 0, iso_week=week), timedelta(seconds=_stuck_seconds() + 60)
        )
        busy = _left_sending(session, Digest(manager_id=busy_manager.id or 0, iso_week=week), timedelta(seconds=5))

    _sweep("participation-digest")
    worker.drain()
    with session_scope() as session:
        finished, untouched = session.get(Digest, dead), session.get(Digest, busy)
        assert finished is not None and untouched is not None
        assert finished.status == MailState.SENT and untouched.status == MailState.SENDING
    assert len(_mail_to(mailer, manager.email)) == 1
    assert campaign.title in _mail_to(mailer, manager.email)[0].text
    assert _mail_to(mailer, busy_manager.email) == []

    _sweep("participation-digest")
    from advocacy.participation.actors import send_digest

    send_digest.send(dead)
    worker.drain()
    assert len(_mail_to(mailer, manager.email)) == 1
    with session_scope() as session:
        rows = session.exec(select(Digest).where(Digest.manager_id == manager.id)).all()
        assert [(r.iso_week, r.status) for r in rows] == [(week, MailState.SENT)]
    _settle([busy], Digest)


def test_a_claim_is_taken_when_pending_or_stale_and_refused_while_fresh(people: dict[str, User]) -> None:
    threshold = timedelta(seconds=_stuck_seconds())
    with session_scope() as session:
        digest = Digest(manager_id=people["manager"].id or 0, iso_week="1998-W02")
        session.add(digest)
        session.commit()
        row_id = digest.id or 0
        first = utcnow()
        assert service._claim(session, Digest, row_id, now=first) is True
        assert service._claim(session, Digest, row_id, now=first + threshold - timedelta(seconds=1)) is False
        later = first + threshold + timedelta(seconds=1)
        assert service._claim(session, Digest, row_id, now=later) is True
        session.expire_all()
        taken = session.get(Digest, row_id)
        assert taken is not None and taken.status == MailState.SENDING and taken.claimed_at == later
        # Whoever took it over holds a fresh claim again.
        assert service._claim(session, Digest, row_id, now=later + timedelta(seconds=1)) is False
        # A row left sending before claims had a time is as dead as a stale one.
        _left_sending(session, taken, None)
        assert service._claim(session, Digest, row_id) is True


class _Unavailable:
    def send(self, email: Email) -> str:
        raise MailError("provider busy", retryable=True)


def test_a_retryable_error_releases_the_claim_for_the_retry(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        city = division_cities(session, 3)[2]
        create_user(session, city_geoid=city.geoid)
        nudge = Nudge(
            campaign_id=campaign.id or 0,
            city_id=city.id or 0,
            day=service.today_in_california(),
            sent_by_id=people["manager"].id or 0,
        )
        session.add(nudge)
        session.commit()
        with pytest.raises(MailError):
            service.send_nudge(session, nudge.id or 0, _Unavailable())
        session.expire_all()
        released = session.get(Nudge, nudge.id)
        assert released is not None and released.status == MailState.PENDING and released.claimed_at is None
        memory = MemoryMailer()
        assert service.send_nudge(session, nudge.id or 0, memory).status == MailState.SENT
        assert len(memory.sent) == 1


def test_the_nudge_sweep_queues_only_what_waited_too_long(people: dict[str, User], campaign: Campaign) -> None:
    old = timedelta(seconds=_stuck_seconds() + 60)
    with session_scope() as session:
        cities = division_cities(session, 8)[4:8]
        day = service.today_in_california()

        def nudge(city_index: int, status: MailState, created_ago: timedelta, claimed_ago: timedelta | None) -> int:
            row = Nudge(
                campaign_id=campaign.id or 0,
                city_id=cities[city_index].id or 0,
                day=day,
                sent_by_id=people["manager"].id or 0,
                status=status,
                created_at=utcnow() - created_ago,
                claimed_at=None if claimed_ago is None else utcnow() - claimed_ago,
            )
            session.add(row)
            session.commit()
            return row.id or 0

        lost = nudge(0, MailState.PENDING, old, None)
        fresh = nudge(1, MailState.PENDING, timedelta(seconds=5), None)
        dead = nudge(2, MailState.SENDING, old, old)
        busy = nudge(3, MailState.SENDING, old, timedelta(seconds=5))
        queued = service.requeue_stale_nudges(session)
        # The session closes uncommitted: nothing is queued, this test reads the choice only.
    assert lost in queued and dead in queued
    assert fresh not in queued and busy not in queued
    _settle([lost, fresh, dead, busy], Nudge)


def _settle(ids: list[int], model: type[Nudge] | type[Digest]) -> None:
    """Leave no row for a later test's sweep to pick up."""
    with session_scope() as session:
        for row_id in ids:
            row = session.get(model, row_id)
            if row is not None and row.status in (MailState.PENDING, MailState.SENDING):
                row.status = MailState.SKIPPED
                session.add(row)
        session.commit()
