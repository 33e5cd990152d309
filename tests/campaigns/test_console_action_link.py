"""The action alert's one-click link is a capability, not a login: it opens that campaign's action page for that
official (read, prepare, request a signature or Send, follow the letter and open its PDF) and nothing else. Every
other page and the API still ask for a normal login; forged, expired and closed links get a clear refusal."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func
from sqlmodel import col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import SESSION_COOKIE
from advocacy.accounts.models import User, UserSession
from advocacy.campaigns import approval, links, wizard
from advocacy.campaigns.models import Campaign
from advocacy.db import session_scope, utcnow
from advocacy.letters.models import Letter, LetterStatus
from tests.helpers import csrf_token

REFUSED = "This link cannot be used"


def launched(make_campaign: Callable[..., Campaign], staff: User, cities: list[str], **plan: Any) -> Campaign:
    campaign = make_campaign(cities=cities, **plan)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
        return session.get(Campaign, campaign.id) or campaign


def link_for(user: User, campaign: Campaign) -> str:
    assert campaign.deadline is not None
    return f"/act/{links.action_token(user.id or 0, campaign.id or 0, campaign.deadline)}"


def sessions_of(user: User) -> int:
    with session_scope() as session:
        return int(
            session.execute(select(func.count(col(UserSession.id))).where(UserSession.user_id == user.id)).scalar_one()
        )


def letters_of(campaign: Campaign) -> list[Letter]:
    with session_scope() as session:
        return list(session.exec(select(Letter).where(Letter.campaign_id == campaign.id)).all())


def asks_for_login(answer: Any) -> bool:
    return answer.status_code in (302, 303, 307) and answer.headers["location"].startswith("/login?next=")


def test_the_link_opens_the_action_page_sends_and_follows_the_letter_and_nothing_else(
    app: Any,
    worker: Any,
    sendgrid: Any,
    staff: User,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    mayor = make_official("Jackson", may_sign=True)
    campaign = launched(make_campaign, staff, ["Jackson"])
    other = launched(make_campaign, staff, ["Jackson"])
    act = link_for(mayor, campaign)
    before = sessions_of(mayor)

    with TestClient(app) as browser:  # the official's browser, never logged in
        # The GET is the action page itself, and changes nothing (mail scanners follow links).
        page = browser.get(act)
        assert page.status_code == 200 and mayor.name in page.text and campaign.title in page.text
        assert f'action="{act}"' in page.text and f'formaction="{act}/preview"' in page.text
        assert "Send the letter</button>" in page.text and "from the league's action alert" in page.text
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
        assert SESSION_COOKIE not in page.headers.get("set-cookie", "") and not letters_of(campaign)
        preview = browser.post(
            f"{act}/preview", data={"_csrf_token": csrf_token(browser), "local_note": "Jackson's Main Street."}
        )
        assert preview.status_code == 200 and "Jackson&amp;#39;s Main Street." in preview.text
        assert not letters_of(campaign)
        # Send is a POST with the CSRF token.
        forged = browser.post(act, data={"local_note": "x"}, follow_redirects=False)
        assert forged.status_code == 403 and not letters_of(campaign)
        sent = browser.post(
            act,
            data={"_csrf_token": csrf_token(browser), "local_note": "Our Main Street.", "action": "send"},
            follow_redirects=False,
        )
        assert sent.status_code == 303 and sent.headers["location"] == f"{act}/letter"
        assert SESSION_COOKIE not in sent.headers.get("set-cookie", "") and sessions_of(mayor) == before
        worker.drain()
        [letter] = letters_of(campaign)
        assert letter.status is LetterStatus.SENT and letter.signer_id == mayor.id, letter.error

        # The letter's page, its status poll and its PDF, all under the link.
        followed = browser.get(f"{act}/letter")
        assert followed.status_code == 200 and "Sent" in followed.text and f'href="{act}/letter/pdf"' in followed.text
        assert f'data-status-url="{act}/letter/status"' in followed.text
        assert f'href="/letters/{letter.id}/pdf"' not in followed.text  # no link the capability cannot open
        polled = browser.get(f"{act}/letter/status").json()
        assert polled["id"] == letter.id and polled["status"] == "sent" and polled["pdf_url"] == f"{act}/letter/pdf"
        pdf = browser.get(f"{act}/letter/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "no-store" in pdf.headers["cache-control"]
        # A second press (a replay of the form) finds the same letter.
        browser.post(act, data={"_csrf_token": csrf_token(browser), "local_note": "Again."})
        assert [x.id for x in letters_of(campaign)] == [letter.id]

        # Nothing else: another campaign's page, this campaign's full page, records, account, the API.
        for path in (
            f"/campaigns/{other.id}",
            f"/campaigns/{campaign.id}",
            "/campaigns",
            "/letters",
            f"/letters/{letter.id}",
            f"/letters/{letter.id}/pdf",
            "/letters/export.csv",
            "/account",
            "/testimony",
            "/citipac",
        ):
            assert asks_for_login(browser.get(path, follow_redirects=False)), path
        for path in (f"/api/v1/letters/{letter.id}", "/api/v1/letters", f"/api/v1/campaigns/{campaign.id}"):
            assert browser.get(path).status_code == 401, path
        other_send = browser.post(
            f"/campaigns/{other.id}/letters", data={"_csrf_token": csrf_token(browser), "local_note": "x"}
        )
        assert other_send.status_code == 401 and not letters_of(other)

        # A later normal login (magic link) gets full access, and the link then opens the full page.
        with session_scope() as session:
            asked = accounts.request_login_link(session, email=mayor.email, client_ip="192.0.2.77")
        assert asked.email is not None
        login_token = re.search(r"/login/([\w-]+)", asked.email.text).group(1)  # type: ignore[union-attr]
        logged_in = browser.post(
            f"/login/{login_token}", data={"_csrf_token": csrf_token(browser)}, follow_redirects=False
        )
        assert logged_in.status_code == 303 and SESSION_COOKIE in logged_in.headers["set-cookie"]
        for path in (f"/campaigns/{other.id}", "/letters", f"/letters/{letter.id}", "/account"):
            assert browser.get(path).status_code == 200, path
        again = browser.get(act, follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == f"/campaigns/{campaign.id}"


def test_forged_expired_and_closed_links_are_refused_with_a_clear_page(
    app: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    mayor = make_official("Amador City", may_sign=True)
    campaign = launched(make_campaign, staff, ["Amador City"])
    act = link_for(mayor, campaign)
    token = act.removeprefix("/act/")
    user_id, campaign_id, expires = token.split(".")[:3]
    someone_else = f"/act/{(int(user_id) + 1)}.{campaign_id}.{expires}.{token.rsplit('.', 1)[1]}"
    another_campaign = f"/act/{user_id}.{int(campaign_id) + 1}.{expires}.{token.rsplit('.', 1)[1]}"
    later = f"/act/{user_id}.{campaign_id}.{int(expires) + 86400}.{token.rsplit('.', 1)[1]}"
    expired = "/act/" + links.action_token(mayor.id or 0, campaign.id or 0, utcnow() - timedelta(minutes=1))
    unsubscribe = "/act/" + links.unsubscribe_token(mayor.id or 0)  # a token made for another purpose

    with TestClient(app) as browser:
        token_csrf = csrf_token(browser)
        for path, says in (
            (someone_else, "not valid"),
            (another_campaign, "not valid"),
            (later, "not valid"),
            (act[:-3], "not valid"),
            (f"/act/{user_id}.{campaign_id}", "not complete"),
            (unsubscribe, "not complete"),
            (expired, "expired"),
        ):
            for sub in ("", "/letter", "/letter/status", "/letter/pdf"):
                page = browser.get(path + sub)
                assert page.status_code == 410 and says in page.text, (path, sub)
            assert REFUSED in browser.get(path).text and 'href="/login"' in browser.get(path).text
            pressed = browser.post(path, data={"_csrf_token": token_csrf, "local_note": "x"})
            assert pressed.status_code == 410
        assert not letters_of(campaign)

        with session_scope() as session:
            wizard.close_campaign(session, campaign.id or 0, staff)
        closed = browser.get(act)
        assert closed.status_code == 410 and "closed" in closed.text
        with session_scope() as session:
            session.get(User, mayor.id).active = False  # type: ignore[union-attr]
            session.commit()
        assert browser.get(act).status_code == 410


def test_an_official_who_may_not_sign_prepares_and_asks_through_the_link(
    app: Any,
    staff: User,
    memory_mailer: Any,
    make_campaign: Callable[..., Campaign],
    make_official: Callable[..., User],
) -> None:
    manager = make_official("Taft", may_sign=False, title="City Manager")
    mayor = make_official("Taft", may_sign=True)
    campaign = launched(make_campaign, staff, ["Taft"], requires_approval=True)
    with TestClient(app) as browser:
        act = link_for(manager, campaign)
        page = browser.get(act)
        assert "Request signature</button>" in page.text and "Send the letter</button>" not in page.text
        asked = browser.post(
            act,
            data={
                "_csrf_token": csrf_token(browser),
                "local_note": "Taft's oil fields.",
                "action": "request_signature",
            },
        )
        assert asked.status_code == 200 and "Draft: waiting for a signature" in asked.text
        [draft] = letters_of(campaign)
        assert draft.status is LetterStatus.DRAFT
        refused = browser.post(act, data={"_csrf_token": csrf_token(browser), "action": "send"})
        assert refused.status_code == 403 and "Only an official who may sign" in refused.text

    with TestClient(app) as browser:  # the mayor's own alert link: review the draft and send it for review
        act = link_for(mayor, campaign)
        page = browser.get(act)
        assert "Taft&#39;s oil fields." in page.text and "league staff read each letter" in page.text
        sent = browser.post(act, data={"_csrf_token": csrf_token(browser), "local_note": "Taft's oil fields."})
        assert sent.status_code == 200 and "Held for league review" in sent.text
        [held] = letters_of(campaign)
        assert held.id == draft.id and held.status is LetterStatus.AWAITING_APPROVAL
        with session_scope() as session:
            review = approval.review_of(session, held.id or 0)
            assert review is not None
            approval.return_letter(session, review.id or 0, staff, "Add the county's figures.")
        assert "Add the county&#39;s figures." in browser.get(act).text
        assert "Add the county&#39;s figures." in browser.get(f"{act}/letter").text
        browser.post(act, data={"_csrf_token": csrf_token(browser), "local_note": "Taft and Kern County."})
        [held] = letters_of(campaign)
        assert held.status is LetterStatus.AWAITING_APPROVAL and held.local_note == "Taft and Kern County."
