"""A local stand-in for SendGrid's v3 Mail Send API, for tests that use the real ``sendgrid`` client.

It checks a ``POST /v3/mail/send`` the way the real API does (the rules and messages below follow SendGrid's Mail
Send and Errors documentation): Bearer auth (401), valid JSON, 1..1000 personalizations each with ``to``, at most
1000 recipients, no address twice within a personalization, ``from.email``, a subject (top level or in every
personalization), content blocks with type and value (text/plain first), attachments with a filename and
base64 content, total size at most 30 MB (413). Errors come back as ``{"errors": [{"message", "field", "help"}]}``.

Scriptable: ``fake.script(429, 500, 202)`` decides the next three answers (202 means "process normally"; 0 means
"read the request, then close the connection without an answer"), ``fake.hang(seconds)`` makes the next request wait
before answering (client timeouts); ``latency`` (seconds) delays every answer, as the real API's round trip does
(benchmarks). Connections stay open between requests (HTTP/1.1) until the client closes them or, with
``idle_timeout`` (seconds), until they sat idle that long, as real servers close them. Everything is recorded:
``fake.requests`` (every request with its status and the client port of its connection) and ``fake.accepted``
(payloads answered 202).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAIL_SEND_PATH = "/v3/mail/send"
MAX_BYTES = 30 * 1024 * 1024
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    message_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    connection: int = 0  # the client's port: requests on one kept-alive connection share it

    def json(self) -> Any:
        return json.loads(self.body)


def _error(message: str, field_name: str | None = None, help_anchor: str | None = None) -> dict[str, Any]:
    return {"message": message, "field": field_name, "help": f"{HELP}#{help_anchor}" if help_anchor else None}


def validate_mail_send(payload: Any) -> list[dict[str, Any]]:
    """The API's validation errors for a mail-send body (empty when it would be accepted)."""
    if not isinstance(payload, dict):
        return [_error("Bad Request")]
    errors: list[dict[str, Any]] = []
    personalizations = payload.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            _error(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
                "message.personalizations",
            )
        )
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(
            _error(
                f"The personalizations field must have no more than {MAX_PERSONALIZATIONS} items.",
                "personalizations",
                "message.personalizations",
            )
        )
    recipients = 0
    every_personalization_has_subject = bool(personalizations)
    for i, p in enumerate(personalizations):
        where = f"personalizations.{i}"
        if not isinstance(p, dict):
            errors.append(_error("The personalization must be an object.", where, "message.personalizations"))
            every_personalization_has_subject = False
            continue
        if not isinstance(p.get("subject"), str) or not p["subject"]:
            every_personalization_has_subject = False
        to = p.get("to")
        if not isinstance(to, list) or not to:
            errors.append(
                _error(
                    "The to array is required for all personalization objects, and must have at least "
                    "one email object with a valid email address.",
                    f"{where}.to",
                    "message.personalizations.to",
                )
            )
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            group = p.get(kind)
            if group is None:
                continue
            if not isinstance(group, list) or (kind != "to" and not group):
                errors.append(
                    _error(
                        f"The {kind} field must be an array with at least one item.",
                        f"{where}.{kind}",
                        "message.recipient_errors",
                    )
                )
                continue
            for j, address in enumerate(group):
                value = address.get("email") if isinstance(address, dict) else None
                if not isinstance(value, str) or not _EMAIL.match(value):
                    errors.append(
                        _error(
                            "Does not contain a valid address.", f"{where}.{kind}.{j}.email", "message.personalizations"
                        )
                    )
                    continue
                recipients += 1
                if value.lower() in seen:
                    errors.append(
                        _error(
                            "Each email address in the personalization block should be unique between to, cc, and bcc. "
                            f"We found the first duplicate instance of [{value}] in the {where}.{kind} field.",
                            f"{where}.{kind}",
                            "message.recipient_errors",
                        )
                    )
                seen.add(value.lower())
        for key in ("substitutions", "custom_args", "headers"):
            if key in p and not _string_map(p[key]):
                errors.append(
                    _error(
                        f"The {key} field must be an object with string values.",
                        f"{where}.{key}",
                        f"message.personalizations.{key}",
                    )
                )
    if recipients > MAX_RECIPIENTS:
        errors.append(
            _error(
                f"The total number of recipients must be no more than {MAX_RECIPIENTS}.",
                "personalizations",
                "message.recipient_errors",
            )
        )

    sender = payload.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str) or not _EMAIL.match(sender["email"]):
        errors.append(
            _error(
                "The from object must be provided for every email send. It is an object that requires "
                "the email parameter, but may also contain a name parameter.",
                "from",
                "message.from",
            )
        )
    reply_to = payload.get("reply_to")
    if reply_to is not None and (not isinstance(reply_to, dict) or not _EMAIL.match(str(reply_to.get("email", "")))):
        errors.append(
            _error("The reply_to email does not contain a valid address.", "reply_to.email", "message.reply_to")
        )
    subject = payload.get("subject")
    if (not isinstance(subject, str) or not subject) and not every_personalization_has_subject:
        errors.append(
            _error(
                "The subject is required. You can get around this requirement if you use a template "
                "with a subject defined or if every personalization has a subject defined.",
                "subject",
                "message.subject",
            )
        )

    content = payload.get("content")
    if not isinstance(content, list) or not content:
        errors.append(
            _error(
                "Unless a valid template_id is provided, the content parameter is required. There must "
                "be at least one defined content block. We typically suggest both text/plain and "
                "text/html blocks are included, but only one block is required.",
                "content",
                "message.content",
            )
        )
        content = []
    types = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str) or not block["type"]:
            errors.append(
                _error(
                    "The content type cannot contain ';', or CRLF characters, and must be at least one "
                    "character in length.",
                    f"content.{i}.type",
                    "message.content.type",
                )
            )
            continue
        types.append(block["type"])
        if not isinstance(block.get("value"), str) or not block["value"]:
            errors.append(
                _error(
                    "The content value must be a string at least one character in length.",
                    f"content.{i}.value",
                    "message.content.value",
                )
            )
    if "text/plain" in types and types[0] != "text/plain":
        errors.append(
            _error(
                "If present, text/plain content must be first, followed by text/html, followed by any other content.",
                "content",
                "message.content",
            )
        )

    attachments = payload.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list) or not attachments:
            errors.append(
                _error(
                    "The attachments field must be an array with at least one item.",
                    "attachments",
                    "message.attachments",
                )
            )
            attachments = []
        for i, attachment in enumerate(attachments):
            attachment = attachment if isinstance(attachment, dict) else {}
            if not isinstance(attachment.get("filename"), str) or not attachment["filename"]:
                errors.append(
                    _error(
                        "The attachment filename parameter is required.",
                        f"attachments.{i}.filename",
                        "message.attachments.filename",
                    )
                )
            data = attachment.get("content")
            if not isinstance(data, str) or not data or not _is_base64(data):
                errors.append(
                    _error(
                        "The attachment content must be base64 encoded.",
                        f"attachments.{i}.content",
                        "message.attachments.content",
                    )
                )

    categories = payload.get("categories")
    if categories is not None and (
        not isinstance(categories, list) or len(categories) > 10 or not all(isinstance(c, str) for c in categories)
    ):
        errors.append(
            _error("The categories field must be an array of at most 10 strings.", "categories", "message.categories")
        )
    for key in ("custom_args", "headers"):
        if key in payload and not _string_map(payload[key]):
            errors.append(_error(f"The {key} field must be an object with string values.", key, f"message.{key}"))
    return errors


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _is_base64(data: str) -> bool:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 stalls tests that send from many threads at once


