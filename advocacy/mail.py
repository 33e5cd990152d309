"""Outgoing e-mail: one message type, three mailers.

- ``SendGridMailer``: the real ``sendgrid`` client (the only module that imports it), when
  ``ADVOCACY_SENDGRID_API_KEY`` is set; its host comes from ``ADVOCACY_SENDGRID_API_HOST``.
- ``OutboxMailer``: each personalization written as an ``.eml`` file under ``var/outbox/`` (the default).
- ``MemoryMailer``: keeps messages in a list (unit tests of callers that do not care about transport).

A message may carry several personalizations (one SendGrid call, one envelope per recipient group), which is how
a letter goes to every recipient at once and how alerts go out in batches.

Callers get the configured mailer from ``get_mailer()`` and build bodies with ``render_email()``.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import os
import select
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.response
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import jinja2

from advocacy import TEMPLATES_DIR
from advocacy.settings import get_settings

log = logging.getLogger("advocacy.mail")

# SendGrid's documented per-request limits (Mail Send API); we refuse locally what the API would refuse anyway.
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


@dataclass
class Personalization:
    to: list[Address]
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    # Text replaced in subject and bodies for this personalization only (e.g. a per-recipient link).
    substitutions: dict[str, str] = field(default_factory=dict)
    # Echoed back by SendGrid's Event Webhook: how events find their delivery.
    custom_args: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Email:
    subject: str
    sender: Address
    text: str
    personalizations: list[Personalization]
    html: str | None = None
    reply_to: Address | None = None
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    custom_args: dict[str, str] = field(default_factory=dict)


class MailError(Exception):
    """Sending failed. ``retryable`` says whether trying again later may succeed (429, 5xx, timeouts)."""

    def __init__(
        self, reason: str, *, status: int | None = None, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"MailError({self.reason!r}, status={self.status}, retryable={self.retryable}, "
            f"retry_after={self.retry_after})"
        )


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send ``email`` and return the provider's message id; raise ``MailError`` on failure."""
        ...


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers


def check_email(message: Email) -> None:
    """Refuse, before any network call, a message no provider would accept (a caller bug, so never retryable)."""
    if not message.personalizations:
        raise MailError("an e-mail needs at least one personalization", retryable=False)
    if len(message.personalizations) > MAX_PERSONALIZATIONS:
        raise MailError(
            f"at most {MAX_PERSONALIZATIONS} personalizations per e-mail, not {len(message.personalizations)}",
            retryable=False,
        )
    total = 0
    for index, personalization in enumerate(message.personalizations):
        if not personalization.to:
            raise MailError(f"personalization {index} has no 'to' address", retryable=False)
        for address in (*personalization.to, *personalization.cc, *personalization.bcc):
            if "@" not in address.email or any(c in address.email for c in " \r\n<>,;"):
                raise MailError(f"not an e-mail address: {address.email!r}", retryable=False)
        total += sum(len(group) for group in unique_recipients(personalization))
    if total > MAX_RECIPIENTS:
        raise MailError(f"at most {MAX_RECIPIENTS} recipients per e-mail, not {total}", retryable=False)
    if not message.subject.strip():
        raise MailError("an e-mail needs a subject", retryable=False)
    if not message.text and not message.html:
        raise MailError("an e-mail needs a body", retryable=False)


def unique_recipients(p: Personalization) -> tuple[list[Address], list[Address], list[Address]]:
    """To, Cc and Bcc with repeated addresses dropped (first one wins, case-insensitive).

    SendGrid rejects a personalization that names the same address twice, and a letter easily does (an official
    who is both the signer in Cc and the city's records contact in Bcc); one copy is what everyone wants.
    """
    seen: set[str] = set()

    def keep(addresses: list[Address]) -> list[Address]:
        kept = []
        for address in addresses:
            key = address.email.strip().lower()
            if key not in seen:
                seen.add(key)
                kept.append(address)
        return kept

    return keep(p.to), keep(p.cc), keep(p.bcc)


