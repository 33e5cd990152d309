"""OutboxMailer's .eml files, MemoryMailer, get_mailer() selection and render_email()."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from pathlib import Path

import jinja2
import pytest

from advocacy import mail
from advocacy.mail import (
    Address,
    Attachment,
    Email,
    MailError,
    MemoryMailer,
    OutboxMailer,
    Personalization,
    SendGridMailer,
    get_mailer,
    render_email,
    reset_mailer,
)

PDF = b"%PDF-1.7\n%fake but recognisable\n%%EOF\n"


def message() -> Email:
    return Email(
        subject="Your letter for -bill- is ready",
        sender=Address("letters@advocacy.example.org", "Cal Cities Letters"),
        text="Hello -name-,\nsee https://advocacy.example.org/letters/7?x=1 for details.\n",
        html="<p>Hello -name-</p>",
        reply_to=Address("pat.example@city.example.gov", "Pat Example"),
        personalizations=[
            Personalization(
                to=[Address("first@example.org", "First Person")],
                cc=[Address("cc@example.org")],
                bcc=[Address("records@example.org")],
                substitutions={"-name-": "First", "-bill-": "AB 1"},
                custom_args={"delivery_id": "11"},
                headers={"X-Priority": "1"},
            ),
            Personalization(
                to=[Address("second@example.org")],
                substitutions={"-name-": "Second", "-bill-": "AB 2"},
                custom_args={"delivery_id": "12"},
            ),
        ],
        attachments=[Attachment("letter.pdf", PDF), Attachment("notes.txt", b"plain notes", "text/plain")],
        custom_args={"letter_id": "7"},
        categories=["letter", "test"],
    )


def read(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_outbox_writes_one_parseable_eml_per_personalization(tmp_path: Path) -> None:
    message_id = OutboxMailer(tmp_path).send(message())

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2 and all(message_id in f.name for f in files)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    first, second = (read(f) for f in files)
    assert first["To"] == "First Person <first@example.org>" and first["Cc"] == "cc@example.org"
    assert first["X-Bcc"] == "records@example.org" and "Bcc" not in first
    assert first["Reply-To"] == "Pat Example <pat.example@city.example.gov>"
    assert first["From"] == "Cal Cities Letters <letters@advocacy.example.org>"
    assert first["Subject"] == "Your letter for AB 1 is ready"
    assert first["X-Advocacy-delivery_id"] == "11" and first["X-Advocacy-letter_id"] == "7"
    assert first["X-Priority"] == "1" and first["X-Message-Id"] == message_id
    assert first["Date"] and first["Message-ID"]
    text_part = first.get_body(preferencelist=("plain",))
    html_part = first.get_body(preferencelist=("html",))
    assert text_part is not None and "Hello First," in text_part.get_content()
    assert html_part is not None and "<p>Hello First</p>" in html_part.get_content()
    attachments = list(first.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("letter.pdf", "application/pdf"),
        ("notes.txt", "text/plain"),
    ]
    assert attachments[0].get_content() == PDF
    assert second["To"] == "second@example.org" and second["Subject"] == "Your letter for AB 2 is ready"
    assert second["X-Advocacy-delivery_id"] == "12" and "X-Bcc" not in second


def test_outbox_file_names_sort_by_time_across_threads(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path)
    ids: list[str] = []
    for _ in range(3):
        ids.append(mailer.send(message()))
    names = sorted(p.name for p in tmp_path.glob("*.eml"))
    assert [n.split("-", 2)[2].rsplit("-", 1)[0] for n in names[::2]] == ids

    threads = [threading.Thread(target=mailer.send, args=(message(),)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(tmp_path.glob("*.eml"))) == 6 + 16


def test_outbox_refuses_what_sendgrid_would_refuse(tmp_path: Path) -> None:
    bad = message()
    bad.personalizations = []
    with pytest.raises(MailError) as caught:
        OutboxMailer(tmp_path).send(bad)
    assert caught.value.retryable is False and not list(tmp_path.iterdir())


def test_memory_mailer_keeps_what_was_sent() -> None:
    mailer = MemoryMailer()
    assert mailer.send(message()) == "memory-1"
    assert mailer.sent[0].subject == "Your letter for -bill- is ready"


def test_get_mailer_is_the_outbox_without_an_api_key_and_sendgrid_with_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from advocacy.settings import Settings

    try:
        reset_mailer()
        first = get_mailer()
        assert isinstance(first, OutboxMailer) and get_mailer() is first

        monkeypatch.setattr(
            mail, "get_settings", lambda: Settings(sendgrid_api_key="SG.key", sendgrid_timeout_seconds=3)
        )
        reset_mailer()
        configured = get_mailer()
        assert isinstance(configured, SendGridMailer) and configured.timeout == 3

        memory = MemoryMailer()
        reset_mailer(memory)
        assert get_mailer() is memory
    finally:
        reset_mailer()


def test_render_email_text_and_escaped_html(tmp_path: Path) -> None:
    folder = tmp_path / "welcome"
    folder.mkdir()
    (folder / "subject.txt").write_text("Welcome,\n  {{ name }}\n")
    (folder / "body.txt").write_text("Hi {{ name }} & co, see {{ base_url }}/login\n— {{ league_short_name }}\n")
    (folder / "body.html").write_text("<p>Hi {{ name }}</p>")

    subject, text, html = render_email("welcome", {"name": "Pat <Example>"}, directory=tmp_path)

    assert subject == "Welcome, Pat <Example>"
    assert text.startswith("Hi Pat <Example> & co, see http") and text.endswith("\n")
    assert html == "<p>Hi Pat &lt;Example&gt;</p>"


def test_render_email_html_is_optional_and_missing_variables_fail(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "subject.txt").write_text("Plain")
    (folder / "body.txt").write_text("Dear {{ name }},")
    assert render_email("plain", {"name": "Pat"}, directory=tmp_path) == ("Plain", "Dear Pat,", None)
    with pytest.raises(jinja2.UndefinedError):
        render_email("plain", {}, directory=tmp_path)
