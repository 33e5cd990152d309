"""The letter as HTML: kinds, escaping, the sandbox, template errors and unfilled placeholders (no PDF here)."""

from __future__ import annotations

import base64
import dataclasses
import html as html_lib
import re
from datetime import date

import pytest

from advocacy.letters.document import (
    KINDS,
    LetterDocument,
    Letterhead,
    TemplateError,
    document_from_stored,
    example_document,
    render_letter_html,
    stored_document,
    unfilled_placeholders,
)

TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def text_of(html: str) -> str:
    """Visible text of the letter, whitespace collapsed (tags and the <style>/<title> blocks removed)."""
    html = re.sub(r"<(style|title)\b.*?</\1>", " ", html, flags=re.S)
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())
    return re.sub(r" ([,.;:])", r"\1", text)  # closing inline tags left a space before punctuation


def with_changes(doc: LetterDocument, **changes: object) -> LetterDocument:
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


OPENINGS = {
    "support": "I write in support of AB 1738 (Carrillo), as amended March 16, 2026",
    "oppose": "I write to respectfully oppose AB 1738 (Carrillo), as amended March 16, 2026",
    "support_if_amended": "express our support for AB 1738 (Carrillo), as amended March 16, 2026, if it is amended",
    "oppose_unless_amended": "oppose AB 1738 (Carrillo), as amended March 16, 2026, unless it is amended",
    "request_signature": "respectfully request your signature on AB 1738 (Carrillo), as enrolled March 16, 2026",
    "request_veto": "respectfully request your veto of AB 1738 (Carrillo), as enrolled March 16, 2026",
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_states_bill_version_position_and_parties(kind: str) -> None:
    doc = example_document(kind)
    text = text_of(render_letter_html(doc))

    assert OPENINGS[kind] in text
    assert f"RE: AB 1738 (Carrillo) — State Housing Law: remote inspections — {doc.position_label.upper()}" in text
    assert "March 20, 2026" in text
    assert doc.addressee.name in text and doc.addressee.salutation in text
    assert "Sincerely, Dana Example Mayor City of Sacramento" in text
    assert "cc: Assemblymember Maggy Krell Senator Angelique Ashby" in text
    for point in doc.talking_points:
        assert point in text
    if kind.startswith("request_"):
        assert "Governor, State of California" in text and "hearing" not in text
    else:
        assert "Assembly Committee on Local Government, hearing of April 1, 2026" in text


def test_html_is_a_complete_accessible_document() -> None:
    html = render_letter_html(example_document("support"))

    assert html.lstrip().startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert "<title>AB 1738 — Support — City of Sacramento</title>" in html
    assert "@page" in html and 'font-family: Carlito, "Liberation Sans"' in html  # CSS inlined unescaped
    assert "<title>City of Sacramento monogram</title>" in html  # default emblem, labelled, no fake seal


def test_seal_is_embedded_with_alt_text() -> None:
    doc = example_document("oppose")
    doc = with_changes(doc, letterhead=dataclasses.replace(doc.letterhead, seal=TINY_PNG))
    html = render_letter_html(doc)

    assert f'src="data:image/png;base64,{base64.b64encode(TINY_PNG).decode()}"' in html
    assert 'alt="Seal of the City of Sacramento"' in html
    assert "monogram" not in html


def test_oversized_or_unknown_seal_is_refused() -> None:
    doc = example_document()
    with pytest.raises(ValueError, match="at most"):
        render_letter_html(with_changes(doc, letterhead=Letterhead("X", "City of X", [], seal=b"0" * (3 << 20))))
    with pytest.raises(ValueError, match="unsupported seal image type"):
        render_letter_html(
            with_changes(doc, letterhead=Letterhead("X", "City of X", [], seal=b"x", seal_mimetype="text/html"))
        )


def test_local_note_and_fields_are_escaped() -> None:
    doc = with_changes(
        example_document(),
        local_note='<script>alert("x")</script>\n<img src=x onerror=alert(1)>\n\nSecond & last paragraph.',
        talking_points=["<b>bold?</b>"],
        signer=dataclasses.replace(example_document().signer, name="Dana <i>Example</i>"),
    )
    html = render_letter_html(doc)

    assert "<script>" not in html and "<img src=x" not in html and "<b>bold" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;<br>&lt;img src=x onerror=alert(1)&gt;</p>" in html
    assert "<p>Second &amp; last paragraph.</p>" in html
    assert "Dana &lt;i&gt;Example&lt;/i&gt;" in html


def test_addressee_without_hearing_or_version() -> None:
    doc = with_changes(
        example_document("support"),
        bill=dataclasses.replace(example_document().bill, version_label="", version_date=None),
        hearing_date=None,
    )
    text = text_of(render_letter_html(doc))

    assert "I write in support of AB 1738 (Carrillo)." in text
    assert "as amended" not in text.lower() and "hearing" not in text


def test_staff_template_replaces_body_with_documented_variables() -> None:
    source = (
        "<p>The {{ letterhead.official_name }} supports {{ bill.label }} {{ bill | version_phrase }}.</p>\n"
        "{% for point in talking_points %}<p>{{ loop.index }}. {{ point }}</p>{% endfor %}\n"
        "<p>Heard {{ hearing_date | long_date }} in {{ committee_name }}; {{ league_name }}.</p>\n"
        "{{ local_note | paragraphs }}"
    )
    text = text_of(render_letter_html(example_document("support", template_source=source)))

    assert "The City of Sacramento supports AB 1738 as amended March 16, 2026." in text
    assert "1. Remote inspections let building officials" in text
    assert "Heard April 1, 2026 in Assembly Committee on Local Government; League of California Cities." in text
    assert "I write in support" not in text  # the kind's own body was replaced


def test_undefined_variable_is_a_template_error_with_its_line() -> None:
    source = "<p>Dear friends,</p>\n<p>{{ bill.label }}</p>\n<p>{{ city_population }}</p>\n"
    with pytest.raises(TemplateError) as caught:
        render_letter_html(example_document(template_source=source))

    assert caught.value.line == 3
    assert "'city_population' is undefined" in str(caught.value)
    assert "line 3" in str(caught.value)


def test_undefined_attribute_is_a_template_error_with_its_line() -> None:
    with pytest.raises(TemplateError) as caught:
        render_letter_html(example_document(template_source="<p>ok</p>\n{{ signer.phone }}"))
    assert caught.value.line == 2 and "phone" in str(caught.value)


def test_syntax_error_is_a_template_error_with_its_line() -> None:
    with pytest.raises(TemplateError) as caught:
        render_letter_html(example_document(template_source="<p>one</p>\n<p>two</p>\n{% if bill.label %}\n<p>x</p>"))
    assert caught.value.line is not None and caught.value.line >= 3
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "source",
    [
        "{{ bill.__class__.__mro__[1].__subclasses__() }}",
        "{{ letterhead.__init__.__globals__ }}",
        "{% include '_base.html' %}",
        "{% import 'support/body.html' as x %}",
        "{% extends 'support/body.html' %}",
    ],
)
def test_sandbox_refuses_internals_and_other_templates(source: str) -> None:
    with pytest.raises(TemplateError):
        render_letter_html(example_document(template_source=source))


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(TemplateError, match="unknown letter kind"):
        render_letter_html(with_changes(example_document(), kind="../pages/base"))


