"""Nothing lost: the sweep re-sends the nudge for letters stuck in queued or rendered and for deliveries stuck in
sending, so a lost message, a broker outage or a killed worker delays a letter but never loses it.

The SIGKILL test runs a real ``dramatiq`` worker process and needs a real broker (Redis): with the in-process
broker it is replaced, not skipped, by the same crash simulated inside the test process (``MODES``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlmodel import select

from advocacy import PROJECT_DIR
from advocacy.db import session_scope, utcnow
from advocacy.jobs import run_sweep
from advocacy.letters import actors, delivery, sender
from advocacy.letters.models import Channel, Delivery, DeliveryStatus, Letter, LetterStatus
from advocacy.letters.service import send_letter
from advocacy.mail import Email, MemoryMailer, get_mailer

REAL_BROKER = bool(os.environ.get("ADVOCACY_TEST_BROKER_URL"))
MODES = ["simulated crash", *(["SIGKILL worker process"] if REAL_BROKER else [])]


def queue_letter(make_campaign: Any, make_official: Any, label: str = "SB 1256") -> int:
    campaign, mayor = make_campaign(label), make_official()
    with session_scope() as session:
        return send_letter(session, campaign.id, mayor, "").id or 0


def backdate(letter_id: int, seconds: int = 120) -> None:
    """Make the letter's next step (and any claim on its deliveries) overdue, as if time had passed."""
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        letter.next_step_at = utcnow() - timedelta(seconds=seconds)
        session.add(letter)
        for d in session.exec(select(Delivery).where(Delivery.letter_id == letter_id)):
            d.status_changed_at = utcnow() - timedelta(seconds=seconds)
            session.add(d)
        session.commit()


def state(letter_id: int) -> tuple[LetterStatus, list[DeliveryStatus]]:
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        emails = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.channel == Channel.EMAIL)
        ).all()
        return letter.status, [d.status for d in emails]


def drop_messages() -> None:
    """A broker outage: every message on the letters queue is gone."""
    broker = dramatiq.get_broker()
    broker.flush("letters")
    if hasattr(broker, "delay_queues"):
        broker.flush("letters.DQ")


