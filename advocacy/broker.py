"""The dramatiq broker, chosen by ``ADVOCACY_BROKER_URL`` and set once, before any actor is declared.

Empty URL: an in-process StubBroker whose worker threads live in the web process (``make run``).
``redis://…``: RedisBroker. ``amqp://…``: RabbitmqBroker. Both deliver at least once, so every actor is
idempotent, and the sweep re-sends nudges for work that waited too long (the database is the truth).
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.prometheus import Prometheus

from advocacy.settings import get_settings

# Redis requeues a dead worker's messages only after its heartbeat times out and only when "maintenance"
# happens to run; we lower the first and raise the chance of the second so a killed worker's letters come back
# within seconds rather than minutes (the sweep is the backstop either way).
REDIS_HEARTBEAT_TIMEOUT_MS = 15_000
REDIS_MAINTENANCE_CHANCE = 50_000

# /ready must answer even when the broker host silently drops packets.
PING_TIMEOUT_SECONDS = 3.0


# Messages a worker thread keeps in hand. dramatiq's Redis consumer, once its prefetch is full, sleeps with a
# growing backoff (up to the worker timeout, 1 s) before it hands back acks and fetches again; with dramatiq's
# default of 2 per thread, one ~50 ms letter in hand does not cover that sleep and the worker stalls (measured in
# bench/letters.py: 20 stalls of 5-90 ms per 300 letters, 1.6 ms per letter). Four per thread cover it.
QUEUE_PREFETCH_PER_THREAD = 4


# Queues whose idle consumers look for new messages sooner than dramatiq's backoff allows (it sleeps up to the
# worker timeout, 1 s, between empty polls): queue name -> longest sleep in ms. Set by the package that owns the
# queue (``poll_promptly``), before a worker starts its consumers.
_PROMPT_QUEUES: dict[str, int] = {}


def poll_promptly(queue_name: str, every_ms: int) -> None:
    """Let an idle worker's Redis consumer of ``queue_name`` poll it at least every ``every_ms`` ms, for a queue whose
    messages someone is waiting for. Each poll of an idle queue is a Redis call and a wake-up of the worker process,
    so only for queues where the latency is worth it."""
    _PROMPT_QUEUES[queue_name] = every_ms


class AckWakingConsumer(_RedisConsumer):
    """dramatiq's Redis consumer, except that with its prefetch full it waits for the worker's next ack instead of
    polling.

    dramatiq's consumer thread, with as many messages in hand as it may prefetch, sleeps 5, 10, 20, 40 … ms (up to
    the worker timeout) and wakes each time to find the same full hand: four or five wake-ups per letter while the
    render thread works, and in a worker process every wake-up takes the GIL from it and gives it back, which costs
    the render thread far more than the consumer's own few microseconds (docs/benchmarks.md). Here the consumer
    sleeps until an ack or nack makes room (or the worker timeout passes, so it still sees a pause or a stop), then
    fetches at once. Delay queues (``*.DQ``) keep dramatiq's polling: their messages wait in the consumer for their
    time to come, which no ack announces. A queue given to ``poll_promptly`` is polled while empty with a shorter
    longest sleep than the worker timeout."""

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._room = threading.Event()
        self._waits_for_acks = not queue_name.endswith(".DQ")
        self._worker_timeout = timeout
        # dramatiq's consumer sleeps up to ``self.timeout`` between empty polls.
        self.timeout = min(timeout, _PROMPT_QUEUES.get(queue_name, timeout))

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        finally:
            self._room.set()

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        finally:
            self._room.set()

    def __next__(self) -> Any:
        if self._waits_for_acks and not self.message_cache and self._hand_is_full():
            self._room.clear()
            if self._hand_is_full():  # checked again: an ack between the first check and the clear is not missed
                self._room.wait(self._worker_timeout / 1000)
            return None  # as dramatiq's consumer after a sleep: its thread sees pauses and stops, then asks again
        return super().__next__()  # type: ignore[no-untyped-call]

    def _hand_is_full(self) -> bool:
        return bool(self.outstanding_message_count >= self.prefetch)


class AckWakingRedisBroker(RedisBroker):
    """dramatiq's RedisBroker with ``AckWakingConsumer`` as its consumer (``consumer_class`` is its hook for that)."""

    @property
    def consumer_class(self) -> type[AckWakingConsumer]:
        return AckWakingConsumer


