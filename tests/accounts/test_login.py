"""Login by magic link: the e-mail, the link page, single use, expiry, rate limits, CSRF, sessions, logout."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from advocacy.accounts.auth import SESSION_COOKIE, hash_secret
from advocacy.accounts.models import AuditEvent, MagicLink, Role, User, UserSession
from advocacy.accounts.service import safe_next_path
from advocacy.db import session_scope, utcnow
from advocacy.mail import MemoryMailer
from advocacy.settings import get_settings
from tests.helpers import create_user, csrf_token


def _user(role: Role = Role.STAFF, **kwargs: Any) -> User:
    with session_scope() as session:
        return create_user(session, role=role, **kwargs)


def _ask_for_link(client: Any, email: str, next_path: str | None = None) -> Any:
    form = {"email": email, "_csrf_token": csrf_token(client)}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/login", data=form)


def _token_from(mailer: MemoryMailer, email: str) -> str:
    sent = [m for m in mailer.sent if m.personalizations[0].to[0].email == email]
    assert len(sent) == 1, f"expected one login e-mail to {email}, got {len(sent)}"
    match = re.search(r"/login/([A-Za-z0-9_\-]+)", sent[0].text)
    assert match, sent[0].text
    return match.group(1)


def _visible(page: str) -> str:
    """A page without the per-response CSRF token, to compare two answers."""
    return re.sub(r'name="_csrf_token" value="[^"]*"', "", page)


def test_login_page_has_a_labelled_email_field_and_keeps_a_local_next(client: Any) -> None:
    page = client.get("/login", params={"next": "/campaigns/3"})
    assert page.status_code == 200
    assert '<label for="login-email">E-mail address</label>' in page.text
    assert 'name="next" value="/campaigns/3"' in page.text

    elsewhere = client.get("/login", params={"next": "https://evil.example/phish"})
    assert "evil.example" not in elsewhere.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/campaigns/3?tab=letters", "/campaigns/3?tab=letters"),
        ("", "/account"),
        (None, "/account"),
        ("https://evil.example/", "/account"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("/login/abc", "/account"),
        ("/ok\r\nSet-Cookie: x=1", "/account"),
    ],
)
def test_only_local_paths_may_follow_a_login(raw: str | None, expected: str) -> None:
    assert safe_next_path(raw) == expected


def test_known_address_gets_a_single_use_link_stored_only_as_a_hash(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    answer = _ask_for_link(client, user.email.upper(), next_path="/account")  # addresses are case-insensitive
    assert answer.status_code == 200
    assert "Check your e-mail" in answer.text

    token = _token_from(mailer, user.email)
    message = mailer.sent[-1]
    assert message.subject and f"{get_settings().base_url}/login/{token}" in message.text
    assert message.html and f"/login/{token}" in message.html
    with session_scope() as session:
        link = session.exec(select(MagicLink).where(MagicLink.user_id == user.id)).one()
        assert link.token_hash == hash_secret(token) and token not in link.token_hash
        lifetime = link.expires_at - link.created_at
        assert lifetime == timedelta(minutes=get_settings().magic_link_minutes)


def test_unknown_address_gets_the_same_page_and_nothing_is_sent(client: Any, mailer: MemoryMailer) -> None:
    known = _user()
    known_answer = _ask_for_link(client, known.email)
    unknown_answer = _ask_for_link(client, "nobody-here@test.example")
    assert unknown_answer.status_code == known_answer.status_code == 200
    assert _visible(unknown_answer.text) == _visible(known_answer.text)
    assert [m.personalizations[0].to[0].email for m in mailer.sent] == [known.email]


def test_inactive_user_gets_no_link(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    with session_scope() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.active = False
        session.add(row)
        session.commit()
    assert "Check your e-mail" in _ask_for_link(client, user.email).text
    assert mailer.sent == []


def test_a_malformed_address_is_asked_again(client: Any, mailer: MemoryMailer) -> None:
    answer = _ask_for_link(client, "not an address")
    assert answer.status_code == 400
    assert "Enter the e-mail address" in answer.text
    assert mailer.sent == []


def test_opening_the_link_changes_nothing_and_the_button_logs_in_once(client: Any, mailer: MemoryMailer) -> None:
    user = _user(role=Role.OFFICIAL, title="Mayor", may_sign=True)
    _ask_for_link(client, user.email, next_path="/account?from=mail")
    token = _token_from(mailer, user.email)

    # A mail scanner (or the person twice) opening the link does not use it.
    for _ in range(2):
        page = client.get(f"/login/{token}")
        assert page.status_code == 200
        assert f'action="/login/{token}"' in page.text and ">Log in</button>" in page.text

    done = client.post(f"/login/{token}", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/account?from=mail"
    set_cookie = done.headers["set-cookie"].lower()
    assert f"{SESSION_COOKIE}=" in set_cookie
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" not in set_cookie

    account = client.get("/account")
    assert account.status_code == 200 and user.name in account.text

    again = client.post(f"/login/{token}", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert again.status_code == 400 and "already been used" in again.text
    assert "already been used" in client.get(f"/login/{token}").text

    with session_scope() as session:
        sessions = session.exec(select(UserSession).where(UserSession.user_id == user.id)).all()
        assert len(sessions) == 1
        stored = session.get(User, user.id)
        assert stored is not None and stored.last_login_at is not None
        logins = session.exec(
            select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.subject == f"user:{user.id}")
        ).all()
        assert len(logins) == 1


def test_an_expired_link_is_refused_with_a_clear_message(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    _ask_for_link(client, user.email)
    token = _token_from(mailer, user.email)
    with session_scope() as session:
        link = session.exec(select(MagicLink).where(MagicLink.token_hash == hash_secret(token))).one()
        link.expires_at = utcnow() - timedelta(seconds=1)
        session.add(link)
        session.commit()

    page = client.get(f"/login/{token}")
    assert page.status_code == 410 and "expired" in page.text
    refused = client.post(f"/login/{token}", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert refused.status_code == 400 and "expired" in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    assert client.get("/account", follow_redirects=False).status_code in (302, 303)


def test_an_unknown_link_is_refused(client: Any) -> None:
    assert client.get("/login/not-a-real-token").status_code == 404
    refused = client.post("/login/not-a-real-token", data={"_csrf_token": csrf_token(client)})
    assert refused.status_code == 400 and "not valid" in refused.text


def test_secure_cookie_behind_https(client: Any, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "secure_cookies", True)
    user = _user()
    _ask_for_link(client, user.email)
    done = client.post(
        f"/login/{_token_from(mailer, user.email)}", data={"_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert done.status_code == 303 and "; secure" in done.headers["set-cookie"].lower()


def test_csrf_token_is_required_on_login_posts(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    refused = client.post("/login", data={"email": user.email})
    assert refused.status_code == 403
    assert mailer.sent == []
    refused_header = client.post("/login", data={"email": user.email}, headers={"x-csrftoken": "forged"})
    assert refused_header.status_code == 403

    accepted = client.post("/login", data={"email": user.email}, headers={"x-csrftoken": csrf_token(client)})
    assert accepted.status_code == 200
    token = _token_from(mailer, user.email)
    assert client.post(f"/login/{token}", follow_redirects=False).status_code == 403
    assert (
        client.post(f"/login/{token}", data={"_csrf_token": csrf_token(client)}, follow_redirects=False).status_code
        == 303
    )


def test_logout_ends_the_session_everywhere(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    _ask_for_link(client, user.email)
    client.post(f"/login/{_token_from(mailer, user.email)}", data={"_csrf_token": csrf_token(client)})
    old_cookie = client.cookies.get(SESSION_COOKIE)
    assert old_cookie and client.get("/account").status_code == 200

    out = client.post("/logout", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert "You are logged out" in client.get(out.headers["location"]).text

    # The old cookie, replayed (say, copied before logout), no longer works.
    client.cookies.set(SESSION_COOKIE, old_cookie)
    again = client.get("/account", follow_redirects=False)
    assert again.status_code in (302, 303) and again.headers["location"].startswith("/login?next=")
    with session_scope() as session:
        row = session.exec(select(UserSession).where(UserSession.token_hash == hash_secret(old_cookie))).one()
        assert row.ended_at is not None
        assert session.exec(
            select(AuditEvent).where(AuditEvent.action == "logout", AuditEvent.subject == f"user:{user.id}")
        ).first()


def test_logout_without_a_session_just_goes_to_login(client: Any) -> None:
    out = client.post("/logout", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert out.status_code == 303


def test_a_new_login_replaces_the_browsers_previous_session(client: Any, mailer: MemoryMailer) -> None:
    first, second = _user(), _user()
    _ask_for_link(client, first.email)
    client.post(f"/login/{_token_from(mailer, first.email)}", data={"_csrf_token": csrf_token(client)})
    first_cookie = client.cookies.get(SESSION_COOKIE)
    _ask_for_link(client, second.email)
    client.post(f"/login/{_token_from(mailer, second.email)}", data={"_csrf_token": csrf_token(client)})
    assert second.name in client.get("/account").text
    with session_scope() as session:
        old = session.exec(select(UserSession).where(UserSession.token_hash == hash_secret(first_cookie))).one()
        assert old.ended_at is not None


def test_address_limit_sends_nothing_more_but_says_the_same(
    client: Any, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advocacy.accounts.models import LoginAttempt

    monkeypatch.setattr(get_settings(), "login_rate_limit", 2)
    user = _user()
    first = _ask_for_link(client, user.email)
    assert len(mailer.sent) == 1
    with session_scope() as session:  # one more request for the address, from elsewhere
        session.add(LoginAttempt(email=user.email, client_ip="198.51.100.7"))
        session.commit()
    over = _ask_for_link(client, user.email)
    assert over.status_code == 200
    assert _visible(over.text) == _visible(first.text)
    assert len(mailer.sent) == 1
    with session_scope() as session:
        assert len(session.exec(select(MagicLink).where(MagicLink.user_id == user.id)).all()) == 1


def test_address_limit_counts_requests_from_every_network(
    client: Any, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advocacy.accounts import service

    monkeypatch.setattr(get_settings(), "login_rate_limit", 2)
    user = _user()
    with session_scope() as session:
        for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            service.request_login_link(session, email=user.email, client_ip=ip)
        links = session.exec(select(MagicLink).where(MagicLink.user_id == user.id)).all()
    assert len(links) == 2


def test_client_over_its_limit_gets_429(client: Any, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "login_rate_limit", 3)
    users = [_user() for _ in range(4)]
    answers = [_ask_for_link(client, u.email) for u in users]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Too many login requests" in answers[3].text
    assert len(mailer.sent) == 3
    assert users[3].email not in {m.personalizations[0].to[0].email for m in mailer.sent}


def test_old_attempts_do_not_count(client: Any, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch) -> None:
    from advocacy.accounts.models import LoginAttempt

    monkeypatch.setattr(get_settings(), "login_rate_limit", 1)
    user = _user()
    with session_scope() as session:
        session.add(LoginAttempt(email=user.email, client_ip="testclient", created_at=utcnow() - timedelta(minutes=16)))
        session.commit()
    assert _ask_for_link(client, user.email).status_code == 200
    assert len(mailer.sent) == 1


def test_magic_link_lifetime_follows_the_setting(
    client: Any, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "magic_link_minutes", 3)
    user = _user()
    _ask_for_link(client, user.email)
    assert "3 minutes" in mailer.sent[0].text
    with session_scope() as session:
        link = session.exec(
            select(MagicLink).where(MagicLink.user_id == user.id).order_by(col(MagicLink.id).desc())
        ).first()
        assert link is not None and link.expires_at - link.created_at == timedelta(minutes=3)


def test_the_link_page_is_not_cached_nor_referred(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    _ask_for_link(client, user.email)
    page = client.get(f"/login/{_token_from(mailer, user.email)}")
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"


def _form_csrf(page_html: str) -> str:
    """The hidden CSRF field as a browser submits it (the form's own value, not the cookie's)."""
    match = re.search(r'<input type="hidden" name="_csrf_token" value="([^"]+)"', page_html)
    assert match, "no usable CSRF field in the form (is csrf_input escaped? use {{ csrf_input|safe }})"
    return match.group(1)


def test_the_forms_carry_a_working_csrf_field(client: Any, mailer: MemoryMailer) -> None:
    user = _user()
    form_page = client.get("/login")
    sent = client.post("/login", data={"email": user.email, "_csrf_token": _form_csrf(form_page.text)})
    assert sent.status_code == 200 and len(mailer.sent) == 1

    link_page = client.get(f"/login/{_token_from(mailer, user.email)}")
    done = client.post(
        f"/login/{_token_from(mailer, user.email)}",
        data={"_csrf_token": _form_csrf(link_page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303

    account = client.get("/account")
    made = client.post("/account/tokens", data={"name": "form", "_csrf_token": _form_csrf(account.text)})
    assert made.status_code == 201
