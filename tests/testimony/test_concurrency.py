"""Twenty officials press "lead witness" at the same moment: exactly two hold the side's slots, the other eighteen
wait in line; the same for me-too places and for one official pressing twice. Real threads, each with its own
session, on SQLite (writers serialise on the database lock) and on PostgreSQL (the call row's FOR UPDATE lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from advocacy.accounts.models import User
from advocacy.db import session_scope
from advocacy.testimony import service
from advocacy.testimony.models import TestimonyCall, TestimonySignup

THREADS = 20


def race(call: TestimonyCall, officials: list[User], role: str) -> list[Any]:
    """Sign every official up at once, one thread each; returns each thread's sign-up or exception."""
    with session_scope() as session:
        statements = [service.default_statement(session, o) for o in officials]
    barrier = threading.Barrier(len(officials))
    results: list[Any] = [None] * len(officials)

    def run(index: int) -> None:
        statement = statements[index]
        data = service.SignupInput(role, "in_person", statement.stated_name, statement.stated_title, "City of X")
        barrier.wait()
        try:
            with session_scope() as session:
                results[index] = service.sign_up(session, call.id or 0, officials[index], data)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(officials))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def rows(call: TestimonyCall) -> list[TestimonySignup]:
    with session_scope() as session:
        return list(session.exec(select(TestimonySignup).where(TestimonySignup.call_id == call.id)).all())


def test_twenty_leads_at_once_get_exactly_two_slots(make_call: Callable[..., Any], make_user: Any, staff: User) -> None:
    call = make_call()
    officials = [make_user() for _ in range(THREADS)]
    results = race(call, officials, "lead")

    assert not [r for r in results if isinstance(r, Exception)]
    stored = rows(call)
    assert len(stored) == THREADS
    held = [r for r in stored if r.status == "held"]
    assert len(held) == 2
    assert sum(1 for r in stored if r.status == "waitlisted") == THREADS - 2

    with session_scope() as session:
        for signup in held:
            service.decide(session, signup.id or 0, staff, "confirm")
        waiting = next(r for r in stored if r.status == "waitlisted")
        try:
            service.decide(session, waiting.id or 0, staff, "confirm")
            raise AssertionError("a third lead was confirmed")
        except service.TestimonyError as exc:
            assert "Both lead slots are taken" in str(exc)
    assert sorted(r.status for r in rows(call) if r.status != "waitlisted") == ["confirmed", "confirmed"]


def test_twenty_me_toos_at_once_fill_exactly_the_places(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call(capacity=5)
    officials = [make_user() for _ in range(THREADS)]
    results = race(call, officials, "me_too")

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == THREADS - 5
    assert all(isinstance(r, service.Conflict) and "me-too places are taken" in str(r) for r in refused)
    assert sorted(r.status for r in rows(call)) == ["confirmed"] * 5


def test_one_official_pressing_ten_times_at_once_signs_up_once(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    official = make_user()
    results = race(call, [official] * 10, "lead")

    assert sum(1 for r in results if isinstance(r, TestimonySignup)) == 1
    assert all(isinstance(r, service.Conflict) for r in results if not isinstance(r, TestimonySignup))
    assert [(r.user_id, r.status) for r in rows(call)] == [(official.id, "held")]
