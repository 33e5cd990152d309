"""Broker selection by URL, with real round-trips through this machine's Redis and RabbitMQ, and worker metrics."""

from __future__ import annotations

import itertools
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name, xq_name

from advocacy.broker import (
    AckWakingConsumer,
    WorkerMetrics,
    broker_kind,
    build_broker,
    poll_promptly,
    serve_metrics,
)
from advocacy.settings import get_settings
from tests.helpers import background_process

REDIS_URL = "redis://127.0.0.1:6379/5"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def round_trip(broker: dramatiq.Broker) -> tuple[str, list[str]]:
    """Declare a throwaway actor on ``broker``, send it a message, let a Worker run it; returns (queue, seen)."""
    name = f"roundtrip_{uuid.uuid4().hex[:10]}"
    seen: list[str] = []
    done = threading.Event()

    def record(value: str) -> None:
        seen.append(value)
        done.set()

    actor = dramatiq.actor(record, broker=broker, actor_name=name, queue_name=name, max_retries=0)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        actor.send("hello through " + broker_kind(broker))
        assert done.wait(15), "the worker never ran the message"
    finally:
        worker.stop()
    return name, seen


def test_empty_url_is_the_in_process_stub_broker() -> None:
    broker = build_broker("")
    assert isinstance(broker, StubBroker) and broker_kind(broker) == "embedded"
    assert round_trip(broker)[1] == ["hello through embedded"]


def test_redis_url_round_trips_through_redis() -> None:
    broker = build_broker(REDIS_URL, metrics_port=0)
    assert isinstance(broker, RedisBroker) and broker_kind(broker) == "redis"
    queue = ""
    try:
        queue, seen = round_trip(broker)
        assert seen == ["hello through redis"]
    finally:
        broker.flush_all()
        if queue:
            broker.client.delete(f"dramatiq:{queue}", f"dramatiq:{dq_name(queue)}", f"dramatiq:{xq_name(queue)}")
        broker.close()


def run_sleeping_messages(
    broker: dramatiq.Broker, name: str, *, count: int, seconds: float, prefetch: int
) -> list[tuple[float, float]]:
    """``count`` messages on queue ``name`` that each sleep ``seconds``, run by a one-thread Worker with this
    prefetch; returns each run's (start, end). Deletes the queue's keys and closes the broker."""
    runs: list[tuple[float, float]] = []
    all_done = threading.Event()

    def slow(index: int) -> None:
        started = time.monotonic()
        time.sleep(seconds)
        runs.append((started, time.monotonic()))
        if len(runs) == count:
            all_done.set()

    actor = dramatiq.actor(slow, broker=broker, actor_name=name, queue_name=name, max_retries=0)
    for index in range(count):
        actor.send(index)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=1000)
    worker.queue_prefetch = prefetch
    worker.start()
    try:
        assert all_done.wait(15), f"the worker did not run the {count} messages"
    finally:
        worker.stop()
        broker.client.delete(f"dramatiq:{name}", f"dramatiq:{dq_name(name)}", f"dramatiq:{xq_name(name)}")
        broker.close()
    return runs