class FakeSendGrid:
    """The fake server (a context manager). ``url`` is the ``host`` to give ``SendGridAPIClient``."""

    def __init__(
        self,
        api_key: str = "SG.fake-test-key",
        max_bytes: int = MAX_BYTES,
        latency: float = 0.0,
        idle_timeout: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.max_bytes = max_bytes
        self.latency = latency
        self.idle_timeout = idle_timeout
        self.requests: list[RecordedRequest] = []
        self.accepted: list[dict[str, Any]] = []
        self._script: deque[tuple[int, float | None]] = deque()
        self._hangs: deque[float] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------------------------------

    def script(self, *statuses: int, retry_after: float | None = 2) -> None:
        """Answer the next requests with these statuses, in order (202: validate and accept as usual).

        A 429 carries ``Retry-After: retry_after`` (left out when ``None``) and the ``X-RateLimit-*`` headers.
        """
        with self._lock:
            self._script.extend((status, retry_after) for status in statuses)

    def hang(self, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` requests wait ``seconds`` before they are answered."""
        with self._lock:
            self._hangs.extend([seconds] * times)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeSendGrid:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-sendgrid", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # wakes hanging handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # -- the handler -----------------------------------------------------------------------------------------

    def _next_scripted(self) -> tuple[tuple[int, float | None] | None, float]:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
            hang = self._hangs.popleft() if self._hangs else 0.0
            return scripted, hang

    def _record(self, request: RecordedRequest, payload: Any = None) -> None:
        with self._lock:
            self.requests.append(request)
            if request.status == 202:
                self.accepted.append(payload)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Waiting for the next request on a kept-alive connection times out after this: the server closes it.
            timeout = fake.idle_timeout

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _reply(
                self,
                recorded: RecordedRequest,
                status: int,
                errors: list[dict[str, Any]] | None = None,
                headers: dict[str, str] | None = None,
                payload: Any = None,
            ) -> None:
                recorded.status = status
                recorded.errors = errors or []
                data = json.dumps({"errors": errors}).encode() if errors else b""
                fake._record(recorded, payload)
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    if data:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""  # read it all, or the client sees a reset
                recorded = RecordedRequest(
                    self.command, self.path, dict(self.headers.items()), body, connection=self.client_address[1]
                )
                scripted, hang = fake._next_scripted()
                if hang or fake.latency:
                    fake._closing.wait(hang + fake.latency)
                if scripted and scripted[0] == 0:  # a server that fails after reading the request
                    fake._record(recorded)
                    self.close_connection = True
                    return None
                if self.path != MAIL_SEND_PATH or self.command != "POST":
                    return self._reply(recorded, 404, [_error("The requested resource was not found.")])
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._reply(
                        recorded, 401, [_error("The provided authorization grant is invalid, expired, or revoked")]
                    )
                if scripted and scripted[0] != 202:
                    status, retry_after = scripted
                    headers: dict[str, str] = {}
                    if status == 429:
                        reset = int(time.time()) + int(retry_after or 60)
                        headers = {
                            "X-RateLimit-Limit": "600",
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(reset),
                        }
                        if retry_after is not None:
                            headers["Retry-After"] = str(int(retry_after))
                    message = {429: "too many requests", 500: "internal server error", 503: "service unavailable"}.get(
                        status, f"scripted error {status}"
                    )
                    return self._reply(recorded, status, [_error(message)], headers)
                if len(body) > fake.max_bytes:
                    return self._reply(
                        recorded,
                        413,
                        [
                            _error(
                                "The JSON payload you have included in your request is too large.",
                                None,
                                "message.payload_too_large",
                            )
                        ],
                    )
                try:
                    payload = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    return self._reply(recorded, 400, [_error("Bad Request", None, "message.bad_request")])
                errors = validate_mail_send(payload)
                if errors:
                    return self._reply(recorded, 400, errors)
                recorded.message_id = secrets.token_urlsafe(16)[:22]
                self._reply(recorded, 202, None, {"X-Message-Id": recorded.message_id}, payload)

            do_POST = _handle
            do_GET = _handle
            do_PUT = _handle
            do_DELETE = _handle

        return Handler