def substitute(text: str, substitutions: dict[str, str]) -> str:
    for key, value in substitutions.items():
        text = text.replace(key, value)
    return text


def _format(address: Address) -> str:
    return formataddr((address.name, address.email)) if address.name else address.email


# ---------------------------------------------------------------------------------------------------------------
# Outbox: .eml files for development and for inspecting what would have been sent


class OutboxMailer:
    """Writes one RFC 5322 ``.eml`` file per personalization into ``folder``.

    File names start with a UTC timestamp, so sorting names sorts by time (the /dev/outbox page relies on it).
    Bcc cannot be a real header of a delivered message, so it is kept as ``X-Bcc`` for inspection; custom args
    become ``X-Advocacy-<key>`` headers.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._sequence = 0

    def send(self, email: Email) -> str:
        check_email(email)
        self.folder.mkdir(parents=True, exist_ok=True)
        message_id = f"outbox-{uuid.uuid4().hex[:20]}"
        now = datetime.now(UTC)
        for index, personalization in enumerate(email.personalizations):
            data = bytes(build_mime(email, personalization, message_id=message_id, date=now))
            with self._lock:
                self._sequence += 1
                sequence = self._sequence
            name = f"{now:%Y%m%dT%H%M%S.%f}Z-{sequence % 1_000_000:06d}-{message_id}-{index}.eml"
            temporary = self.folder / f".{name}.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, self.folder / name)  # readers never see a half-written message
        log.info("outbox: %s (%d personalization(s)) %r", message_id, len(email.personalizations), email.subject)
        return message_id


def build_mime(email: Email, personalization: Personalization, *, message_id: str, date: datetime) -> EmailMessage:
    """The message one personalization's recipients would receive, as ``email.message.EmailMessage``."""
    to, cc, bcc = unique_recipients(personalization)
    subs = personalization.substitutions
    msg = EmailMessage()
    msg["From"] = _format(email.sender)
    msg["To"] = ", ".join(_format(a) for a in to)
    if cc:
        msg["Cc"] = ", ".join(_format(a) for a in cc)
    if bcc:
        msg["X-Bcc"] = ", ".join(_format(a) for a in bcc)
    if email.reply_to:
        msg["Reply-To"] = _format(email.reply_to)
    msg["Subject"] = substitute(email.subject, subs)
    msg["Date"] = format_datetime(date)
    domain = email.sender.email.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(idstring=message_id, domain=domain)
    msg["X-Message-Id"] = message_id
    for name, value in {**email.headers, **personalization.headers}.items():
        msg[name] = value
    for key, value in {**email.custom_args, **personalization.custom_args}.items():
        msg[f"X-Advocacy-{key}"] = value
    if email.categories:
        msg["X-Advocacy-Categories"] = ", ".join(email.categories)
    msg.set_content(substitute(email.text, subs) or " ")
    if email.html:
        msg.add_alternative(substitute(email.html, subs), subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        msg.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename
        )
    return msg


# ---------------------------------------------------------------------------------------------------------------
# Memory