def test_complete_letter_has_no_placeholders() -> None:
    for kind in KINDS:
        assert unfilled_placeholders(example_document(kind)) == []


def test_placeholders_left_in_the_letter_are_found() -> None:
    source = (
        "<p>[CITY-SPECIFIC IMPACT] matters to [CITY NAME], see note [1] and option [A].</p>\n"
        "<p>Again: [CITY-SPECIFIC IMPACT]. Not a placeholder: [pending review].</p>\n"
        "{{ local_note | paragraphs }}"
    )
    doc = with_changes(
        example_document(template_source=source),
        local_note="We estimate {{ number }} homes and {% raw %} in [NUMBER OF UNITS] units.",
    )

    assert unfilled_placeholders(doc) == [
        "[CITY-SPECIFIC IMPACT]",
        "[CITY NAME]",
        "{{ number }}",
        "{% raw %}",
        "[NUMBER OF UNITS]",
    ]


def test_placeholder_in_a_talking_point_is_found() -> None:
    doc = with_changes(example_document(), talking_points=["Our city would lose [AMOUNT] in revenue."])
    assert unfilled_placeholders(doc) == ["[AMOUNT]"]


def test_template_error_from_placeholder_check() -> None:
    with pytest.raises(TemplateError):
        unfilled_placeholders(example_document(template_source="{{ nope }}"))


def test_town_letterhead_and_explicit_signer_org() -> None:
    doc = with_changes(
        example_document(),
        letterhead=Letterhead("Apple Valley", "Town of Apple Valley", []),
        signer=dataclasses.replace(example_document().signer, city_name="Town Council, Town of Apple Valley"),
        letter_date=date(2026, 12, 1),
    )
    text = text_of(render_letter_html(doc))

    assert "On behalf of the Town of Apple Valley" in text
    assert "Mayor Town Council, Town of Apple Valley" in text
    assert "December 1, 2026" in text
    assert "<title>Town of Apple Valley monogram</title>" in render_letter_html(doc)


def test_stored_document_reads_back_equal_with_the_seal_of_now() -> None:
    doc = example_document("oppose")
    full = with_changes(
        doc,
        letterhead=dataclasses.replace(doc.letterhead, seal=TINY_PNG, seal_mimetype="image/png"),
        addressee=dataclasses.replace(doc.addressee, also=[("The Honorable Jane Example", "Senator, 6th District")]),
        hearing_date=date(2026, 6, 23),
        local_note='Our city\'s "downtown plan": 1,200 homes & a <park>.',
        template_source="{{ bill.label }} body",
        template_version_id=7,
    )
    stored = stored_document(full)
    assert "iVBOR" not in stored and "seal" not in stored  # the seal stays in the city's storage
    back = document_from_stored(stored, TINY_PNG, "image/png")
    assert back == full
    assert back is not None and render_letter_html(back) == render_letter_html(full)


def test_a_stored_document_of_another_form_is_not_read() -> None:
    assert document_from_stored("", None, "image/png") is None
    assert document_from_stored('{"format": 999}', None, "image/png") is None
