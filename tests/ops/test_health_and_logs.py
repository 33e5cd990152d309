"""/health, /ready (and why it fails), request ids in responses and log records, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator

import dramatiq
import pika
import pytest
from litestar.testing import TestClient

from advocacy.broker import build_broker, ping_broker
from advocacy.db import session_scope
from advocacy.logs import MessageLogContext, acceptable_request_id, configure_logging, request_id_var
from advocacy.ops import check_readiness, readiness_response
from advocacy.settings import Settings, get_settings


@pytest.fixture()
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    from advocacy.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture()
def advocacy_records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for the ``advocacy`` loggers, which do not propagate to the root logger."""
    logger = logging.getLogger("advocacy")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_health(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_when_database_and_broker_answer(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    expected_kind = "embedded" if get_settings().embedded_broker else "redis"
    assert checks == {"database": "ok", "broker": f"ok ({expected_kind})"}


def test_ready_is_503_naming_an_unreachable_redis() -> None:
    broker = build_broker(f"redis://127.0.0.1:{closed_port()}/0", metrics_port=0)
    with session_scope() as session:
        checks = check_readiness(session, broker)
    assert checks["database"] == "ok"
    assert checks["broker"].startswith("error: redis: ") and "ConnectionError" in checks["broker"]
    response = readiness_response(checks)
    assert response.status_code == 503
    assert response.content == {"status": "unavailable", "checks": checks}


def test_ping_reports_an_unreachable_rabbitmq() -> None:
    broker = build_broker(f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F", metrics_port=0)
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        ping_broker(broker, timeout=10)
    with session_scope() as session:
        assert check_readiness(session, broker)["broker"].startswith("error: rabbitmq: AMQPConnectionError")


def test_ping_reaches_the_real_rabbitmq_and_gives_up_on_a_silent_host() -> None:
    ping_broker(build_broker("amqp://guest:guest@127.0.0.1:5672/%2F", metrics_port=0))
    # A listener that never answers: the ping gives up at its timeout instead of hanging /ready.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        broker = build_broker(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", metrics_port=0)
        with pytest.raises(TimeoutError):
            ping_broker(broker, timeout=0.3)


def test_request_id_is_echoed_and_in_the_log_records(
    client: TestClient,
    advocacy_records: pytest.LogCaptureFixture,  # type: ignore[type-arg]
) -> None:
    response = client.get("/health", headers={"X-Request-ID": "req-abc.123"})
    assert response.headers["x-request-id"] == "req-abc.123"
    [record] = [r for r in advocacy_records.records if r.name == "advocacy.http" and "/health" in r.getMessage()]
    assert record.request_id == "req-abc.123"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("GET /health 200")


def test_an_unusable_request_id_is_replaced(client: TestClient) -> None:  # type: ignore[type-arg]
    for bad in ("x" * 65, "a b", "evil\x7f", '{"json": 1}'):
        echoed = client.get("/health", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert echoed != bad and acceptable_request_id(echoed)
    first = client.get("/health").headers["x-request-id"]
    assert first and first != client.get("/health").headers["x-request-id"]


def test_json_log_lines() -> None:
    stream = io.StringIO()
    try:
        configure_logging(Settings(log_json=True), stream)
        token = request_id_var.set("req-json-1")
        try:
            logging.getLogger("advocacy.test").warning("letter %s queued", 42)
        finally:
            request_id_var.reset(token)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("advocacy.test").exception("it failed")
    finally:
        configure_logging(get_settings())
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "letter 42 queued" and first["level"] == "warning"
    assert first["logger"] == "advocacy.test" and first["request_id"] == "req-json-1" and first["time"]
    assert second["request_id"] == "-" and "ValueError: boom" in second["exception"]


def test_plain_log_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    try:
        configure_logging(Settings(log_json=False), stream)
        token = request_id_var.set("req-plain-1")
        try:
            logging.getLogger("advocacy.test").info("hello")
        finally:
            request_id_var.reset(token)
    finally:
        configure_logging(get_settings())
    assert "[req-plain-1] advocacy.test: hello" in stream.getvalue()


def test_the_request_id_travels_with_a_message_to_the_worker() -> None:
    broker = build_broker("")
    assert any(isinstance(m, MessageLogContext) for m in broker.middleware)
    seen: list[str] = []
    done = threading.Event()

    def remember() -> None:
        seen.append(request_id_var.get())
        if len(seen) == 2:
            done.set()

    actor = dramatiq.actor(remember, broker=broker, actor_name="remember_request_id", max_retries=0)
    token = request_id_var.set("req-from-web")
    try:
        actor.send()
    finally:
        request_id_var.reset(token)
    actor.send()  # sent outside any request
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        assert done.wait(10)
    finally:
        worker.stop()
    assert seen == ["req-from-web", "-"]