def worker_environment(threads: int) -> dict[str, str]:
    """dramatiq's own settings for worker processes, which dramatiq reads from the environment (lower-case names);
    an operator's value in the environment wins."""
    return {"dramatiq_queue_prefetch": str(QUEUE_PREFETCH_PER_THREAD * threads)}


def build_broker(url: str, *, metrics_port: int | None = None) -> dramatiq.Broker:
    """A broker for ``url`` (see the module docstring); ``ValueError`` for any other scheme.

    ``metrics_port`` (default: the ``metrics_port`` setting) adds Prometheus metrics to Redis and RabbitMQ brokers:
    dramatiq worker processes then serve ``/metrics`` on that port. The embedded broker has no worker processes
    and serves none.
    """
    from advocacy.logs import MessageLogContext

    if url.startswith(("redis://", "rediss://")):
        broker: dramatiq.Broker = AckWakingRedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=REDIS_MAINTENANCE_CHANCE,
        )
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    elif url in ("", "stub://"):
        broker = StubBroker()
        broker.emit_after("process_boot")
    else:
        scheme = url.partition("://")[0] if "://" in url else url[:20]
        raise ValueError(
            f"ADVOCACY_BROKER_URL must be empty (in-process), redis://… or amqp://…; {scheme!r} is not supported"
        )
    # Added after the stub's process_boot on purpose: in the web process logging is configured by create_app.
    broker.add_middleware(MessageLogContext())
    if metrics_port is None:
        metrics_port = get_settings().metrics_port
    if metrics_port and not isinstance(broker, StubBroker):
        broker.add_middleware(WorkerMetrics())
    return broker


class WorkerMetrics(Prometheus):
    """dramatiq's Prometheus middleware, serving on the ``metrics_port`` setting.

    dramatiq's own exposition server reads its port from the ``dramatiq_prom_port`` environment variable when its
    module is first imported, in the ``dramatiq`` master process, which never reads our settings; so the forked
    server process is ours: it reads the setting, then runs dramatiq's server.
    """

    @property
    def forks(self) -> list[Any]:
        return [serve_metrics]


def serve_metrics() -> int:
    """Body of the metrics fork process started by the ``dramatiq`` command (blocks until stopped)."""
    from dramatiq.middleware import prometheus

    prometheus.HTTP_PORT = get_settings().metrics_port or prometheus.HTTP_PORT
    result: int = prometheus._run_exposition_server()  # type: ignore[no-untyped-call]
    return result


broker: dramatiq.Broker = build_broker(get_settings().broker_url)
dramatiq.set_broker(broker)


def broker_kind(b: dramatiq.Broker | None = None) -> str:
    """``embedded``, ``redis`` or ``rabbitmq``: shown by /ready and the console."""
    b = b or broker
    if isinstance(b, StubBroker):
        return "embedded"
    if isinstance(b, RedisBroker):
        return "redis"
    return "rabbitmq" if type(b).__name__ == "RabbitmqBroker" else type(b).__name__


def ping_broker(b: dramatiq.Broker | None = None, *, timeout: float = PING_TIMEOUT_SECONDS) -> None:
    """Raise if broker ``b`` (default: the configured one) does not answer within ``timeout`` seconds."""
    target = b or broker
    kind = broker_kind(target)
    if kind == "embedded":
        return
    outcome: list[BaseException | None] = []

    def check() -> None:
        try:
            if kind == "redis":
                target.client.ping()  # type: ignore[attr-defined]
            elif kind == "rabbitmq":
                # A connection of its own, closed at once: the broker's connections are per thread and would
                # pile up if each readiness probe opened one on its thread.
                import pika  # type: ignore[import-untyped]

                connection = pika.BlockingConnection(parameters=target.parameters)  # type: ignore[attr-defined]
                connection.close()
            outcome.append(None)
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    thread = threading.Thread(target=check, name="advocacy-broker-ping", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise TimeoutError(f"{kind} broker did not answer within {timeout:g} s")
    if outcome[0] is not None:
        raise outcome[0]
