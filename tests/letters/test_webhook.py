"""SendGrid's signed Event Webhook: ECDSA P-256 over timestamp + body, refused unsigned, invalid or stale; events
move deliveries, and a bounce shows on the letter and alerts staff."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import select

from advocacy.db import session_scope
from advocacy.letters.models import Channel, Delivery, DeliveryStatus, Letter, LetterStatus
from advocacy.letters.service import send_letter
from advocacy.letters.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.helpers import login
from tests.letters.conftest import STAFF_ALERTS


@pytest.fixture()
def signing_key(monkeypatch: pytest.MonkeyPatch, fast_letters: Any) -> ec.EllipticCurvePrivateKey:
    """A key pair like SendGrid's; the app gets the public half as SendGrid shows it (base64 DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setattr(fast_letters, "sendgrid_webhook_public_key", base64.b64encode(der).decode())
    return key


def signed(key: ec.EllipticCurvePrivateKey, body: bytes, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: timestamp,
        "Content-Type": "application/json",
    }


@pytest.fixture()
def sent_letter(worker: Any, memory_mailer: Any, make_campaign: Any, make_official: Any) -> tuple[int, list[Delivery]]:
    campaign, mayor = make_campaign("SB 1256"), make_official()
    with session_scope() as session:
        letter_id = send_letter(session, campaign.id, mayor, "").id or 0
    worker.drain()
    with session_scope() as session:
        emails = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.channel == Channel.EMAIL)
        ).all()
        assert all(d.status is DeliveryStatus.ACCEPTED for d in emails)
        return letter_id, list(emails)


def event(d: Delivery, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": d.email,
        "timestamp": int(time.time()),
        "event": name,
        "sg_message_id": f"{d.message_id}.x",
        "letter_id": str(d.letter_id),
        "delivery_id": str(d.id),
        **extra,
    }


def statuses(letter_id: int) -> dict[int, DeliveryStatus]:
    with session_scope() as session:
        return {d.id or 0: d.status for d in session.exec(select(Delivery).where(Delivery.letter_id == letter_id))}


def test_signed_events_move_deliveries_and_a_bounce_alerts_staff(
    client: Any, signing_key: Any, sent_letter: Any, memory_mailer: Any, make_official: Any
) -> None:
    letter_id, emails = sent_letter
    first, second, third = emails[0], emails[1], emails[2]
    body = json.dumps(
        [
            event(first, "delivered"),
            event(second, "bounce", reason="550 5.1.1 The email account does not exist", type="bounce"),
            event(third, "deferred", response="421 try again later"),
            event(first, "open"),  # engagement events are not delivery states: ignored
            {"event": "delivered", "email": "someone@test.example", "timestamp": 1},  # mail that is not a letter's
        ]
    ).encode()
    response = client.post("/webhooks/sendgrid", content=body, headers=signed(signing_key, body))
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": 3, "ignored": 2, "retry": 0}
    now = statuses(letter_id)
    assert (now[first.id], now[second.id], now[third.id]) == (
        DeliveryStatus.DELIVERED,
        DeliveryStatus.BOUNCED,
        DeliveryStatus.DEFERRED,
    )
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        bounced = session.get(Delivery, second.id)
        assert letter is not None and letter.status is LetterStatus.PARTIALLY_SENT
        assert bounced is not None and "does not exist" in bounced.error
    alert = [e for e in memory_mailer.sent if e.personalizations[0].to[0].email == STAFF_ALERTS]
    assert len(alert) == 1 and "bounced" in alert[0].subject and second.name in alert[0].subject

    # The same batch again (SendGrid retries on any doubt) changes nothing and alerts no one again.
    again = client.post("/webhooks/sendgrid", content=body, headers=signed(signing_key, body))
    assert again.json()["applied"] == 0 and statuses(letter_id) == now
    assert len([e for e in memory_mailer.sent if e.personalizations[0].to[0].email == STAFF_ALERTS]) == 1

    # The bounce shows on the letter page.
    login(client, make_official())
    page = client.get(f"/letters/{letter_id}")
    assert "Bounced" in page.text and "does not exist" in page.text


@pytest.mark.parametrize(
    "attack", ["unsigned", "no timestamp", "tampered", "wrong key", "stale", "future", "garbage signature"]
)
def test_unsigned_invalid_or_stale_requests_are_refused(
    client: Any, signing_key: Any, sent_letter: Any, attack: str
) -> None:
    letter_id, emails = sent_letter
    before = statuses(letter_id)
    body = json.dumps([event(emails[0], "bounce", reason="forged")]).encode()
    headers = signed(signing_key, body)
    if attack == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif attack == "no timestamp":
        del headers[TIMESTAMP_HEADER]
    elif attack == "tampered":
        body = body.replace(b"bounce", b"dropped")
    elif attack == "wrong key":
        headers = signed(ec.generate_private_key(ec.SECP256R1()), body)
    elif attack == "stale":
        headers = signed(signing_key, body, at=time.time() - 11 * 60)
    elif attack == "future":
        headers = signed(signing_key, body, at=time.time() + 11 * 60)
    elif attack == "garbage signature":
        headers[SIGNATURE_HEADER] = "not base64!"
    response = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 403, response.text
    assert statuses(letter_id) == before


def test_a_webhook_without_a_configured_key_accepts_nothing(
    client: Any, fast_letters: Any, sent_letter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_letters, "sendgrid_webhook_public_key", "")
    key = ec.generate_private_key(ec.SECP256R1())
    letter_id, emails = sent_letter
    body = json.dumps([event(emails[0], "delivered")]).encode()
    assert client.post("/webhooks/sendgrid", content=body, headers=signed(key, body)).status_code == 403
    assert statuses(letter_id)[emails[0].id or 0] is DeliveryStatus.ACCEPTED


def test_events_before_acceptance_is_committed_ask_sendgrid_to_retry(
    client: Any, signing_key: Any, make_campaign: Any, make_official: Any, memory_mailer: Any
) -> None:
    campaign, mayor = make_campaign("SB 1256"), make_official()
    with session_scope() as session:
        letter_id = send_letter(session, campaign.id, mayor, "").id or 0
        pending = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id, Delivery.channel == Channel.EMAIL)
        ).first()
        assert pending is not None
    body = json.dumps([event(pending, "delivered")]).encode()
    response = client.post("/webhooks/sendgrid", content=body, headers=signed(signing_key, body))
    assert response.status_code == 503 and response.json()["retry"] == 1
    assert statuses(letter_id)[pending.id or 0] is DeliveryStatus.PENDING
