"""SendGridMailer (the real sendgrid client) against the local fake of the v3 Mail Send API."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest

from advocacy.mail import Address, Attachment, Email, MailError, Personalization, SendGridMailer, sendgrid_payload
from tests.fakes.sendgrid import FakeSendGrid

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def letter(**changes: object) -> Email:
    email = Email(
        subject="Support for AB 123 from the City of Davis",
        sender=Address("letters@advocacy.example.org", "Mayor Pat Example, City of Davis (via Cal Cities)"),
        text="Dear Assembly Member,\n\nPlease find our letter attached.\n",
        html="<p>Dear Assembly Member,</p><p>Please find our letter attached.</p>",
        reply_to=Address("pat.example@city.example.gov", "Pat Example"),
        personalizations=[
            Personalization(
                to=[Address("member.one@asm.example.gov", "Member One")],
                cc=[Address("pat.example@city.example.gov")],
                custom_args={"delivery_id": "101"},
            ),
            Personalization(
                to=[Address("committee@asm.example.gov")],
                bcc=[Address("clerk@city.example.gov")],
                substitutions={"-name-": "Committee"},
                custom_args={"delivery_id": "102"},
            ),
        ],
        attachments=[Attachment("ab-123-support.pdf", PDF)],
        categories=["letter"],
        custom_args={"letter_id": "55"},
    )
    for key, value in changes.items():
        setattr(email, key, value)
    return email


def test_two_personalizations_with_a_pdf_are_accepted(fake_sendgrid: FakeSendGrid) -> None:
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=5)

    message_id = mailer.send(letter())

    assert message_id and message_id == fake_sendgrid.requests[0].message_id
    request = fake_sendgrid.requests[0]
    assert request.path == "/v3/mail/send" and request.status == 202
    assert request.headers["Authorization"] == f"Bearer {fake_sendgrid.api_key}"
    payload = fake_sendgrid.accepted[0]
    assert [p["to"] for p in payload["personalizations"]] == [
        [{"email": "member.one@asm.example.gov", "name": "Member One"}],
        [{"email": "committee@asm.example.gov"}],
    ]
    assert payload["personalizations"][0]["cc"] == [{"email": "pat.example@city.example.gov"}]
    assert payload["personalizations"][1]["bcc"] == [{"email": "clerk@city.example.gov"}]
    assert payload["personalizations"][1]["substitutions"] == {"-name-": "Committee"}
    assert payload["personalizations"][0]["custom_args"] == {"delivery_id": "101"}
    assert payload["from"] == {
        "email": "letters@advocacy.example.org",
        "name": "Mayor Pat Example, City of Davis (via Cal Cities)",
    }
    assert payload["reply_to"] == {"email": "pat.example@city.example.gov", "name": "Pat Example"}
    assert payload["subject"] == "Support for AB 123 from the City of Davis"
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    [attachment] = payload["attachments"]
    assert attachment["filename"] == "ab-123-support.pdf" and attachment["type"] == "application/pdf"
    assert base64.b64decode(attachment["content"]) == PDF
    assert payload["categories"] == ["letter"] and payload["custom_args"] == {"letter_id": "55"}


def test_an_address_repeated_within_a_personalization_is_sent_once(fake_sendgrid: FakeSendGrid) -> None:
    email = letter(
        personalizations=[
            Personalization(
                to=[Address("member.one@asm.example.gov")],
                cc=[Address("Member.One@asm.example.gov"), Address("pat.example@city.example.gov")],
                bcc=[Address("pat.example@city.example.gov")],
            )
        ]
    )
    SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url).send(email)
    [p] = fake_sendgrid.accepted[0]["personalizations"]
    assert p["cc"] == [{"email": "pat.example@city.example.gov"}] and "bcc" not in p


def test_validation_error_is_not_retryable_and_carries_the_api_message(fake_sendgrid: FakeSendGrid) -> None:
    # A sender address the API refuses: our local checks pass it, SendGrid's do not.
    email = letter(sender=Address("letters-at-advocacy.example.org"))
    with pytest.raises(MailError) as caught:
        SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url).send(email)
    assert caught.value.status == 400 and caught.value.retryable is False
    assert "The from object must be provided" in caught.value.reason
    assert fake_sendgrid.accepted == []


def test_wrong_api_key_is_not_retryable(fake_sendgrid: FakeSendGrid) -> None:
    with pytest.raises(MailError) as caught:
        SendGridMailer("SG.wrong", fake_sendgrid.url).send(letter())
    assert caught.value.status == 401 and caught.value.retryable is False
    assert "authorization grant is invalid" in caught.value.reason


def test_payload_over_30_mb_is_refused_with_413(fake_sendgrid: FakeSendGrid) -> None:
    big = Attachment("scan.pdf", b"%PDF" + bytes(23_700_000))  # base64 grows it past 30 MB
    with pytest.raises(MailError) as caught:
        SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=30).send(letter(attachments=[big]))
    assert caught.value.status == 413 and caught.value.retryable is False
    assert "too large" in caught.value.reason


def test_rate_limit_is_retryable_after_retry_after(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script(429, retry_after=7)
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    with pytest.raises(MailError) as caught:
        mailer.send(letter())
    assert caught.value.status == 429 and caught.value.retryable is True and caught.value.retry_after == 7
    assert mailer.send(letter())  # the script is used up: the next call goes through
    assert [r.status for r in fake_sendgrid.requests] == [429, 202]


def test_rate_limit_without_retry_after_uses_the_reset_time(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script(429, retry_after=None)
    with pytest.raises(MailError) as caught:
        SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url).send(letter())
    assert caught.value.retryable is True
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 61


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(fake_sendgrid: FakeSendGrid, status: int) -> None:
    fake_sendgrid.script(status)
    with pytest.raises(MailError) as caught:
        SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url).send(letter())
    assert caught.value.status == status and caught.value.retryable is True


def test_a_hanging_server_times_out_within_the_configured_timeout(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.hang(10)
    started = time.monotonic()
    with pytest.raises(MailError) as caught:
        SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=0.5).send(letter())
    assert time.monotonic() - started < 3
    assert caught.value.retryable is True and caught.value.status is None
    assert "unreachable" in caught.value.reason


def test_a_closed_port_is_retryable() -> None:
    with FakeSendGrid() as fake:
        url, key = fake.url, fake.api_key
    with pytest.raises(MailError) as caught:
        SendGridMailer(key, url, timeout=2).send(letter())
    assert caught.value.retryable is True


def test_messages_no_provider_accepts_are_refused_before_any_call(fake_sendgrid: FakeSendGrid) -> None:
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    for bad in (
        letter(personalizations=[]),
        letter(personalizations=[Personalization(to=[])]),
        letter(subject="  "),
        letter(personalizations=[Personalization(to=[Address("not an address")])]),
    ):
        with pytest.raises(MailError) as caught:
            mailer.send(bad)
        assert caught.value.retryable is False
    assert fake_sendgrid.requests == []


def test_payload_leaves_out_empty_optional_fields() -> None:
    email = Email(
        subject="Hello",
        sender=Address("a@example.org"),
        text="Hi",
        personalizations=[Personalization(to=[Address("b@example.org")])],
    )
    assert sendgrid_payload(email) == {
        "personalizations": [{"to": [{"email": "b@example.org"}]}],
        "from": {"email": "a@example.org"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "Hi"}],
    }


def test_the_request_carries_the_sendgrid_clients_own_headers_from_every_thread(fake_sendgrid: FakeSendGrid) -> None:
    """The mailer posts through the client's mail/send endpoint with an opener per thread (not one per request):
    the request is still the client's (its user agent, JSON body), from the first thread and from a second one."""
    import sendgrid

    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    mailer.send(letter())
    second = threading.Thread(target=mailer.send, args=(letter(subject="The same letter, from another thread"),))
    second.start()
    second.join()

    assert [r.status for r in fake_sendgrid.requests] == [202, 202]
    for request in fake_sendgrid.requests:
        assert request.method == "POST" and request.path == "/v3/mail/send"
        assert request.headers["User-Agent"] == f"sendgrid/{sendgrid.__version__};python"
        assert request.headers["Content-Type"] == "application/json"
    assert [p["subject"] for p in fake_sendgrid.accepted] == [
        "Support for AB 123 from the City of Davis",
        "The same letter, from another thread",
    ]


