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

from advocacy.broker import AckWakingConsumer, WorkerMetrics, broker_kind, build_broker, serve_metrics
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


def test_a_redis_consumer_with_a_full_hand_waits_for_the_ack_and_then_fetches_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With as many messages in hand as it may prefetch, the consumer sleeps until the worker acks one (dramatiq's own
    consumer wakes 5, 10, 20, 40 … ms apart meanwhile, and each wake-up costs a busy worker process a GIL hand-over);
    after the ack the next message is fetched at once."""
    broker = build_broker(REDIS_URL, metrics_port=0)
    name = f"hand_{uuid.uuid4().hex[:10]}"
    runs: list[tuple[float, float]] = []
    all_done = threading.Event()
    wakes_with_a_full_hand = 0
    original = AckWakingConsumer.__next__

    def counting_next(consumer: AckWakingConsumer) -> object:
        nonlocal wakes_with_a_full_hand
        full = consumer.queue_name == name and consumer._hand_is_full()
        message = original(consumer)
        wakes_with_a_full_hand += full and message is None
        return message

    monkeypatch.setattr(AckWakingConsumer, "__next__", counting_next)

    def slow(index: int) -> None:
        started = time.monotonic()
        time.sleep(0.3)
        runs.append((started, time.monotonic()))
        if len(runs) == 4:
            all_done.set()

    actor = dramatiq.actor(slow, broker=broker, actor_name=name, queue_name=name, max_retries=0)
    for index in range(4):
        actor.send(index)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=1000)
    worker.queue_prefetch = 1  # the hand is full while a message runs
    worker.start()
    try:
        assert all_done.wait(15), "the worker did not run the four messages"
    finally:
        worker.stop()
        broker.client.delete(f"dramatiq:{name}", f"dramatiq:{dq_name(name)}", f"dramatiq:{xq_name(name)}")
        broker.close()

    # One wake-up per message (its ack), not five or six (dramatiq's backoff over 0.3 s: 5+10+20+40+80+160 ms).
    assert wakes_with_a_full_hand <= 6, wakes_with_a_full_hand
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(runs)]
    assert max(gaps) < 0.15, gaps  # the next message started right after the ack, not after a backoff sleep


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
