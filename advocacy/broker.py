"""The dramatiq broker, chosen by ``ADVOCACY_BROKER_URL`` and set once, before any actor is declared.

Empty URL: an in-process StubBroker whose worker threads live in the web process (``make run``).
``redis://…``: RedisBroker. ``amqp://…``: RabbitmqBroker. Both deliver at least once, so every actor is
idempotent, and the sweep re-sends nudges for work that waited too long (the database is the truth).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed
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


# How long an idle worker's Redis consumer sleeps, at most, between looks at its empty queue: queue name -> ms, set
# by the package that owns the queue (``poll_promptly``) before a worker starts its consumers. Any other queue is
# quiet: nobody watches its messages live, so it waits up to the ``worker_idle_poll_ms`` setting (5 s).
_PROMPT_QUEUES: dict[str, int] = {}

# While a worker stops, its consumers look at least this often (they notice the stop only between looks).
_STOPPING_POLL_MS = 50


def poll_promptly(queue_name: str, every_ms: int) -> None:
    """Let an idle worker's Redis consumer of ``queue_name`` poll it at least every ``every_ms`` ms, for a queue whose
    messages someone is waiting for. Each poll of an idle queue is a Redis call and a wake-up of the worker process,
    so only for queues where the latency is worth it."""
    _PROMPT_QUEUES[queue_name] = every_ms


class AckWakingConsumer(_RedisConsumer):
    """dramatiq's Redis consumer, except for when it sleeps and what wakes it.

    With its prefetch full it waits for the worker's acks instead of polling. dramatiq's consumer thread, with as
    many messages in hand as it may prefetch, sleeps 5, 10, 20, 40 … ms (up to the worker timeout) and wakes each
    time to find the same full hand: four or five wake-ups per letter while the render thread works, and in a worker
    process every wake-up takes the GIL from it and gives it back, which costs the render thread far more than the
    consumer's own few microseconds (docs/benchmarks.md). Here the consumer sleeps until acks or nacks make room for
    half its prefetch (or the worker timeout passes, so it still sees a pause or a stop), then fetches that many at
    once. Delay queues (``*.DQ``) keep polling: their messages wait in the consumer for their time to come, which no
    ack announces.

    With its queue empty it backs off as dramatiq's does (5, 10, 20 … ms), but up to a bound of the queue's own
    instead of the worker timeout (1 s): 100 ms for the letters queue (``poll_promptly``), the
    ``worker_idle_poll_ms`` setting (5 s) for the quiet ones. A worker process consumes ten queues, and each look at
    an empty one costs the busy render thread a GIL hand-over and the consumer a Redis call: at dramatiq's 1 s the
    nine quiet queues took 2.3 ms of CPU per letter, 1.4 % of a rendering (docs/benchmarks.md). Three things cut a
    long sleep short: a message this process enqueues to the queue (``AckWakingRedisBroker.enqueue``), a delayed
    message in hand coming due (its consumer thread moves it to its queue only between looks), and the worker
    stopping (``HurryConsumersAtShutdown``)."""

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._room = threading.Event()
        # A full hand is refilled once acks make room for half the prefetch, in one fetch: half the Redis calls
        # and wake-ups of refilling after every ack, and at 4 per thread the running message and one more are
        # still in hand when it happens.
        self._refill = max(1, prefetch // 2)
        self._waits_for_acks = not queue_name.endswith(".DQ")
        self._worker_timeout = timeout
        self._longest_sleep_ms = _PROMPT_QUEUES.get(queue_name, get_settings().worker_idle_poll_ms)
        self._idle_looks = 0  # empty looks in a row: the backoff's exponent
        self._wake = threading.Event()
        self._due_ms: dict[str, int] = {}  # message id -> eta (epoch ms) of the delayed messages in hand

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        finally:
            self._made_room(message)

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        finally:
            self._made_room(message)

    def _made_room(self, message: Any) -> None:
        self._due_ms.pop(message.message_id, None)
        if not self._hand_is_full():
            self._room.set()

    def wake(self) -> None:
        """A message was just enqueued here (``AckWakingRedisBroker.enqueue``): end the current idle sleep."""
        self._wake.set()

    def hurry(self) -> None:
        """The worker is stopping: end the current sleep, and look often until the consumer thread stops."""
        self._longest_sleep_ms = min(self._longest_sleep_ms, _STOPPING_POLL_MS)
        self._wake.set()

    def __next__(self) -> Any:
        if self._waits_for_acks and not self.message_cache and self._hand_is_full():
            self._room.clear()
            if self._hand_is_full():  # checked again: an ack between the first check and the clear is not missed
                self._room.wait(self._worker_timeout / 1000)
            return None  # as dramatiq's consumer after a sleep: its thread sees pauses and stops, then asks again
        if not self.message_cache:
            room = self.prefetch - self.outstanding_message_count
            try:
                self.message_cache = self.broker.do_fetch(self.queue_name, room) if room > 0 else []
            except redis.ConnectionError as exc:
                raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]
            if not self.message_cache:
                self._sleep_while_idle()
                return None
        self._idle_looks = 0
        # dramatiq's consumer hands out the fetched messages (it fetches again only when they are all gone).
        message = super().__next__()  # type: ignore[no-untyped-call]
        if message is not None and isinstance(message.options.get("eta"), (int, float)):
            self._due_ms[message.message_id] = int(message.options["eta"])
        return message

    def _sleep_while_idle(self) -> None:
        self._idle_looks, sleep_ms = compute_backoff(self._idle_looks, max_backoff=self._longest_sleep_ms)
        if self._due_ms:
            sleep_ms = min(sleep_ms, max(0, min(self._due_ms.values()) - int(time.time() * 1000)))
        self._wake.wait(sleep_ms / 1000)
        self._wake.clear()

    def _hand_is_full(self) -> bool:
        """Too full to fetch: less room than a refill."""
        return bool(self.prefetch - self.outstanding_message_count < self._refill)


class HurryConsumersAtShutdown(dramatiq.Middleware):
    """A stopping worker's consumers end their idle sleeps at once, so a 5 s sleep of a quiet queue's consumer does
    not hold up the worker's stop (dramatiq joins each consumer thread, which notices the stop between looks)."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        for thread in worker.consumers.values():
            consumer = getattr(thread, "consumer", None)
            if isinstance(consumer, AckWakingConsumer):
                consumer.hurry()


class AckWakingRedisBroker(RedisBroker):
    """dramatiq's RedisBroker with ``AckWakingConsumer`` as its consumer (``consume`` makes them).

    A message enqueued by this process wakes this process's consumer of its queue, if it is asleep: a delayed
    message that came due (its consumer thread moves it from the delay queue to its queue), or a message one actor
    sends another, starts at once instead of after the rest of an idle sleep (up to 5 s for a quiet queue). Other
    processes' messages are found at the next look."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._local_consumers: dict[str, AckWakingConsumer] = {}

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> AckWakingConsumer:
        consumer = AckWakingConsumer(self, queue_name, prefetch, timeout)
        self._local_consumers[queue_name] = consumer
        return consumer

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        enqueued = super().enqueue(message, delay=delay)
        consumer = self._local_consumers.get(enqueued.queue_name)
        if consumer is not None:
            consumer.wake()
        return enqueued


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
        broker: dramatiq.Broker = AckWakingRedisBroker(
            url=url,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=REDIS_MAINTENANCE_CHANCE,
        )
        broker.add_middleware(HurryConsumersAtShutdown())
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