def test_a_redis_consumer_with_a_full_hand_waits_for_the_ack_and_then_fetches_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With as many messages in hand as it may prefetch, the consumer sleeps until the worker acks one (dramatiq's own
    consumer wakes 5, 10, 20, 40 … ms apart meanwhile, and each wake-up costs a busy worker process a GIL hand-over);
    after the ack the next message is fetched at once."""
    broker = build_broker(REDIS_URL, metrics_port=0)
    name = f"hand_{uuid.uuid4().hex[:10]}"
    wakes_with_a_full_hand = 0
    original = AckWakingConsumer.__next__

    def counting_next(consumer: AckWakingConsumer) -> object:
        nonlocal wakes_with_a_full_hand
        full = consumer.queue_name == name and consumer._hand_is_full()
        message = original(consumer)
        wakes_with_a_full_hand += full and message is None
        return message

    monkeypatch.setattr(AckWakingConsumer, "__next__", counting_next)
    runs = run_sleeping_messages(broker, name, count=4, seconds=0.3, prefetch=1)  # the hand is full while one runs

    # One wake-up per message (its ack), not five or six (dramatiq's backoff over 0.3 s: 5+10+20+40+80+160 ms).
    assert wakes_with_a_full_hand <= 6, wakes_with_a_full_hand
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(runs)]
    assert max(gaps) < 0.15, gaps  # the next message started right after the ack, not after a backoff sleep


def test_a_full_hand_of_four_is_refilled_two_at_a_time_and_the_worker_never_runs_dry() -> None:
    """With 4 messages in hand (``advocacy worker``'s prefetch per thread) the consumer fetches again once two are
    acked, two in one Redis call, instead of one after every ack; the message after the running one is always in
    hand, so the worker goes from one message to the next without waiting for a fetch."""
    broker = build_broker(REDIS_URL, metrics_port=0)
    name = f"refill_{uuid.uuid4().hex[:10]}"
    fetched: list[int] = []
    fetch = broker.do_fetch  # type: ignore[attr-defined]

    def counting_fetch(queue_name: str, prefetch: int) -> object:
        messages = fetch(queue_name, prefetch)
        if queue_name == name and messages:
            fetched.append(len(messages))
        return messages

    broker.do_fetch = counting_fetch  # type: ignore[attr-defined]
    runs = run_sleeping_messages(broker, name, count=10, seconds=0.1, prefetch=4)

    # 4 at first, then 2 at a time: four fetches for ten messages, not seven (4, then one per ack).
    assert fetched == [4, 2, 2, 2], fetched
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(runs)]
    # The next message was in hand each time: no wait for a fetch, let alone for the worker timeout (1 s) that a
    # consumer not woken when its hand had room would sleep.
    assert max(gaps) < 0.05, gaps


def test_an_idle_consumer_of_a_prompt_queue_polls_often_and_picks_up_a_new_message_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """dramatiq's consumer sleeps longer and longer between polls of an empty queue, up to the worker timeout (1 s
    here): a message sent to an idle worker waits up to a second. A queue given to ``poll_promptly`` is polled at
    least every 100 ms (the letters queue, whose status an official watches); a quiet one here up to every 1 s."""
    monkeypatch.setattr(get_settings(), "worker_idle_poll_ms", 1000)
    broker = build_broker(REDIS_URL, metrics_port=0)
    prompt, ordinary = (f"{kind}_{uuid.uuid4().hex[:10]}" for kind in ("prompt", "ordinary"))
    poll_promptly(prompt, every_ms=100)
    polls = {prompt: 0, ordinary: 0}
    fetch = broker.do_fetch  # type: ignore[attr-defined]  # RedisBroker dispatches do_* to its Lua script

    def counting_fetch(queue_name: str, prefetch: int) -> object:
        if queue_name in polls:
            polls[queue_name] += 1
        return fetch(queue_name, prefetch)

    broker.do_fetch = counting_fetch  # type: ignore[attr-defined]
    started: list[float] = []
    ran = threading.Event()

    def record(sent_at: float) -> None:
        started.append(time.time() - sent_at)
        ran.set()

    actor = dramatiq.actor(record, broker=broker, actor_name=prompt, queue_name=prompt, max_retries=0)
    dramatiq.actor(record, broker=broker, actor_name=ordinary, queue_name=ordinary, max_retries=0)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=1000)
    worker.start()
    try:
        time.sleep(2.5)  # idle: both consumers back off
        idle_polls = dict(polls)
        for _ in range(3):
            ran.clear()
            actor.send(time.time())
            assert ran.wait(5), "the worker never ran the message"
            time.sleep(1.2)  # idle again, past the ordinary consumer's longest sleep
    finally:
        worker.stop()
        for name in (prompt, ordinary):
            broker.client.delete(f"dramatiq:{name}", f"dramatiq:{dq_name(name)}", f"dramatiq:{xq_name(name)}")
        broker.close()

    # Over 2.5 s idle: dramatiq's sleeps (5, 10, 20 … ms, each up to twice that, then 0.5-1 s) allow at most about a
    # dozen polls; sleeps of at most 100 ms once the backoff reaches them, more than twenty.
    assert idle_polls[ordinary] <= 13 and idle_polls[prompt] >= 20, idle_polls
    assert max(started) < 0.35, started  # picked up within a poll of the prompt queue, not after a 1 s sleep


def test_a_quiet_queue_is_looked_at_seldom_yet_runs_its_delayed_messages_on_time_and_lets_the_worker_stop_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A queue nobody watches live is looked at up to every ``worker_idle_poll_ms`` (1.5 s here) while it is empty,
    whatever the worker timeout (100 ms here, so dramatiq's consumer would look ten times a second). Two things cut
    such a sleep short: a delayed message in hand coming due, and the worker stopping."""
    monkeypatch.setattr(get_settings(), "worker_idle_poll_ms", 1500)
    broker = build_broker(REDIS_URL, metrics_port=0)
    quiet = f"quiet_{uuid.uuid4().hex[:10]}"
    looks: dict[str, list[float]] = {quiet: [], dq_name(quiet): []}
    fetch = broker.do_fetch  # type: ignore[attr-defined]  # RedisBroker dispatches do_* to its Lua script

    def counting_fetch(queue_name: str, prefetch: int) -> object:
        if queue_name in looks:
            looks[queue_name].append(time.monotonic())
        return fetch(queue_name, prefetch)

    broker.do_fetch = counting_fetch  # type: ignore[attr-defined]
    late: dict[str, float] = {}

    def record(name: str, due: float) -> None:
        late[name] = time.time() - due

    actor = dramatiq.actor(record, broker=broker, actor_name=quiet, queue_name=quiet, max_retries=0)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    started = time.monotonic()
    worker.start()
    stopped_in = None
    try:
        time.sleep(6)  # idle: the consumers back off to their longest sleeps (0.75-1.5 s with dramatiq's jitter)
        for name, delay_ms in (("first", 4000), ("second", 4600)):
            actor.send_with_options(args=(name, time.time() + delay_ms / 1000), delay=delay_ms)
        deadline = time.monotonic() + 10
        while len(late) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # idle again, the consumers asleep
        stopping = time.monotonic()
        worker.stop()
        stopped_in = time.monotonic() - stopping
    finally:
        if stopped_in is None:
            worker.stop()
        broker.client.delete(f"dramatiq:{quiet}", f"dramatiq:{dq_name(quiet)}", f"dramatiq:{xq_name(quiet)}")
        broker.close()

    # From 3 s to 6 s after the start, the backoff at its longest: at most four looks at the queue (a 100 ms cap
    # would make about thirty).
    settled = [moment - started for moment in looks[quiet] if 3 <= moment - started <= 6]
    assert len(settled) <= 4, settled
    # The delay queue's consumer found each message within a sleep (1.5 s) and then slept only until it was due,
    # not a whole sleep past it.
    assert sorted(late) == ["first", "second"], late
    assert all(-0.05 < seconds < 0.25 for seconds in late.values()), late
    # Stopping ended the consumers' sleeps at once instead of waiting up to 1.5 s for them.
    assert stopped_in < 0.5, stopped_in