@pytest.fixture()
def stuck_after(fast_letters: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(fast_letters, "letter_stuck_seconds", 60)
    return fast_letters


def test_the_sweep_leaves_fresh_letters_alone_and_nudges_overdue_ones(
    stuck_after: Any, make_campaign: Any, make_official: Any
) -> None:
    letter_id = queue_letter(make_campaign, make_official)
    with session_scope() as session:
        assert letter_id not in {letter.id for letter in delivery.stuck_letters(session)}
    backdate(letter_id)
    with session_scope() as session:
        assert letter_id in {letter.id for letter in delivery.stuck_letters(session)}


def test_lost_nudges_are_sent_again_by_the_sweep(
    stuck_after: Any, make_campaign: Any, make_official: Any, memory_mailer: MemoryMailer, request: Any
) -> None:
    queued = queue_letter(make_campaign, make_official)
    rendered = queue_letter(make_campaign, make_official, "SB 1117")
    with session_scope() as session:
        assert delivery.render_letter(session, rendered)  # its deliver nudge is never sent
    drop_messages()
    backdate(queued)
    backdate(rendered)
    assert run_sweep()["letters"] >= 2
    request.getfixturevalue("worker").drain()
    assert state(queued)[0] is LetterStatus.SENT and state(rendered)[0] is LetterStatus.SENT
    sent_for = [
        e.personalizations[-1].custom_args["letter_id"]
        for e in memory_mailer.sent
        if e.personalizations[-1].custom_args.get("copy")
    ]
    assert sent_for.count(str(queued)) == 1 and sent_for.count(str(rendered)) == 1


class WorkerKilled(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the code under test catches it."""


class DyingMailer(MemoryMailer):
    def send(self, email: Email) -> str:
        raise WorkerKilled


def crash_in_process(letter_id: int, moment: str) -> None:
    """Leave the database exactly as a worker killed at ``moment`` leaves it, and lose its messages."""
    drop_messages()
    if moment == "mid-send":
        with session_scope() as session:
            assert delivery.render_letter(session, letter_id)
        with pytest.raises(WorkerKilled), session_scope() as session:
            delivery.deliver_letter(session, letter_id, mailer=DyingMailer())
    # mid-render: a render commits nothing before it is done, so the letter simply stays queued.


@pytest.fixture()
def worker_process(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a real ``dramatiq`` worker process (its own process group, so SIGKILL reaches its children)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "tests.letters.killable_worker",
                "--processes",
                "1",
                "--threads",
                "1",
                "--queues",
                "letters",
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, **env},
            start_new_session=True,
            stdout=(tmp_path / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def kill_real_worker(
    letter_id: int, moment: str, start: Callable[..., subprocess.Popen[bytes]], fake: Any, tmp_path: Path
) -> None:
    """Run the letter on a real worker process and SIGKILL its process group mid-render or mid-send."""
    marker = tmp_path / "paused"
    env = {
        "ADVOCACY_SENDGRID_API_KEY": fake.api_key,
        "ADVOCACY_SENDGRID_API_HOST": fake.url,
        "ADVOCACY_SENDGRID_TIMEOUT_SECONDS": "120",
        "ADVOCACY_TEST_MARKER": str(marker),
    }
    if moment == "mid-render":
        process = start(ADVOCACY_TEST_PAUSE="render", **env)
        wait_for(marker.exists, "the worker to be inside render_letter")
    else:
        fake.script(500)  # the request the kill interrupts never reached SendGrid's queue
        fake.hang(600)
        process = start(**env)
        wait_for(lambda: DeliveryStatus.SENDING in state(letter_id)[1], "the worker to be inside the SendGrid call")
        # The fake takes a request's hang off its list when the request arrives: then the call is under way.
        wait_for(lambda: not fake._hangs, "the call to reach SendGrid", timeout=10)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    # Redis would hand the dead worker's message out again only after its heartbeat times out, and only when a
    # maintenance pass happens to run; drop it, so that the sweep alone must bring the letter home.
    drop_messages()


@pytest.mark.parametrize("moment", ["mid-render", "mid-send"])
@pytest.mark.parametrize("mode", MODES)
def test_a_worker_killed_mid_render_or_mid_send_loses_no_letter(
    mode: str,
    moment: str,
    stuck_after: Any,
    sendgrid: Any,
    make_campaign: Any,
    make_official: Any,
    worker_process: Any,
    tmp_path: Path,
    request: Any,
) -> None:
    letter_id = queue_letter(make_campaign, make_official)
    if mode == "SIGKILL worker process":
        kill_real_worker(letter_id, moment, worker_process, sendgrid, tmp_path)
    else:
        crash_in_process(letter_id, moment)
    expected = LetterStatus.QUEUED if moment == "mid-render" else LetterStatus.RENDERED
    status, emails = state(letter_id)
    assert status is expected
    assert emails and set(emails) == ({DeliveryStatus.PENDING} if moment == "mid-render" else {DeliveryStatus.SENDING})

    # Later, the sweep finds the letter overdue and nudges it; a healthy worker finishes it.
    backdate(letter_id)
    assert run_sweep()["letters"] >= 1
    request.getfixturevalue("worker").drain()
    status, emails = state(letter_id)
    assert status is LetterStatus.SENT and set(emails) == {DeliveryStatus.ACCEPTED}
    accepted = [
        p
        for p in sendgrid.accepted
        if any(x.get("custom_args", {}).get("letter_id") == str(letter_id) for x in p["personalizations"])
    ]
    assert len(accepted) == 1
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.pdf_path
        assert (delivery.storage_path(letter.pdf_path)).is_file()


# With the in-process broker there is no worker process to stop: the test then runs the shutdown hook itself.
STOP_MODES = ["shutdown hook, in this process", *(["SIGTERM worker process"] if REAL_BROKER else [])]


@pytest.mark.parametrize("mode", STOP_MODES)
def test_a_worker_stopped_during_a_provider_call_finishes_it_before_it_exits(
    mode: str, sendgrid: Any, make_campaign: Any, make_official: Any, worker_process: Any, tmp_path: Path
) -> None:
    """worker.py hands the call to a sender thread; a stopping process stops its render thread, then waits for the
    calls it handed over (``DrainSenderAtShutdown``): the letter is sent and settled, not left ``sending``."""
    letter_id = queue_letter(make_campaign, make_official)
    if mode == "SIGTERM worker process":
        sendgrid.hang(3)
        process = worker_process(
            ADVOCACY_SENDGRID_API_KEY=sendgrid.api_key,
            ADVOCACY_SENDGRID_API_HOST=sendgrid.url,
            ADVOCACY_SENDGRID_TIMEOUT_SECONDS="120",
        )
        wait_for(lambda: DeliveryStatus.SENDING in state(letter_id)[1], "the worker to claim the letter's deliveries")
        wait_for(lambda: not sendgrid._hangs, "the call to reach SendGrid", timeout=10)
        os.kill(process.pid, signal.SIGTERM)  # to the dramatiq master, which stops its worker process gracefully
        assert process.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()
        # worker.py installed the sender threads (the default of ADVOCACY_LETTER_SEND_THREADS)
        assert "provider calls are made in 4 sender threads" in (tmp_path / "worker.log").read_text()
    else:
        drop_messages()  # this test is the worker
        sendgrid.hang(0.8)  # under the client's 1 s timeout
        try:
            sender.install(1)
            with session_scope() as session:
                delivery.render_letter(session, letter_id, mailer=get_mailer(), hand_off=actors.sender_hand_off())
            assert DeliveryStatus.SENDING in state(letter_id)[1]  # the call is under way in the sender thread
            sender.DrainSenderAtShutdown().after_worker_shutdown(dramatiq.get_broker(), None)
        finally:
            sender.install(0)
    status, emails = state(letter_id)
    assert status is LetterStatus.SENT and emails and set(emails) == {DeliveryStatus.ACCEPTED}
    assert len([r for r in sendgrid.requests if f'"letter_id": "{letter_id}"' in r.body.decode()]) == 1
