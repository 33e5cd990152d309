"""The sweep (registry, run_sweep, `advocacy sweep`) and the embedded runtime (worker threads + sweep timer)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import Session

from advocacy import jobs
from advocacy.broker import build_broker
from advocacy.jobs import FAILED, embedded_runtime, run_sweep, sweep_task
from advocacy.settings import Settings


@pytest.fixture()
def task_names() -> Iterator[list[str]]:
    """Unique sweep-task names for this test, unregistered afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = [f"test_{suffix}_a_fails", f"test_{suffix}_b_counts", f"test_{suffix}_c_after"]
    yield names
    for name in names:
        jobs._sweep_tasks.pop(name, None)


def register_tasks(names: list[str], calls: list[str]) -> None:
    @sweep_task(names[0])
    def fails(session: Session) -> int:
        calls.append(names[0])
        raise RuntimeError("this sweep task is broken")

    @sweep_task(names[1])
    def counts(session: Session) -> int:
        calls.append(names[1])
        return int(session.exec(text("SELECT 3")).one()[0])  # type: ignore[call-overload]

    @sweep_task(names[2])
    def after(session: Session) -> int:
        calls.append(names[2])
        return 0


def test_run_sweep_runs_every_task_and_a_failure_stops_none(task_names: list[str]) -> None:
    calls: list[str] = []
    register_tasks(task_names, calls)

    results = run_sweep()

    assert calls == task_names  # all three ran, in name order, the failing one first
    assert {name: results[name] for name in task_names} == {task_names[0]: FAILED, task_names[1]: 3, task_names[2]: 0}


def test_advocacy_sweep_command(task_names: list[str]) -> None:
    from advocacy.cli import main

    calls: list[str] = []
    register_tasks(task_names, calls)

    result = CliRunner().invoke(main, ["sweep"])

    assert result.exit_code == 0, result.output
    assert f"{task_names[0]}: failed (see log)" in result.output
    assert f"{task_names[1]}: 3" in result.output and f"{task_names[2]}: 0" in result.output
    assert calls == task_names


def test_a_name_cannot_be_registered_by_two_functions(task_names: list[str]) -> None:
    @sweep_task(task_names[0])
    def first(session: Session) -> int:
        return 0

    with pytest.raises(ValueError, match="already registered"):

        @sweep_task(task_names[0])
        def second(session: Session) -> int:
            return 0

    assert sweep_task(task_names[0])(first) is first  # the same function again is fine


def test_embedded_runtime_runs_workers_and_the_sweep_then_stops(task_names: list[str]) -> None:
    broker = build_broker("")
    processed = threading.Event()
    sweeps: list[float] = []

    def job(value: int) -> None:
        processed.set()

    actor = dramatiq.actor(job, broker=broker, actor_name=f"embedded_{task_names[1]}", max_retries=0)

    @sweep_task(task_names[1])
    def count_sweeps(session: Session) -> int:
        sweeps.append(time.monotonic())
        return 0

    settings = Settings(broker_url="", embedded_worker_threads=1, sweep_interval_seconds=0.05)
    threads_before = set(threading.enumerate())
    with embedded_runtime(settings, broker):
        actor.send(1)
        assert processed.wait(10), "the embedded worker did not run the message"
        deadline = time.monotonic() + 10
        while len(sweeps) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(sweeps) >= 3  # once at start-up, then every interval
        assert any(t.name == "advocacy-sweep" for t in threading.enumerate())

    stopped_at = len(sweeps)
    leftover = [t for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert leftover == [], leftover
    time.sleep(0.2)
    assert len(sweeps) == stopped_at  # the timer is gone


@pytest.mark.parametrize(
    "settings",
    [
        Settings(broker_url="redis://127.0.0.1:6379/5", embedded_worker_threads=2),
        Settings(broker_url="", embedded_worker_threads=0),
    ],
)
def test_embedded_runtime_does_nothing_outside_embedded_mode(settings: Settings) -> None:
    broker = build_broker("")  # starts dramatiq's time-limit thread: not the runtime's doing
    threads_before = set(threading.enumerate())
    with embedded_runtime(settings, broker):
        assert set(threading.enumerate()) == threads_before
