"""An official logs in with the magic link from the outbox, opens their city page, and the page passes axe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from advocacy.accounts.models import Role
from advocacy.db import session_scope
from advocacy.settings import get_settings
from tests.browser.support import axe_violations, describe, latest_mail_to, screenshot
from tests.helpers import create_user

pytestmark = pytest.mark.browser


def test_official_logs_in_by_magic_link_and_reads_city_page(live_server: str, page: Any) -> None:
    with session_scope() as session:
        official = create_user(session, role=Role.OFFICIAL, city_geoid="0664000", may_sign=True, title="Mayor")
        session.commit()
        email, city_id = official.email, official.city_id

    page.goto(f"{live_server}/login")
    assert not axe_violations(page), describe(axe_violations(page))
    page.get_by_label(re.compile("e-?mail", re.I)).fill(email)
    page.get_by_role("button", name=re.compile("link|log in|send", re.I)).click()
    page.wait_for_load_state()
    assert "check your e-mail" in page.content().lower() or "check your email" in page.content().lower()

    body = latest_mail_to(Path(get_settings().outbox_dir), email)
    link = re.search(r"https?://\S+/login/\S+", body)
    assert link, body
    path = re.sub(r"^https?://[^/]+", "", link.group(0))
    page.goto(f"{live_server}{path}")
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    page.wait_for_load_state()

    page.goto(f"{live_server}/cities/{city_id}")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert "Sacramento" in heading
    text = page.inner_text("main")
    assert "Sacramento Valley" in text  # its Regional Division
    assert re.search(r"Assembly", text) and re.search(r"Senat", text)
    assert "916-319-" in text  # a Capitol phone of its Assembly delegation
    assert official.name in text  # its officials are listed
    screenshot(page, "city-page")
    violations = axe_violations(page)
    assert not violations, describe(violations)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "city-page-phone")
    violations = axe_violations(page)
    assert not violations, describe(violations)
