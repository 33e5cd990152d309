"""SendGrid's signed Event Webhook: check the signature, then move deliveries to delivered, bounced, dropped…

SendGrid signs ``timestamp + raw body`` with ECDSA P-256 / SHA-256 and sends the base64 DER signature in
``X-Twilio-Email-Event-Webhook-Signature`` and the Unix timestamp in ``X-Twilio-Email-Event-Webhook-Timestamp``;
the verification key (Mail Settings → Signed Event Webhook) is base64 DER SubjectPublicKeyInfo. This is the
scheme of sendgrid-python's ``EventWebhook.verify_signature``. We also refuse timestamps older than
``sendgrid_webhook_max_age_seconds``, so a captured request cannot be replayed later.

Events carry the ``custom_args`` of their personalization at top level: ``delivery_id`` finds the delivery.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from advocacy.letters.delivery import alert_staff
from advocacy.letters.models import DELIVERY_MOVES, Delivery, DeliveryStatus, Letter, LetterStatus
from advocacy.letters.service import _move
from advocacy.settings import get_settings

log = logging.getLogger("advocacy.letters.webhooks")

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
EVENT_STATUS = {
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.BOUNCED,  # "type" tells a bounce from a block; both mean it did not arrive
    "blocked": DeliveryStatus.BOUNCED,
    "dropped": DeliveryStatus.DROPPED,
    "deferred": DeliveryStatus.DEFERRED,
}
PROBLEMS = (DeliveryStatus.BOUNCED, DeliveryStatus.DROPPED)


class WebhookRefused(ValueError):
    """The request is not a valid, fresh, signed SendGrid event batch."""


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key, as SendGrid shows it (base64 DER) or as PEM."""
    try:
        raw = text.strip()
        key = (
            load_pem_public_key(raw.encode())
            if "BEGIN PUBLIC KEY" in raw
            else load_der_public_key(base64.b64decode(raw, validate=True))
        )
    except (ValueError, binascii.Error) as exc:
        raise WebhookRefused(f"the configured webhook verification key is not a public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise WebhookRefused("the configured webhook verification key is not an ECDSA P-256 key")
    return key


def verify(
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    public_key: str,
    max_age_seconds: int,
    now: float | None = None,
) -> None:
    """Raise ``WebhookRefused`` unless ``body`` is signed by ``public_key`` at a timestamp within ``max_age``."""
    if not public_key:
        raise WebhookRefused("the Event Webhook verification key is not configured")
    if not signature or not timestamp:
        raise WebhookRefused("unsigned request")
    try:
        signed_at = int(timestamp)
        decoded = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        raise WebhookRefused("malformed signature or timestamp") from None
    if abs((now if now is not None else time.time()) - signed_at) > max_age_seconds:
        raise WebhookRefused("stale or future timestamp")
    try:
        load_public_key(public_key).verify(decoded, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WebhookRefused("invalid signature") from None


def parse_events(body: bytes) -> list[dict[str, Any]]:
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise WebhookRefused("the body is not a list of events")
    return events


@dataclass
class EventOutcome:
    applied: int = 0
    ignored: int = 0
    # Events for deliveries whose acceptance is not committed yet: SendGrid should send the batch again later.
    early: int = 0
    problems: list[tuple[int, int, str]] = field(default_factory=list)  # (letter id, delivery id, reason)


def receive(session: Session, body: bytes, signature: str | None, timestamp: str | None) -> EventOutcome:
    """Verify a webhook request and apply its events."""
    settings = get_settings()
    verify(
        body,
        signature,
        timestamp,
        public_key=settings.sendgrid_webhook_public_key,
        max_age_seconds=settings.sendgrid_webhook_max_age_seconds,
    )
    return apply_events(session, parse_events(body))


def apply_events(session: Session, events: list[dict[str, Any]]) -> EventOutcome:
    """Move each event's delivery; repeats and out-of-order events are ignored. Commits, then alerts staff."""
    outcome = EventOutcome()
    for event in events:
        _apply(session, event, outcome)
    try:
        session.commit()
    except StaleDataError:
        session.rollback()  # a worker moved one of these letters meanwhile: let SendGrid send the batch again
        return EventOutcome(early=len(events))
    for letter_id, delivery_id, reason in outcome.problems:
        letter, delivery = session.get(Letter, letter_id), session.get(Delivery, delivery_id)
        if letter is not None:
            alert_staff(session, letter, reason, delivery)
    return outcome


def _apply(session: Session, event: dict[str, Any], outcome: EventOutcome) -> None:
    target = EVENT_STATUS.get(str(event.get("event", "")))
    raw_id = str(event.get("delivery_id", ""))
    delivery = session.get(Delivery, int(raw_id)) if target and raw_id.isdigit() else None
    if target is None or delivery is None or str(event.get("letter_id", "")) != str(delivery.letter_id):
        outcome.ignored += 1  # other mail (alerts, logins), other events (open, click), or not ours
        return
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        outcome.early += 1
        return
    if target not in DELIVERY_MOVES[delivery.status]:
        outcome.ignored += 1  # a repeat, or news older than what we know
        return
    _move(delivery, target)
    detail = str(event.get("reason") or event.get("response") or "")[:1000]
    if detail:
        delivery.error = detail
    session.add(delivery)
    outcome.applied += 1
    if target in PROBLEMS:
        letter = session.get(Letter, delivery.letter_id)
        if letter is not None and letter.status is LetterStatus.SENT:
            _move(letter, LetterStatus.PARTIALLY_SENT)
            session.add(letter)
        outcome.problems.append(
            (
                delivery.letter_id,
                delivery.id or 0,
                f"{delivery.name} <{delivery.email}>: {target.value}. {detail}".strip(),
            )
        )
