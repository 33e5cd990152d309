"""One letter per campaign, city and committee stage: double submits, second officials, replays with the same
Idempotency-Key and 50 concurrent identical requests all make exactly one letter."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import func, select

from advocacy.accounts.models import User
from advocacy.db import session_scope
from advocacy.letters.models import Delivery, IdempotencyKey, Letter, LetterStatus
from advocacy.letters.service import send_idempotent, send_letter
from tests.helpers import api_token, bearer, csrf_token, login


def count_letters(campaign_id: int) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Letter).where(Letter.campaign_id == campaign_id)).one()


def count_deliveries(letter_id: int) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Delivery).where(Delivery.letter_id == letter_id)).one()


def hammer(n: int, call: Any) -> list[int]:
    """``n`` threads released together, each with its own session (as separate requests would be)."""
    start = threading.Barrier(n)

    def one(_: int) -> int:
        start.wait()
        with session_scope() as session:
            return int(call(session).id)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_fifty_concurrent_sends_make_one_letter(make_campaign: Any, make_official: Any) -> None:
    campaign = make_campaign("SB 1256")
    signers = [make_official(may_sign=True) for _ in range(5)]  # several officials of the city press at once
    ids = hammer(50, lambda session: send_letter(session, campaign.id, signers[threading.get_ident() % 5], "Note."))
    assert len(set(ids)) == 1 and count_letters(campaign.id) == 1
    with session_scope() as session:
        letter = session.get(Letter, ids[0])
        assert letter is not None and letter.status is LetterStatus.QUEUED
        recipients = session.exec(
            select(func.count(func.distinct(Delivery.recipient_key))).where(Delivery.letter_id == ids[0])
        ).one()
    assert count_deliveries(ids[0]) == recipients  # no recipient twice


def test_fifty_concurrent_replays_of_one_idempotency_key_make_one_letter(
    make_campaign: Any, make_official: Any
) -> None:
    campaign, mayor = make_campaign("SB 1117"), make_official()
    key = f"key-{uuid.uuid4()}"
    ids = hammer(50, lambda session: send_idempotent(session, campaign.id, mayor, "Same body.", key))
    assert len(set(ids)) == 1 and count_letters(campaign.id) == 1
    with session_scope() as session:
        stored = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == key)).all()
        assert [k.letter_id for k in stored] == [ids[0]]


def test_api_replays_and_second_presses(client: Any, make_campaign: Any, make_official: Any) -> None:
    campaign = make_campaign("SB 1256")
    mayor, councilmember = make_official(may_sign=True), make_official(may_sign=True, title="Council Member")
    with session_scope() as session:
        mayor_token, council_token = api_token(session, mayor), api_token(session, councilmember)
    url = f"/api/v1/campaigns/{campaign.id}/letters"
    first = client.post(url, json={"local_note": "Our note."}, headers={**bearer(mayor_token), "Idempotency-Key": "a1"})
    assert first.status_code == 202, first.text
    letter = first.json()
    assert letter["status"] == "queued" and letter["local_note"] == "Our note."
    assert {"name", "reason", "channel", "status"} <= set(letter["recipients"][0])

    replay = client.post(
        url, json={"local_note": "Our note."}, headers={**bearer(mayor_token), "Idempotency-Key": "a1"}
    )
    assert replay.status_code == 202 and replay.json()["id"] == letter["id"]
    misuse = client.post(url, json={"local_note": "Another."}, headers={**bearer(mayor_token), "Idempotency-Key": "a1"})
    assert misuse.status_code == 422 and "different request" in misuse.json()["detail"]
    no_key = client.post(url, headers=bearer(mayor_token))  # no body, no key: a second press
    assert no_key.status_code == 202 and no_key.json()["id"] == letter["id"]
    other = client.post(url, json={}, headers={**bearer(council_token), "Idempotency-Key": "a1"})
    assert other.status_code == 202 and other.json()["id"] == letter["id"]  # keys are per caller
    assert count_letters(campaign.id) == 1
    with session_scope() as session:
        stored = session.get(Letter, letter["id"])
        assert stored is not None and stored.local_note == "Our note." and stored.signer_id == mayor.id

    bad_key = client.post(url, headers={**bearer(mayor_token), "Idempotency-Key": "x" * 201})
    assert bad_key.status_code == 422


def test_page_double_submit_and_a_second_official(client: Any, make_campaign: Any, make_official: Any) -> None:
    campaign = make_campaign("AB 1573")
    mayor, clerk = make_official(may_sign=True), make_official(may_sign=False, title="City Clerk")
    login(client, mayor)
    form = {"local_note": "Twice.", "action": "send", "_csrf_token": csrf_token(client)}
    one = client.post(f"/campaigns/{campaign.id}/letters", data=form, follow_redirects=False)
    two = client.post(f"/campaigns/{campaign.id}/letters", data=form, follow_redirects=False)
    assert one.status_code == two.status_code == 303 and one.headers["location"] == two.headers["location"]

    login(client, clerk)
    page = client.get(f"/campaigns/{campaign.id}")
    assert "letter for this stage is" in page.text and one.headers["location"] in page.text
    three = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"action": "request_signature", "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert three.headers["location"] == one.headers["location"]
    assert count_letters(campaign.id) == 1


def test_only_a_signer_sends_and_a_get_changes_nothing(client: Any, make_campaign: Any, make_official: Any) -> None:
    campaign = make_campaign("SB 1256")
    clerk = make_official(may_sign=False, title="City Clerk")
    login(client, clerk)
    page = client.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200 and "Request signature" in page.text and "Send the letter" not in page.text
    refused = client.post(
        f"/campaigns/{campaign.id}/letters", data={"action": "send", "_csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 403 and "Request signature" in refused.text
    with session_scope() as session:
        token = api_token(session, clerk)
    api = client.post(f"/api/v1/campaigns/{campaign.id}/letters", headers=bearer(token))
    assert api.status_code == 403
    for path in (f"/campaigns/{campaign.id}", "/campaigns", f"/api/v1/campaigns/{campaign.id}"):
        client.get(path, headers=bearer(token) if path.startswith("/api") else {})
    assert count_letters(campaign.id) == 0


def test_signature_request_mails_the_signers_who_review_and_send(
    client: Any, make_campaign: Any, make_official: Any, memory_mailer: Any, worker: Any
) -> None:
    campaign = make_campaign("SB 1256")
    mayor = make_official(may_sign=True, title="Mayor")
    clerk = make_official(may_sign=False, title="City Clerk")
    login(client, clerk)
    asked = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"local_note": "Prepared by the clerk.", "action": "request_signature", "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    letter_path = asked.headers["location"]
    worker.drain()
    letter_id = int(letter_path.rsplit("/", 1)[1])
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.DRAFT and count_deliveries(letter_id) == 0
        mayor_row = session.get(User, mayor.id)
        assert mayor_row is not None
    mails = [e for e in memory_mailer.sent if "Please review and sign" in e.subject]
    assert mails and mayor.email in {p.to[0].email for p in mails[0].personalizations}
    assert f"/letters/{letter_id}" in mails[0].text and clerk.email not in {
        p.to[0].email for p in mails[0].personalizations
    }

    # The link opens the draft; opening it sends nothing (mail scanners follow links).
    login(client, mayor)
    page = client.get(letter_path)
    assert page.status_code == 200 and "Review and send" in page.text and "Prepared by the clerk." in page.text
    with session_scope() as session:
        assert session.get(Letter, letter_id).status is LetterStatus.DRAFT  # type: ignore[union-attr]

    sent = client.post(
        f"{letter_path}/send",
        data={"local_note": "Prepared by the clerk, edited by the mayor.", "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    worker.drain()
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.status is LetterStatus.SENT
        assert letter.signer_id == mayor.id and letter.prepared_by_id == clerk.id
        assert letter.local_note == "Prepared by the clerk, edited by the mayor."
    assert count_letters(campaign.id) == 1


def test_unfilled_placeholders_block_sending_with_a_clear_message(
    client: Any, make_campaign: Any, make_official: Any
) -> None:
    campaign = make_campaign("SB 1256")
    login(client, make_official())
    refused = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={
            "local_note": "In [CITY NAME] this bill would cost [AMOUNT].",
            "action": "send",
            "_csrf_token": csrf_token(client),
        },
    )
    assert refused.status_code == 422
    assert "Fill in or delete these placeholders before sending: [CITY NAME], [AMOUNT]" in refused.text
    assert count_letters(campaign.id) == 0

    too_long = client.post(
        f"/campaigns/{campaign.id}/letters",
        data={"local_note": "x" * 1501, "action": "send", "_csrf_token": csrf_token(client)},
    )
    assert too_long.status_code == 422 and "at most 1,500" in too_long.text
    assert count_letters(campaign.id) == 0


def test_preview_shows_the_note_without_saving(client: Any, make_campaign: Any, make_official: Any) -> None:
    campaign = make_campaign("SB 1256")
    login(client, make_official())
    preview = client.post(
        f"/campaigns/{campaign.id}/preview",
        data={"local_note": "Our parks budget depends on it.", "_csrf_token": csrf_token(client)},
    )
    assert preview.status_code == 200 and "Our parks budget depends on it." in preview.text
    assert count_letters(campaign.id) == 0
