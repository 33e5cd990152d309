"""The fake SendGrid refuses what the real API refuses (raw HTTP, no client in between)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.fakes.sendgrid import FakeSendGrid


def valid() -> dict[str, Any]:
    return {
        "personalizations": [{"to": [{"email": "a@example.org"}]}],
        "from": {"email": "letters@advocacy.example.org"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "Hi"}],
    }


def post(fake: FakeSendGrid, body: Any, *, key: str | None = None, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{fake.url}/v3/mail/send",
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {key or fake.api_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def fields(answer: Any) -> list[str | None]:
    return [e["field"] for e in answer["errors"]]


def test_valid_payload_is_accepted_with_a_message_id(fake_sendgrid: FakeSendGrid) -> None:
    status, headers = post(fake_sendgrid, valid())
    assert status == 202 and headers["X-Message-Id"]
    assert fake_sendgrid.accepted == [valid()]


def test_wrong_key_401(fake_sendgrid: FakeSendGrid) -> None:
    status, answer = post(fake_sendgrid, valid(), key="nope")
    assert status == 401 and answer["errors"][0]["message"]
    assert fake_sendgrid.requests[0].status == 401 and not fake_sendgrid.accepted


def test_not_json_400(fake_sendgrid: FakeSendGrid) -> None:
    status, answer = post(fake_sendgrid, None, raw=b"{not json")
    assert status == 400 and answer["errors"][0]["message"] == "Bad Request"


def test_each_rule_names_its_field(fake_sendgrid: FakeSendGrid) -> None:
    cases: list[tuple[dict[str, Any], str]] = []
    body = valid()
    body["personalizations"] = []
    cases.append((body, "personalizations"))
    body = valid()
    body["personalizations"] = [{"to": [{"email": "a@example.org"}]}] * 1001
    cases.append((body, "personalizations"))
    body = valid()
    body["personalizations"] = [{"cc": [{"email": "a@example.org"}]}]
    cases.append((body, "personalizations.0.to"))
    body = valid()
    body["personalizations"] = [{"to": [{"email": "a@example.org"}], "bcc": [{"email": "A@example.org"}]}]
    cases.append((body, "personalizations.0.bcc"))
    body = valid()
    body["personalizations"] = [{"to": [{"email": "not-an-address"}]}]
    cases.append((body, "personalizations.0.to.0.email"))
    body = valid()
    del body["from"]
    cases.append((body, "from"))
    body = valid()
    del body["subject"]
    cases.append((body, "subject"))
    body = valid()
    body["content"] = []
    cases.append((body, "content"))
    body = valid()
    body["content"] = [{"type": "text/html", "value": "<p>x</p>"}, {"type": "text/plain", "value": "x"}]
    cases.append((body, "content"))
    body = valid()
    body["content"] = [{"type": "text/plain", "value": ""}]
    cases.append((body, "content.0.value"))
    body = valid()
    body["attachments"] = [{"filename": "a.pdf", "content": "not base64!"}]
    cases.append((body, "attachments.0.content"))
    body = valid()
    body["attachments"] = [{"content": "JVBERg=="}]
    cases.append((body, "attachments.0.filename"))
    for body, field in cases:
        status, answer = post(fake_sendgrid, body)
        assert status == 400, field
        assert field in fields(answer), (field, answer)
        assert all(set(e) == {"message", "field", "help"} for e in answer["errors"])
    assert fake_sendgrid.accepted == []


def test_subject_may_be_given_in_every_personalization(fake_sendgrid: FakeSendGrid) -> None:
    body = valid()
    del body["subject"]
    body["personalizations"][0]["subject"] = "Per recipient"
    assert post(fake_sendgrid, body)[0] == 202


def test_more_than_1000_recipients_400(fake_sendgrid: FakeSendGrid) -> None:
    body = valid()
    body["personalizations"] = [{"to": [{"email": f"p{i}.{j}@example.org"} for j in range(3)]} for i in range(334)]
    status, answer = post(fake_sendgrid, body)
    assert status == 400 and "personalizations" in fields(answer)


def test_size_limit_413() -> None:
    fake = FakeSendGrid(max_bytes=1000)
    with fake:
        body = valid()
        body["content"][0]["value"] = "x" * 2000
        status, answer = post(fake, body)
    assert status == 413 and answer["errors"][0]["message"]


def test_script_and_hang(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script(429, 500, 202, retry_after=3)
    first = post(fake_sendgrid, valid())
    assert first[0] == 429
    assert fake_sendgrid.requests[0].status == 429
    assert post(fake_sendgrid, valid())[0] == 500
    assert post(fake_sendgrid, valid())[0] == 202
    assert post(fake_sendgrid, valid())[0] == 202
    assert [r.status for r in fake_sendgrid.requests] == [429, 500, 202, 202]
    fake_sendgrid.hang(10)
    request = urllib.request.Request(
        f"{fake_sendgrid.url}/v3/mail/send",
        data=json.dumps(valid()).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {fake_sendgrid.api_key}"},
    )
    with pytest.raises(TimeoutError):
        urllib.request.urlopen(request, timeout=0.3)


def test_429_headers(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script(429, retry_after=4)
    request = urllib.request.Request(
        f"{fake_sendgrid.url}/v3/mail/send",
        data=json.dumps(valid()).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {fake_sendgrid.api_key}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 429
    assert caught.value.headers["Retry-After"] == "4" and caught.value.headers["X-RateLimit-Remaining"] == "0"


def test_concurrent_requests_are_all_recorded(fake_sendgrid: FakeSendGrid) -> None:
    threads = [threading.Thread(target=post, args=(fake_sendgrid, valid())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_sendgrid.requests) == 20 and len(fake_sendgrid.accepted) == 20
    assert len({r.message_id for r in fake_sendgrid.requests}) == 20
