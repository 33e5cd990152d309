"""A worker process's sender threads (advocacy/letters/sender.py): a step hands a letter's provider calls over once
its claim is committed and goes on to the next letter; the calls, a retry the provider asks for and the settling
happen in a sender thread, in a session of its own. The hand-over is bounded, and a job that fails costs nothing
but its own letter, which the sweep takes over."""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

import pytest

from advocacy.db import session_scope
from advocacy.letters import actors, delivery, sender
from advocacy.letters.models import DeliveryStatus, LetterStatus
from advocacy.letters.sender import SenderThreads
from advocacy.letters.service import send_letter
from advocacy.logs import request_id_var
from advocacy.mail import Email, MemoryMailer, get_mailer, reset_mailer
from advocacy.settings import Settings
from tests.letters.conftest import LOS_ANGELES, SACRAMENTO
from tests.letters.test_sweep import drop_messages, queue_letter, state


class HeldMailer(MemoryMailer):
    """Every send waits until released: provider calls that are still under way."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = threading.Semaphore(0)
        self.release = threading.Event()

    def send(self, email: Email) -> str:
        self.calls.release()
        assert self.release.wait(30)
        return super().send(email)


def installed_sender(threads: int) -> SenderThreads:
    """The sender threads as worker.py installs them."""
    sender.install(threads)
    installed = sender.installed()
    assert installed is not None
    return installed


def render(letter_id: int) -> None:
    """The render step as the actor runs it in a worker process: its provider calls go to the sender threads."""
    with session_scope() as session:
        delivery.render_letter(session, letter_id, mailer=get_mailer(), hand_off=actors.sender_hand_off())


def test_the_render_step_goes_on_while_its_letters_wait_for_the_provider(
    make_campaign: Any, make_official: Any, fast_letters: Any
) -> None:
    mailer = HeldMailer()
    reset_mailer(mailer)
    threads = installed_sender(2)
    try:
        campaign = make_campaign("SB 1256")
        with session_scope() as session:
            first, second = (
                send_letter(session, campaign.id or 0, make_official(geoid=city), "").id or 0
                for city in (SACRAMENTO, LOS_ANGELES)
            )
        drop_messages()  # this test is the worker
        render(first)
        assert mailer.calls.acquire(timeout=30)  # the first letter's call is under way in a sender thread ...
        render(second)  # ... and the render thread has gone on to the next letter
        assert mailer.calls.acquire(timeout=30)
        for letter_id in (first, second):
            status, emails = state(letter_id)
            assert status is LetterStatus.RENDERED and emails and set(emails) == {DeliveryStatus.SENDING}
        mailer.release.set()
        threads.drain()
        for letter_id in (first, second):
            status, emails = state(letter_id)
            assert status is LetterStatus.SENT and set(emails) == {DeliveryStatus.ACCEPTED}
        copies = [e.personalizations[-1].custom_args["letter_id"] for e in mailer.sent]
        assert sorted(copies) == sorted([str(first), str(second)])  # one provider call each
    finally:
        mailer.release.set()
        threads.drain()
        sender.install(0)
        reset_mailer(None)


def test_a_retry_asked_for_in_a_sender_thread_comes_back_as_a_message_and_delivers_once(
    sendgrid: Any, make_campaign: Any, make_official: Any, request: Any
) -> None:
    sendgrid.script(429, retry_after=1)
    letter_id = queue_letter(make_campaign, make_official)
    drop_messages()
    threads = installed_sender(1)
    try:
        render(letter_id)
        threads.drain()
    finally:
        sender.install(0)
    status, emails = state(letter_id)
    assert status is LetterStatus.RENDERED and set(emails) == {DeliveryStatus.PENDING}  # waiting for its retry
    request.getfixturevalue("worker").drain()  # the deliver_letter message the sender thread enqueued
    status, emails = state(letter_id)
    assert status is LetterStatus.SENT and set(emails) == {DeliveryStatus.ACCEPTED}
    calls = [r for r in sendgrid.requests if f'"letter_id": "{letter_id}"' in r.body.decode()]
    assert [r.status for r in calls] == [429, 202]


def test_a_full_sender_holds_the_render_thread_and_a_failing_job_frees_its_slot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads = SenderThreads(1)  # two letters in flight at most
    gate = threading.Event()
    done: list[str] = []
    threads.submit(lambda: done.append("first") if gate.wait(30) else None)
    threads.submit(lambda: done.append("second") if gate.wait(30) else None)

    def fails() -> None:
        raise RuntimeError("the database went away")

    third_in = threading.Event()
    submitter = threading.Thread(target=lambda: (threads.submit(fails), third_in.set()))
    submitter.start()
    assert not third_in.wait(0.5)  # every slot is taken: the render thread waits
    gate.set()
    assert third_in.wait(30)
    submitter.join()
    for n in range(3):  # the failed job gave its slot back: more go through, one at a time
        threads.submit(partial(done.append, f"after {n}"))
    threads.drain()
    assert done == ["first", "second", "after 0", "after 1", "after 2"]
    assert "the database went away" in caplog.text and "the sweep will take it over" in caplog.text


def test_install_sets_up_the_sender_threads_or_leaves_the_calls_in_the_render_thread() -> None:
    try:
        sender.install(0)
        assert sender.installed() is None  # the render thread sends
        sender.install(3)
        installed = sender.installed()
        assert installed is not None and installed.threads == 3
        with pytest.raises(ValueError, match="at least one thread"):
            SenderThreads(0)
    finally:
        sender.install(0)


def test_a_sweep_threshold_within_reach_of_a_call_under_way_is_refused() -> None:
    """Claims older than ``letter_stuck_seconds`` are sent again: it must outlast a slot's wait and the call."""
    with pytest.raises(ValueError, match=r"ADVOCACY_LETTER_STUCK_SECONDS \(60\) must be more than three times"):
        Settings(letter_stuck_seconds=60, sendgrid_timeout_seconds=20)
    assert Settings(letter_stuck_seconds=61, sendgrid_timeout_seconds=20).letter_stuck_seconds == 61


def test_a_sender_threads_log_lines_carry_the_request_id_of_the_message_that_handed_the_letter_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads = SenderThreads(2)
    seen: list[str] = []

    def job() -> None:
        seen.append(request_id_var.get())
        logging.getLogger("advocacy.letters").warning("sending the letter")

    caplog.set_level(logging.WARNING, logger="advocacy.letters")
    for request_id in ("req-from-the-mayor", "req-from-the-council"):
        token = request_id_var.set(request_id)  # what MessageLogContext sets for the message being processed
        try:
            threads.submit(job)
        finally:
            request_id_var.reset(token)
    threads.submit(job)  # a sweep nudge: no request behind it
    threads.drain()
    assert sorted(seen) == ["-", "req-from-the-council", "req-from-the-mayor"]
    lines = [r for r in caplog.records if r.getMessage() == "sending the letter"]
    assert sorted(r.request_id for r in lines) == sorted(seen)  # set when each line was made, in its thread
