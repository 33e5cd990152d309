"""Staff-edited letter templates: the sandbox refuses escapes with a clear message, errors carry their line,
versions are kept, and the preview renders for a chosen city and signer (HTML and real PDF)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader

from advocacy.accounts.models import User
from advocacy.campaigns import templates_store
from advocacy.campaigns.templates_store import TemplateStoreError, check_source
from advocacy.db import session_scope
from tests.campaigns.conftest import city_named
from tests.helpers import api_token, bearer, csrf_token, login

GOOD = "<p>The {{ letterhead.official_name }} supports {{ bill.label }}.</p>\n{{ local_note|paragraphs }}"

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ bill.__class__ }}",
    "{% for c in ''.__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ signer.name.format.__globals__ }}",
    "{{ range.__self__ }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused_with_a_clear_message(source: str) -> None:
    with pytest.raises(TemplateStoreError) as caught:
        check_source("support", "<p>Hello</p>\n" + source)
    message = str(caught.value)
    assert "Line 2" in message or "line 2" in message.lower() or "Unknown variable" in message
    assert "may not" in message or "Unknown variable" in message or "does not render" in message
    assert "Traceback" not in message


def test_unsafe_attribute_message_names_the_rule() -> None:
    with pytest.raises(TemplateStoreError) as caught:
        check_source("support", "<p>a</p>\n<p>b</p>\n{{ ''.__class__.__mro__ }}")
    assert caught.value.line == 3
    assert str(caught.value).startswith("Line 3: Letter templates may not do this")


def test_undefined_variable_and_syntax_errors_carry_their_line() -> None:
    with pytest.raises(TemplateStoreError) as undefined:
        check_source("oppose", "<p>One</p>\n<p>{{ city_nmae }}</p>")
    assert (
        undefined.value.line == 2 and "Unknown variable" in str(undefined.value) and "city_nmae" in str(undefined.value)
    )
    with pytest.raises(TemplateStoreError) as syntax:
        check_source("oppose", "<p>One</p>\n<p>Two</p>\n{% if bill %}<p>unclosed</p>")
    assert syntax.value.line is not None and syntax.value.line >= 3


def test_templates_cannot_include_files_or_reach_the_network() -> None:
    with pytest.raises(TemplateStoreError):
        check_source("support", "{% include '_base.html' %}")
    with pytest.raises(TemplateStoreError):
        check_source("support", "{% extends 'support/body.html' %}")


def test_a_template_that_needs_the_hearing_date_must_cope_without_it() -> None:
    with pytest.raises(TemplateStoreError):
        check_source("support", "<p>Hearing: {{ hearing_date.year }}</p>")
    check_source("support", "<p>{% if hearing_date %}Hearing {{ hearing_date|long_date }}{% endif %}</p>")


def test_versions_are_kept_and_an_unchanged_save_adds_none(staff: User) -> None:
    with session_scope() as session:
        first = templates_store.create_template(
            session, name=f"Short support {uuid.uuid4().hex[:6]}", kind="support", source=GOOD, user=staff
        )
        assert first.number == 1
        second = templates_store.save_version(session, first.template_id, GOOD + "\n<p>Thank you.</p>", staff, "thanks")
        assert second.number == 2
        assert templates_store.save_version(session, first.template_id, GOOD + "\n<p>Thank you.</p>", staff).id == (
            second.id
        )
        with pytest.raises(TemplateStoreError):
            templates_store.save_version(session, first.template_id, "{{ nope }}", staff)
        assert [v.number for v in templates_store.versions_of(session, first.template_id)] == [2, 1]
        assert templates_store.get_version(session, first.id or 0).source == GOOD  # version 1 unchanged
        with pytest.raises(TemplateStoreError):
            templates_store.create_template(
                session,
                name=templates_store.get_template(session, first.template_id).name.upper(),
                kind="support",
                source=GOOD,
                user=staff,
            )


def test_preview_for_a_chosen_city_and_signer(staff: User, make_official: Callable[..., User]) -> None:
    signer = make_official("Weed", title="Vice Mayor")
    with session_scope() as session:
        weed = city_named(session, "Weed")
        document = templates_store.preview_document(
            session, kind="support", source=GOOD, city_id=weed.id, signer_id=signer.id
        )
        html = templates_store.preview_html(document)
        assert "City of Weed" in html and signer.name in html and "Vice Mayor" in html
        pdf = templates_store.preview_pdf(document)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf.startswith(b"%PDF") and "City of Weed" in text and signer.name in text


def test_editor_pages_and_pdf_preview(client: Any, staff: User) -> None:
    login(client, staff)
    token = csrf_token(client)
    new = client.get("/console/templates/new?kind=oppose")
    assert new.status_code == 200 and "Variables a template may use" in new.text
    created = client.post(
        "/console/templates",
        data={"_csrf_token": token, "name": f"Oppose {uuid.uuid4().hex[:6]}", "kind": "oppose", "source": GOOD},
        follow_redirects=False,
    )
    assert created.status_code == 303
    editor = client.get(created.headers["location"])
    assert editor.status_code == 200 and "Saved as version 1." in editor.text
    bad = client.post(
        created.headers["location"].split("?")[0], data={"_csrf_token": token, "source": "<p>x</p>\n{{ ''.__class__ }}"}
    )
    assert bad.status_code == 422 and "the error is on line 2" in bad.text
    frame = client.post("/console/templates/preview", data={"_csrf_token": token, "kind": "oppose", "source": GOOD})
    assert frame.status_code == 200 and "supports" in frame.text
    assert "default-src 'none'" in frame.headers["content-security-policy"]  # a staff letter runs no script
    error_frame = client.post(
        "/console/templates/preview", data={"_csrf_token": token, "kind": "oppose", "source": "{{ missing_thing }}"}
    )
    assert error_frame.status_code == 422 and "Line 1" in error_frame.text
    pdf = client.post("/console/templates/preview.pdf", data={"_csrf_token": token, "kind": "oppose", "source": GOOD})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_api_templates_and_pdf_preview(client: Any, staff: User) -> None:
    with session_scope() as session:
        headers = bearer(api_token(session, staff))
    made = client.post(
        "/api/v1/templates",
        headers=headers,
        json={"name": f"API support {uuid.uuid4().hex[:6]}", "kind": "support", "source": GOOD},
    )
    assert made.status_code == 201, made.text
    version = made.json()
    again = client.post(
        f"/api/v1/templates/{version['template_id']}/versions",
        headers=headers,
        json={"source": GOOD + "<p>More.</p>", "note": "more"},
    )
    assert again.status_code == 201 and again.json()["number"] == 2
    listing = client.get("/api/v1/templates?kind=support", headers=headers)
    assert any(t["id"] == version["template_id"] for t in listing.json())
    assert [v["number"] for v in client.get(f"/api/v1/templates/{version['template_id']}", headers=headers).json()] == [
        2,
        1,
    ]
    pdf = client.post("/api/v1/templates/preview", headers=headers, json={"template_version_id": version["id"]})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    refused = client.post(
        "/api/v1/templates/preview",
        headers=headers,
        json={"kind": "support", "source": "<p>a</p>\n{{ cycler.__init__.__globals__ }}"},
    )
    assert refused.status_code == 422 and "Line 2" in refused.json()["detail"]
