"""Outgoing e-mail: one message type, three mailers.

- ``SendGridMailer``: the real ``sendgrid`` client (the only module that imports it), when
  ``ADVOCACY_SENDGRID_API_KEY`` is set; its host comes from ``ADVOCACY_SENDGRID_API_HOST``.
- ``OutboxMailer``: each personalization written as an ``.eml`` file under ``var/outbox/`` (the default).
- ``MemoryMailer``: keeps messages in a list (unit tests of callers that do not care about transport).

A message may carry several personalizations (one SendGrid call, one envelope per recipient group), which is how
a letter goes to every recipient at once and how alerts go out in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


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


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send ``email`` and return the provider's message id; raise ``MailError`` on failure."""
        ...