@pytest.mark.parametrize("host", ["file:///etc/passwd", "ftp://api.sendgrid.com", "api.sendgrid.com"])
def test_a_sendgrid_host_that_is_not_an_http_url_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="must be an http\\(s\\) URL"):
        SendGridMailer("SG.key", host)


# -- kept-alive connections ------------------------------------------------------------------------------------------


def send_from_a_new_thread(mailer: SendGridMailer, email: Email) -> None:
    thread = threading.Thread(target=mailer.send, args=(email,))
    thread.start()
    thread.join()


def test_each_thread_keeps_one_connection_open_between_calls(fake_sendgrid: FakeSendGrid) -> None:
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    for _ in range(3):
        mailer.send(letter())
    send_from_a_new_thread(mailer, letter())
    mailer.send(letter())

    assert [r.status for r in fake_sendgrid.requests] == [202] * 5
    first, second, third, other_thread, fifth = (r.connection for r in fake_sendgrid.requests)
    assert first == second == third == fifth  # one TCP connection for every call of this thread
    assert other_thread != first  # a connection is never shared between threads
    mailer.close()


def test_a_connection_the_server_closed_while_idle_is_not_sent_on() -> None:
    """Servers close idle connections; the next call notices before it sends and opens a new one: no error, no
    retry, one request each."""
    with FakeSendGrid(idle_timeout=0.2) as fake:
        mailer = SendGridMailer(fake.api_key, fake.url)
        mailer.send(letter())
        time.sleep(0.6)  # the server has closed the connection by now
        mailer.send(letter(subject="After a pause"))
        mailer.close()

    assert [r.status for r in fake.requests] == [202, 202]
    assert fake.requests[0].connection != fake.requests[1].connection
    assert [p["subject"] for p in fake.accepted] == ["Support for AB 123 from the City of Davis", "After a pause"]


