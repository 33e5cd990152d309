"""/dev/outbox: the development view of mail written by OutboxMailer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from advocacy.dev import linkify, outbox_enabled
from advocacy.mail import Address, Attachment, Email, OutboxMailer, Personalization
from advocacy.settings import Settings, get_settings

PDF = b"%PDF-1.7\n% a test letter\n%%EOF\n"


@pytest.fixture()
def dev_env(tmp_path: Path) -> Iterator[Path]:
    """Settings as `make run` has them (embedded, development), with an outbox of this test's own."""
    saved = {k: os.environ.get(k) for k in ("ADVOCACY_BROKER_URL", "ADVOCACY_OUTBOX_DIR", "ADVOCACY_ENV")}
    os.environ.update({"ADVOCACY_BROKER_URL": "", "ADVOCACY_OUTBOX_DIR": str(tmp_path), "ADVOCACY_ENV": "test"})
    get_settings.cache_clear()
    try:
        yield tmp_path
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@pytest.fixture()
def dev_client(dev_env: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    from advocacy.app import create_app

    with TestClient(create_app()) as client:
        yield client


def send(folder: Path, subject: str) -> str:
    return OutboxMailer(folder).send(
        Email(
            subject=subject,
            sender=Address("letters@advocacy.example.org", "Cal Cities Letters"),
            text="Read it at https://advocacy.example.org/letters/9. <b>not bold</b>\n",
            html="<p>Read it</p><script>alert(1)</script>",
            personalizations=[Personalization(to=[Address("member@asm.example.gov", "Member Example")])],
            attachments=[Attachment("support-letter.pdf", PDF)],
        )
    )


def test_a_sent_message_is_listed_and_its_attachment_downloads(
    dev_env: Path,
    dev_client: TestClient,  # type: ignore[type-arg]
) -> None:
    send(dev_env, "Older message")
    send(dev_env, "Support letter for AB 77")

    listing = dev_client.get("/dev/outbox")
    assert listing.status_code == 200
    assert listing.text.index("Support letter for AB 77") < listing.text.index("Older message")  # newest first
    assert "support-letter.pdf" in listing.text and "Member Example" in listing.text

    name = sorted(p.name for p in dev_env.glob("*.eml"))[-1]
    page = dev_client.get(f"/dev/outbox/{name}")
    assert page.status_code == 200
    assert '<a href="https://advocacy.example.org/letters/9">' in page.text  # the link is clickable …
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page.text  # … and the rest of the text is escaped
    assert "<script>alert(1)</script>" not in page.text  # the HTML part is only in a sandboxed srcdoc
    assert f"/dev/outbox/{name}/attachments/0" in page.text

    download = dev_client.get(f"/dev/outbox/{name}/attachments/0")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    assert "attachment;" in download.headers["content-disposition"]
    assert "support-letter.pdf" in download.headers["content-disposition"]
    assert dev_client.get(f"/dev/outbox/{name}/attachments/1").status_code == 404


def test_paths_outside_the_outbox_are_unreachable(
    dev_env: Path,
    dev_client: TestClient,
    tmp_path_factory: pytest.TempPathFactory,  # type: ignore[type-arg]
) -> None:
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.eml"
    secret.write_bytes(b"Subject: secret\n\nsecret body\n")
    (dev_env / "20260101T000000.000000Z-000001-link-0.eml").symlink_to(secret)
    (dev_env / "notes.txt").write_text("not a message")
    for path in (
        "/dev/outbox/..%2F..%2Fetc%2Fpasswd",
        "/dev/outbox/%2e%2e",
        "/dev/outbox/..%2Fsecret.eml",
        f"/dev/outbox/{'%2e%2e%2f' * 8}etc%2fpasswd",
        "/dev/outbox/notes.txt",
        "/dev/outbox/20260101T000000.000000Z-000001-link-0.eml",
        "/dev/outbox/20260101T000000.000000Z-000001-link-0.eml/attachments/0",
        "/dev/outbox/20991231T000000.000000Z-000001-missing-0.eml",
    ):
        response = dev_client.get(path)
        assert response.status_code == 404, path
        assert "secret body" not in response.text and "root:" not in response.text


def test_outbox_is_404_unless_embedded_and_not_production(dev_env: Path) -> None:
    from advocacy.app import create_app

    os.environ["ADVOCACY_BROKER_URL"] = "redis://127.0.0.1:6379/5"
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        assert client.get("/dev/outbox").status_code == 404
    secrets = {"secret_key": "x" * 40, "database_url": "postgresql+psycopg://u@127.0.0.1/db"}
    assert outbox_enabled(Settings(broker_url="")) is True
    assert outbox_enabled(Settings(broker_url="amqp://guest:guest@127.0.0.1:5672/")) is False
    assert outbox_enabled(Settings(broker_url="", env="production", **secrets)) is False


def test_linkify_escapes_and_links() -> None:
    assert str(linkify('See https://a.example/x?y=1&z=2. Or <script>"')) == (
        'See <a href="https://a.example/x?y=1&amp;z=2">https://a.example/x?y=1&amp;z=2</a>. Or &lt;script&gt;&#34;'
    )
