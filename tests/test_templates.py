"""Template conventions that would otherwise fail only in a real browser."""

import re

from advocacy import TEMPLATES_DIR


def test_every_csrf_input_is_marked_safe() -> None:
    # Litestar passes csrf_input as a plain string; Jinja autoescapes it into visible text and the form's POST is
    # then refused with 403. Each use must be `{{ csrf_input|safe }}`.
    offenders = [
        str(path.relative_to(TEMPLATES_DIR))
        for path in TEMPLATES_DIR.rglob("*.html")
        if re.search(r"\{\{\s*csrf_input\s*\}\}", path.read_text())
    ]
    assert offenders == []


def test_every_post_form_carries_the_csrf_token() -> None:
    missing = []
    for path in (TEMPLATES_DIR / "pages").rglob("*.html"):
        text = path.read_text()
        for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", text, flags=re.S | re.I):
            if "csrf_input" not in form:
                missing.append(str(path.relative_to(TEMPLATES_DIR)))
    assert missing == []