def test_amqp_url_round_trips_through_rabbitmq() -> None:
    broker = build_broker(AMQP_URL, metrics_port=0)
    assert isinstance(broker, RabbitmqBroker) and broker_kind(broker) == "rabbitmq"
    queue = ""
    try:
        queue, seen = round_trip(broker)
        assert seen == ["hello through rabbitmq"]
    finally:
        if queue:
            for name in (queue, dq_name(queue), xq_name(queue)):
                broker.channel.queue_delete(name)
        broker.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis", "postgresql://localhost/x", "stub"])
def test_any_other_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(ValueError, match="ADVOCACY_BROKER_URL must be empty"):
        build_broker(url)


def test_metrics_middleware_only_for_real_brokers_with_a_port() -> None:
    def has_metrics(broker: dramatiq.Broker) -> bool:
        return any(isinstance(m, WorkerMetrics) for m in broker.middleware)

    assert has_metrics(build_broker(REDIS_URL, metrics_port=9391))
    assert has_metrics(build_broker(AMQP_URL, metrics_port=9391))
    assert not has_metrics(build_broker(REDIS_URL, metrics_port=0))
    assert not has_metrics(build_broker("", metrics_port=9391))  # the web process serves no worker metrics
    assert WorkerMetrics().forks == [serve_metrics]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
def test_a_dramatiq_worker_process_serves_metrics_on_the_configured_port(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "ADVOCACY_BROKER_URL": REDIS_URL,
        "ADVOCACY_METRICS_PORT": str(port),
        "dramatiq_prom_host": "127.0.0.1",
        "dramatiq_prom_db": str(tmp_path / "prometheus"),
    }
    args = [sys.executable, "-m", "dramatiq", "advocacy.broker", "--processes", "1", "--threads", "1"]
    with background_process(args, tmp_path / "worker.log", env) as process:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"].startswith("text/plain")
                    response.read()
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.3)
