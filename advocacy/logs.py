"""Structured logs: JSON in production, readable lines in development, each carrying the request id.

The request id follows the work: ``RequestIdMiddleware`` takes it from ``X-Request-ID`` (or makes one) for each
HTTP request, ``MessageLogContext`` copies it into every dramatiq message enqueued during that request and sets it
again in the worker while the message is processed, so one id ties a click to the letter it sent.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

import dramatiq
from dramatiq.broker import MessageProxy
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from advocacy.settings import Settings

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 64


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


_base_record_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_record_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


# Every record, from any logger and caught by any handler (pytest's caplog too), carries the request id.
logging.setLogRecordFactory(_record_with_request_id)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send the ``advocacy`` loggers to ``stream`` (default stderr), as JSON when ``log_json`` or in production."""
    as_json = settings.log_json if settings.log_json is not None else settings.is_production
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger("advocacy")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


class RequestIdMiddleware(ASGIMiddleware):
    """Takes ``X-Request-ID`` from the proxy or makes one, logs the request, echoes the id in the response."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if acceptable_request_id(incoming) else uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            if not scope.get("path", "").startswith("/static/"):
                logging.getLogger("advocacy.http").info(
                    "%s %s %s %.1f ms",
                    scope.get("method"),
                    scope.get("path"),
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            request_id_var.reset(token)


def acceptable_request_id(value: str) -> bool:
    """A proxy's id is kept only if short and plain (it lands in every log line, JSON or not)."""
    return 0 < len(value) <= MAX_REQUEST_ID_LENGTH and all(c.isalnum() or c in "-_.:" for c in value)


class MessageLogContext(dramatiq.Middleware):
    """Carries the request id from the enqueuing request into the worker, and sets up logging in workers."""

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int) -> None:
        request_id = request_id_var.get()
        if request_id != "-" and "request_id" not in message.options:
            message.options["request_id"] = request_id

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        request_id_var.set(str(message.options.get("request_id", "-")))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        request_id_var.set("-")

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        request_id_var.set("-")

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        # Emitted by the `dramatiq` command in each worker process (never in the web process, where create_app
        # configures logging): workers then log like the web, JSON in production.
        from advocacy.settings import get_settings

        configure_logging(get_settings())
