"""The whole letter flow through the real pipeline: action page, Send, render and deliver workers (in-process
broker, or Redis in the PostgreSQL mode), the real sendgrid client against the fake SendGrid, the PDF read back."""

from __future__ import annotations

import base64
import io
from typing import Any

from pypdf import PdfReader
from sqlmodel import select

from advocacy.campaigns.models import Position
from advocacy.db import session_scope
from advocacy.directory.models import Bill, Legislator
from advocacy.directory.service import city_delegation, committee_members
from advocacy.letters.models import Delivery, DeliveryStatus, Letter, LetterStatus
from tests.helpers import csrf_token, login
from tests.letters.conftest import SACRAMENTO, STAFF_ALERTS, bill_by_label, city_by_geoid


def expected_recipient_emails(label: str, geoid: str) -> set[str]:
    """From the directory (not the letters code): the committee hearing the bill, its author, the city's own."""
    with session_scope() as session:
        bill = bill_by_label(session, label)
        city = city_by_geoid(session, geoid)
        emails = {legislator.email for legislator, _ in committee_members(session, bill.committee_id or 0)}
        author = session.get(Legislator, bill.author_id) if bill.author_id else None
        if author is not None:
            emails.add(author.email)
        emails |= {m.legislator.email for m in city_delegation(session, city.id or 0) if m.share > 0}
        return emails


def letter_payloads(fake: Any, letter_id: int) -> list[dict[str, Any]]:
    return [
        p
        for p in fake.accepted
        if any(x.get("custom_args", {}).get("letter_id") == str(letter_id) for x in p["personalizations"])
    ]


def pdf_text(data: bytes) -> str:
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())  # lines wrap wherever the layout put them


def test_official_sends_and_the_letter_reaches_every_real_recipient(
    client: Any, worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any
) -> None:
    campaign = make_campaign("SB 1256", Position.SUPPORT, talking_points="Protects local review of subdivisions.")
    mayor = make_official(may_sign=True, title="Mayor")
    login(client, mayor)

    # Given the action page, which names every recipient and why, and changes nothing.
    page = client.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200, page.text
    assert "Chair, Assembly Local Government" in page.text and "Author" in page.text
    assert "Your Assembly member (AD 6" in page.text and "Your Senator (SD 8)" in page.text
    assert "srcdoc=" in page.text and "letter.js" in page.text
    with session_scope() as session:
        assert session.exec(select(Letter).where(Letter.campaign_id == campaign.id)).first() is None

    # When the mayor presses Send, once.
    note = "Sacramento approves hundreds of parcel maps a year; this keeps our review timely and local."
    sent = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"local_note": note, "action": "send", "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    letter_path = sent.headers["location"]
    worker.drain()

    # Then the letter is sent, every e-mail delivery accepted with the provider's message id.
    letter_id = int(letter_path.rsplit("/", 1)[1])
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.SENT, letter and letter.error
        deliveries = session.exec(select(Delivery).where(Delivery.letter_id == letter_id)).all()
        emailed = [d for d in deliveries if d.channel == "email"]
        assert emailed and all(d.status is DeliveryStatus.ACCEPTED and d.message_id for d in emailed)
        assert letter.pdf_sha256 and letter.send_attempts == 1

    # One SendGrid call: a personalization per recipient (the city's real legislators), one for the copies.
    payloads = letter_payloads(sendgrid, letter_id)
    assert len(payloads) == 1
    payload = payloads[0]
    recipients = [p for p in payload["personalizations"] if "delivery_id" in p.get("custom_args", {})]
    assert {p["to"][0]["email"] for p in recipients} == expected_recipient_emails("SB 1256", SACRAMENTO)
    assert all(len(p["to"]) == 1 for p in recipients)
    copies = [p for p in payload["personalizations"] if p.get("custom_args", {}).get("copy") == "1"]
    assert copies[0]["to"][0]["email"] == mayor.email
    assert "cityletters@advocacy.example.org" in {a["email"] for a in copies[0]["cc"]}
    assert payload["from"] == {
        "email": "letters@advocacy.example.org",
        "name": f"Mayor {mayor.name}, City of Sacramento (via Cal Cities)",
    }
    assert payload["reply_to"]["email"] == mayor.email
    assert payload["subject"].startswith("SB 1256 (Jones) — Support — City of Sacramento")
    [attachment] = payload["attachments"]
    assert attachment["type"] == "application/pdf" and attachment["filename"].endswith(".pdf")

    # The PDF holds signer, city, bill, position and the committee chair; the one attached is the one stored.
    text = pdf_text(base64.b64decode(attachment["content"]))
    for expected in (
        mayor.name,
        "City of Sacramento",
        "SB 1256",
        "SUPPORT",
        "Juan Carrillo",
        "Assembly Committee on Local Government",
        "keeps our review timely",
    ):
        assert expected in text, expected
    stored = client.get(f"/letters/{letter_id}/pdf")
    assert stored.status_code == 200 and stored.headers["content-type"] == "application/pdf"
    assert stored.content == base64.b64decode(attachment["content"])

    # The status page and its poll say sent, recipient by recipient.
    status = client.get(f"/letters/{letter_id}/status").json()
    assert status["status"] == "sent" and status["pdf_url"] == f"/letters/{letter_id}/pdf"
    assert {r["status"] for r in status["recipients"] if r["channel"] == "email"} == {"accepted"}
    assert "Sent" in client.get(letter_path).text

    # A second press finds the same letter and sends nothing more.
    again = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"local_note": "", "action": "send", "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert again.headers["location"] == letter_path
    worker.drain()
    assert len(letter_payloads(sendgrid, letter_id)) == 1
    assert not any(p["personalizations"][0]["to"][0]["email"] == STAFF_ALERTS for p in sendgrid.accepted)


def test_governor_request_goes_to_the_governor_with_no_committee(
    client: Any, worker: Any, sendgrid: Any, make_campaign: Any, make_official: Any, fast_letters: Any
) -> None:
    campaign = make_campaign("SB 1426", Position.REQUEST_FOR_SIGNATURE)
    mayor = make_official()
    login(client, mayor)
    response = client.post(
        f"/api/v1/campaigns/{campaign.id}/letters", json={}, headers={"Authorization": f"Bearer {api_token(mayor)}"}
    )
    assert response.status_code == 202, response.text
    worker.drain()
    letter_id = response.json()["id"]
    [payload] = letter_payloads(sendgrid, letter_id)
    to = {p["to"][0]["email"] for p in payload["personalizations"] if "delivery_id" in p.get("custom_args", {})}
    assert fast_letters.governor_letters_address in to
    with session_scope() as session:
        bill = session.exec(select(Bill).where(Bill.measure_type == "SB", Bill.number == 1426)).one()
        assert bill.author_id is None  # authored by a committee: no author to write to
    text = pdf_text(client.get(f"/letters/{letter_id}/pdf").content)
    assert "Governor" in text and "REQUEST FOR SIGNATURE" in text and "SB 1426" in text


def api_token(user: Any) -> str:
    from tests.helpers import api_token as make_token

    with session_scope() as session:
        return make_token(session, user)
