"""Reminders the day before (9 a.m. Pacific) and the morning of the hearing (7 a.m.): the sweep creates each once,
the worker sends it once, and neither a second sweep nor a restart that lost the queued message loses or repeats
one. Time is passed to the sweep; the hearings are weeks ahead, so the real clock never interferes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import dramatiq
from sqlmodel import select

from advocacy.accounts.models import User
from advocacy.db import session_scope
from advocacy.mail import Email, MemoryMailer, reset_mailer
from advocacy.testimony import mailing, service
from advocacy.testimony.actors import QUEUE
from advocacy.testimony.models import ReminderKind, TestimonyReminder
from tests.testimony.conftest import pacific_today, sign

MINUTE = timedelta(minutes=1)


def sweep_at(now: Any) -> mailing.SweepResult:
    """One sweep as the ``testimony`` sweep task runs it: its own transaction, nudges after the commit."""
    with session_scope() as session:
        result = mailing.sweep(session, now=now)
        session.commit()
    return result


def to(official: User, mailer: MemoryMailer) -> list[Email]:
    """The reminders ``official`` got (their confirmation e-mails are left out)."""
    return [
        e
        for e in mailer.sent
        if e.personalizations[0].to[0].email == official.email and e.categories == ["testimony-reminder"]
    ]


def reminders_of(signup_id: int) -> dict[str, str]:
    with session_scope() as session:
        rows = session.exec(select(TestimonyReminder).where(TestimonyReminder.signup_id == signup_id)).all()
        return {r.kind: r.status for r in rows}


def setup(make_hearing: Any, make_call: Any, make_user: Any, days: int, role: str = "me_too") -> tuple[Any, ...]:
    day: date = pacific_today() + timedelta(days=days)
    hearing = make_hearing(day=day, at="09:00")
    official = make_user()
    signup = sign(official, make_call(hearing=hearing), role=role)
    return official, signup, mailing.reminder_times(hearing)


def test_each_reminder_is_sent_once_however_often_the_sweep_runs(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer, worker: Any
) -> None:
    official, signup, times = setup(make_hearing, make_call, make_user, 33, role="lead")
    day_before, morning_of = times[ReminderKind.DAY_BEFORE], times[ReminderKind.MORNING_OF]
    assert (day_before.hour, morning_of.hour) in ((16, 14), (17, 15))  # 9 a.m. and 7 a.m. Pacific in UTC

    sweep_at(day_before - MINUTE)
    worker.drain()
    assert to(official, mailer) == []

    sweep_at(day_before + MINUTE)
    worker.drain()
    sweep_at(day_before + 10 * MINUTE)
    worker.drain()
    sent = to(official, mailer)
    assert [e.subject.split(" on ")[0] for e in sent] == ["Reminder: you testify tomorrow"]
    assert "You have about two minutes" in sent[0].text  # a lead gets the draft again

    sweep_at(morning_of + MINUTE)
    worker.drain()
    sweep_at(morning_of + 30 * MINUTE)
    worker.drain()
    assert [e.subject.split(" on ")[0] for e in to(official, mailer)] == [
        "Reminder: you testify tomorrow",
        "Reminder: you testify today",
    ]
    assert reminders_of(signup.id) == {"day_before": "sent", "morning_of": "sent"}


def test_a_restart_that_lost_the_queued_message_neither_loses_nor_repeats_the_reminder(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer
) -> None:
    official, signup, times = setup(make_hearing, make_call, make_user, 34)
    due = times[ReminderKind.DAY_BEFORE]
    broker = dramatiq.get_broker()

    # The sweep creates the reminder and queues its message; the process dies before any worker takes it.
    worker_less = sweep_at(due + MINUTE)
    assert worker_less.reminders
    broker.flush_all()
    assert reminders_of(signup.id) == {"day_before": "pending"}

    # A new process: a fresh mailer and worker, and the sweep on its timer finds the reminder still waiting.
    fresh = MemoryMailer()
    reset_mailer(fresh)
    after_restart = sweep_at(due + 5 * MINUTE)
    assert after_restart.reminders == []  # not created again
    assert set(_ids(signup.id)) <= set(after_restart.nudged_reminders)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.join(QUEUE, timeout=60_000)
        worker.join()
    finally:
        worker.stop()
    assert len(to(official, fresh)) == 1
    assert reminders_of(signup.id) == {"day_before": "sent"}

    # A redelivered message, and more sweeps, send nothing more.
    with session_scope() as session:
        reminder = session.exec(select(TestimonyReminder).where(TestimonyReminder.signup_id == signup.id)).one()
        assert not mailing.send_reminder(session, reminder.id or 0, mailer=fresh)
    assert sweep_at(due + 30 * MINUTE).reminders == []
    assert len(to(official, fresh)) == 1 and to(official, mailer) == []


def test_no_reminder_for_what_the_confirmation_already_said_or_for_a_sign_up_that_ended(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer
) -> None:
    day = pacific_today() + timedelta(days=35)
    hearing = make_hearing(day=day, at="09:00")
    call = make_call(hearing=hearing)
    times = mailing.reminder_times(hearing)
    late, leaving, waiting = make_user(), make_user(), make_user()
    late_signup = sign(late, call, now=times[ReminderKind.DAY_BEFORE] + 60 * MINUTE)
    leaving_signup = sign(leaving, call)
    sign(make_user(), call, role="lead")
    sign(make_user(), call, role="lead")
    waiting_signup = sign(waiting, call, role="lead")
    assert waiting_signup.status == "waitlisted"

    result = sweep_at(times[ReminderKind.DAY_BEFORE] + 61 * MINUTE)
    assert reminders_of(late_signup.id) == {"day_before": "skipped"}
    assert reminders_of(waiting_signup.id) == {}  # no slot: no reminder
    leaving_reminder = next(r for r in result.reminders if r in _ids(leaving_signup.id))
    with session_scope() as session:
        service.cancel_signup(session, leaving_signup.id, leaving)
        assert not mailing.send_reminder(session, leaving_reminder, mailer=mailer)
    assert reminders_of(leaving_signup.id) == {"day_before": "skipped"}
    assert to(leaving, mailer) == [] and to(late, mailer) == []


def test_after_an_outage_only_the_morning_reminder_goes(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer
) -> None:
    official, signup, times = setup(make_hearing, make_call, make_user, 36)
    result = sweep_at(times[ReminderKind.MORNING_OF] + MINUTE)
    assert reminders_of(signup.id) == {"day_before": "skipped", "morning_of": "pending"}
    mine = [r for r in result.reminders if r in _ids(signup.id)]
    with session_scope() as session:
        assert [mailing.send_reminder(session, r, mailer=mailer) for r in mine] == [True]
    assert [e.subject.split(" on ")[0] for e in to(official, mailer)] == ["Reminder: you testify today"]


def _ids(signup_id: int) -> set[int]:
    with session_scope() as session:
        rows = session.exec(select(TestimonyReminder).where(TestimonyReminder.signup_id == signup_id)).all()
        return {r.id or 0 for r in rows}