class MemoryMailer:
    """Keeps every sent ``Email`` in ``sent`` (thread-safe); for tests that check what was sent, not how."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self._lock = threading.Lock()

    def send(self, email: Email) -> str:
        check_email(email)
        with self._lock:
            self.sent.append(email)
            return f"memory-{len(self.sent)}"


# ---------------------------------------------------------------------------------------------------------------
# SendGrid


class SendGridMailer:
    """One SendGrid v3 mail-send call per ``Email``; errors become ``MailError`` with ``retryable`` set.

    The client does not retry; the calling actor does, on ``retryable`` errors, after ``retry_after`` if given.
    """

    def __init__(self, api_key: str, host: str = "https://api.sendgrid.com", timeout: float = 20.0) -> None:
        from sendgrid import SendGridAPIClient

        if not host.startswith(("https://", "http://")):
            raise ValueError(f"the SendGrid API host must be an http(s) URL, not {host!r}")
        self.timeout = timeout
        client = SendGridAPIClient(api_key=api_key, host=host.rstrip("/"))
        # The client's mail/send endpoint, built once: its URL and headers (API key, user agent) are the client's.
        # Each call passes ``timeout`` itself (python-http-client has none by default, and a stalled connection would
        # hold a sender thread forever).
        self._endpoint = client.client.mail.send
        self._url = self._endpoint._build_url(None)
        self._headers = {**self._endpoint.request_headers, "Content-Type": "application/json"}
        self._openers = threading.local()
        # A proxy configured in the environment for the API host gets urllib's own handlers (a connection per
        # call, through the proxy); otherwise each thread keeps its connection to the API open between calls.
        host_name = urllib.parse.urlsplit(self._url).hostname or ""
        self._keep_alive = not (urllib.request.getproxies() and not urllib.request.proxy_bypass(host_name))
        self._connections: weakref.WeakSet[KeepAliveHandler] = weakref.WeakSet()

    def send(self, email: Email) -> str:
        from python_http_client.exceptions import HTTPError as ApiError

        check_email(email)
        payload = sendgrid_payload(email)
        started = time.monotonic()
        try:
            headers = self._post(payload)
        except ApiError as exc:
            raise _api_error(exc.status_code, exc.body, exc.headers) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            # Connection refused or reset, DNS failure, or no answer within the timeout: worth another try.
            reason = getattr(exc, "reason", exc)
            raise MailError(
                f"SendGrid unreachable after {time.monotonic() - started:.1f} s: {reason}", retryable=True
            ) from None
        message_id = str(headers.get("X-Message-Id") or "")
        if not message_id:
            log.warning("SendGrid accepted %r without an X-Message-Id header", email.subject)
        return message_id

    def _post(self, payload: dict[str, Any]) -> Any:
        """POST ``payload`` to the client's mail/send endpoint (its ``_make_request`` maps HTTP errors to
        python-http-client's exceptions); returns the response headers.

        Why not ``SendGridAPIClient.send``: python-http-client builds a new urllib opener for every request (ten
        handlers, and the proxy settings read from the whole environment) and formats the whole payload for a debug
        log line even when debug logging is off; that was half of a send's CPU (docs/benchmarks.md). Each thread
        keeps an opener of its own, and in it a connection to the API that stays open between calls
        (``KeepAliveHandler``)."""
        opener = getattr(self._openers, "opener", None)
        if opener is None:
            if self._keep_alive:
                handler = KeepAliveHandler()
                self._connections.add(handler)
                opener = urllib.request.build_opener(handler)
            else:
                opener = urllib.request.build_opener()
            self._openers.opener = opener
        request = urllib.request.Request(  # noqa: S310  (an http(s) URL: checked in __init__)
            self._url, data=json.dumps(payload).encode("utf-8"), headers=self._headers, method="POST"
        )
        with self._endpoint._make_request(opener, request, timeout=self.timeout) as response:
            response.read()
            return response.headers

    def close(self) -> None:
        """Close the connections the threads keep open (they open anew on their next call)."""
        for handler in list(self._connections):
            handler.close()


def _readable(sock: Any) -> bool:
    """Whether ``sock`` has something to read right now (poll, not select: a busy process may hold descriptors past
    select's limit of 1,024)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class KeepAliveHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """A urllib handler that keeps ONE connection to the API host open between requests (one opener per thread,
    so one connection per thread).

    Why: a letter's call on a fresh connection costs a TCP handshake (and with the real API a TLS handshake, a
    round trip and several milliseconds of CPU each) and a dozen socket calls; in a worker process each socket call
    of a sender thread hands the GIL back and forth with the render thread, which is most of what a sent letter
    costs beyond its rendering (docs/benchmarks.md).

    Why it sends nothing twice: a connection is reused only when it sat idle less than ``IDLE_SECONDS`` (below the
    idle timeouts of load balancers, which drop connections silently) and the server has not closed it (nothing is
    readable on it). A reused connection that fails anyway is dropped and the call fails as any lost connection or
    timeout does: the caller's retry, after its backoff, sends the message again. A server that closes an idle
    connection does so without reading a request on it, so that retry sends the letter once; a server that fails
    after taking a request is the case of a timeout, which fresh connections have too. Nothing is retried here.
    """

    IDLE_SECONDS = 15.0

    def __init__(self) -> None:
        urllib.request.HTTPHandler.__init__(self)
        urllib.request.HTTPSHandler.__init__(self)
        self._connection: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str] = ("", "")
        self._idle_since = 0.0

    # urllib takes any file-like response with a status and headers (as its own ``addinfourl``).
    def http_open(self, req: urllib.request.Request) -> urllib.response.addinfourl:  # type: ignore[override]
        return self._open(req, "http")

    def https_open(self, req: urllib.request.Request) -> urllib.response.addinfourl:  # type: ignore[override]
        return self._open(req, "https")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _reusable(self, origin: tuple[str, str]) -> http.client.HTTPConnection | None:
        connection = self._connection
        if connection is None or connection.sock is None:
            return None
        if origin != self._origin or time.monotonic() - self._idle_since > self.IDLE_SECONDS:
            self.close()
            return None
        if _readable(connection.sock):  # the server closed it (or sent what nobody asked for): not one to send on
            self.close()
            return None
        return connection

    def _open(self, req: urllib.request.Request, scheme: str) -> urllib.response.addinfourl:
        origin = (scheme, req.host)
        timeout = req.timeout if isinstance(req.timeout, int | float) else None
        connection = self._reusable(origin)
        if connection is None:
            if scheme == "https":
                connection = http.client.HTTPSConnection(req.host, timeout=timeout)  # urllib's default TLS context
            else:
                connection = http.client.HTTPConnection(req.host, timeout=timeout)
            self._connection, self._origin = connection, origin
        else:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
        headers = {name.title(): value for name, value in [*req.headers.items(), *req.unredirected_hdrs.items()]}
        try:
            connection.request(req.get_method(), req.selector, req.data, headers)
            response = connection.getresponse()
            body = response.read()
        except OSError as err:  # as urllib's own handler: the caller sees a URLError
            self.close()
            raise urllib.error.URLError(err) from None
        except http.client.HTTPException:
            self.close()
            raise
        if response.will_close:
            self.close()
        else:
            self._idle_since = time.monotonic()
        result = urllib.response.addinfourl(io.BytesIO(body), response.msg, req.get_full_url(), response.status)
        result.msg = response.reason  # type: ignore[attr-defined]  # urllib's error processor reads it
        return result


def sendgrid_payload(email: Email) -> dict[str, Any]:
    """The v3 ``/mail/send`` request body. Empty optional fields are left out: the API rejects empty arrays."""

    def addresses(items: list[Address]) -> list[dict[str, str]]:
        return [{"email": a.email, "name": a.name} if a.name else {"email": a.email} for a in items]

    personalizations = []
    for p in email.personalizations:
        to, cc, bcc = unique_recipients(p)
        entry: dict[str, Any] = {"to": addresses(to)}
        if cc:
            entry["cc"] = addresses(cc)
        if bcc:
            entry["bcc"] = addresses(bcc)
        if p.substitutions:
            entry["substitutions"] = dict(p.substitutions)
        if p.custom_args:
            entry["custom_args"] = {k: str(v) for k, v in p.custom_args.items()}
        if p.headers:
            entry["headers"] = dict(p.headers)
        personalizations.append(entry)
    payload: dict[str, Any] = {
        "personalizations": personalizations,
        "from": addresses([email.sender])[0],
        "subject": email.subject,
        # text/plain must come first when present (an API rule).
        "content": [{"type": "text/plain", "value": email.text or " "}]
        + ([{"type": "text/html", "value": email.html}] if email.html else []),
    }
    if email.reply_to:
        payload["reply_to"] = addresses([email.reply_to])[0]
    if email.attachments:
        payload["attachments"] = [
            {
                "content": base64.b64encode(a.content).decode("ascii"),
                "filename": a.filename,
                "type": a.mimetype,
                "disposition": "attachment",
            }
            for a in email.attachments
        ]
    if email.headers:
        payload["headers"] = dict(email.headers)
    if email.categories:
        payload["categories"] = list(email.categories)
    if email.custom_args:
        payload["custom_args"] = {k: str(v) for k, v in email.custom_args.items()}
    return payload


def _api_error(status: int, body: bytes | None, headers: Any) -> MailError:
    reason = _api_error_messages(body) or f"HTTP {status}"
    if status == 429:
        return MailError(
            f"SendGrid rate limit: {reason}", status=status, retryable=True, retry_after=_retry_after(headers)
        )
    if status >= 500 or status == 408:
        return MailError(f"SendGrid server error {status}: {reason}", status=status, retryable=True)
    return MailError(f"SendGrid refused the message ({status}): {reason}", status=status, retryable=False)


def _api_error_messages(body: bytes | None) -> str:
    """SendGrid errors are ``{"errors": [{"message", "field", "help"}]}``; fall back to the raw text."""
    if not body:
        return ""
    try:
        errors = json.loads(body.decode("utf-8")).get("errors") or []
        parts = [
            f"{e['message']} ({e['field']})" if e.get("field") else str(e.get("message"))
            for e in errors
            if isinstance(e, dict)
        ]
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError, UnicodeDecodeError):
        pass
    return body.decode("utf-8", "replace")[:500]


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else ``X-RateLimit-Reset`` (epoch seconds)."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(1.0, float(reset) - time.time())
        except ValueError:
            pass
    return None


# ---------------------------------------------------------------------------------------------------------------
# The configured mailer

_mailer: Mailer | None = None
_mailer_lock = threading.Lock()


def get_mailer() -> Mailer:
    """SendGrid when ``sendgrid_api_key`` is set, else the outbox folder; built once per process."""
    global _mailer
    with _mailer_lock:
        if _mailer is None:
            settings = get_settings()
            if settings.sendgrid_api_key:
                _mailer = SendGridMailer(
                    settings.sendgrid_api_key, settings.sendgrid_api_host, settings.sendgrid_timeout_seconds
                )
            else:
                _mailer = OutboxMailer(settings.outbox_dir)
        return _mailer


def reset_mailer(mailer: Mailer | None = None) -> None:
    """Forget the configured mailer (the next ``get_mailer()`` reads settings again), or install ``mailer``."""
    global _mailer
    with _mailer_lock:
        _mailer = mailer


# ---------------------------------------------------------------------------------------------------------------
# Templates


@lru_cache(maxsize=8)
def _environment(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        # body.html is escaped; subject.txt and body.txt are plain text, where escaping would show "&amp;".
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        # A missing variable fails the render instead of mailing "Dear ," to a legislator.
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(
    template_dir_name: str, context: dict[str, Any], *, directory: Path | None = None
) -> tuple[str, str, str | None]:
    """Render ``templates/email/<name>/{subject.txt, body.txt, body.html}`` to ``(subject, text, html)``.

    ``body.html`` is optional (``html`` is then ``None``). The subject is one line. Templates see the page
    template globals (league names, ``format_date``) plus ``base_url``, then ``context``.
    """
    from advocacy.web import template_globals

    settings = get_settings()
    env = _environment(directory or TEMPLATES_DIR / "email")
    values = {**template_globals(settings), "base_url": settings.base_url.rstrip("/"), **context}
    subject = " ".join(env.get_template(f"{template_dir_name}/subject.txt").render(values).split())
    text = env.get_template(f"{template_dir_name}/body.txt").render(values)
    try:
        html_template = env.get_template(f"{template_dir_name}/body.html")
    except jinja2.TemplateNotFound:
        return subject, text, None
    return subject, text, html_template.render(values)
