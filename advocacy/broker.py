"""The dramatiq broker, chosen by ``ADVOCACY_BROKER_URL`` and set once, before any actor is declared.

Empty URL: an in-process StubBroker whose worker threads live in the web process (``make run``).
``redis://…``: RedisBroker. ``amqp://…``: RabbitmqBroker. Both deliver at least once, so every actor is
idempotent, and the sweep re-sends nudges for work that waited too long (the database is the truth).
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.stub import StubBroker

from advocacy.settings import get_settings

# Redis requeues a dead worker's messages only after its heartbeat times out and only when "maintenance"
# happens to run; we lower the first and raise the chance of the second so a killed worker's letters come back
# within seconds rather than minutes (the sweep is the backstop either way).
REDIS_HEARTBEAT_TIMEOUT_MS = 15_000
REDIS_MAINTENANCE_CHANCE = 50_000


def build_broker(url: str) -> dramatiq.Broker:
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(  # type: ignore[no-untyped-call]
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
        raise ValueError(f"ADVOCACY_BROKER_URL must be empty, redis://… or amqp://…, not {url!r}")
    metrics_port = get_settings().metrics_port
    if metrics_port and not isinstance(broker, StubBroker):
        from dramatiq.middleware.prometheus import Prometheus

        os.environ.setdefault("dramatiq_prom_port", str(metrics_port))
        broker.add_middleware(Prometheus())
    return broker


broker: dramatiq.Broker = build_broker(get_settings().broker_url)
dramatiq.set_broker(broker)


def broker_kind(b: dramatiq.Broker | None = None) -> str:
    """``embedded``, ``redis`` or ``rabbitmq``: shown by /ready and the console."""
    name = type(b or broker).__name__
    return {"StubBroker": "embedded", "RedisBroker": "redis", "RabbitmqBroker": "rabbitmq"}.get(name, name)


def ping_broker() -> None:
    """Raise if the broker is unreachable (used by /ready)."""
    b = broker
    kind = broker_kind(b)
    if kind == "redis":
        b.client.ping()  # type: ignore[attr-defined]
    elif kind == "rabbitmq":
        _ = b.channel  # type: ignore[attr-defined]  # opening the channel connects, or raises