def test_a_connection_idle_longer_than_the_limit_is_replaced_before_use(
    fake_sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Load balancers drop idle connections without a word; none is kept past ``IDLE_SECONDS``."""
    from advocacy.mail import KeepAliveHandler

    monkeypatch.setattr(KeepAliveHandler, "IDLE_SECONDS", 0.1)
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    mailer.send(letter())
    mailer.send(letter())  # at once: the same connection
    time.sleep(0.3)
    mailer.send(letter())
    mailer.close()

    first, second, third = (r.connection for r in fake_sendgrid.requests)
    assert first == second != third


def test_a_kept_connection_that_fails_mid_call_is_a_retryable_error_and_the_next_call_works(
    fake_sendgrid: FakeSendGrid,
) -> None:
    """Nothing is resent behind the caller's back: the failed call is reported (the letter's retry sends it later,
    after its backoff), and the next call opens a new connection."""
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    mailer.send(letter())
    fake_sendgrid.script(0)  # the server reads the next request and closes the connection without an answer
    with pytest.raises(MailError) as caught:
        mailer.send(letter(subject="Lost"))
    assert caught.value.retryable is True and "unreachable" in caught.value.reason
    mailer.send(letter(subject="Sent again"))
    mailer.close()

    assert [r.status for r in fake_sendgrid.requests] == [202, 0, 202]
    assert fake_sendgrid.requests[0].connection == fake_sendgrid.requests[1].connection
    assert fake_sendgrid.requests[2].connection != fake_sendgrid.requests[1].connection
    assert [p["subject"] for p in fake_sendgrid.accepted] == ["Support for AB 123 from the City of Davis", "Sent again"]


def test_after_an_error_answer_the_connection_is_kept(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script(500)
    mailer = SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url)
    with pytest.raises(MailError):
        mailer.send(letter())
    mailer.send(letter())
    mailer.close()
    assert [r.status for r in fake_sendgrid.requests] == [500, 202]
    assert fake_sendgrid.requests[0].connection == fake_sendgrid.requests[1].connection


def test_a_proxy_set_in_the_environment_is_still_used(
    fake_sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections are kept only where urllib would connect directly; through a proxy every call is urllib's own."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as refusing:  # a proxy address where nothing listens
        refusing.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{refusing.getsockname()[1]}"
    monkeypatch.setenv("http_proxy", proxy)

    with pytest.raises(MailError) as caught:
        SendGridMailer(fake_sendgrid.api_key, fake_sendgrid.url, timeout=2).send(letter())
    assert caught.value.retryable is True
    assert fake_sendgrid.requests == []  # it went to the proxy, not around it
