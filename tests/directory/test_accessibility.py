"""Every directory page passes axe-core's WCAG 2.1 A/AA rules in real Chromium, on a desktop and a phone.

Playwright's sync API allows one instance per thread, and tests/browser keeps its own open for the whole run, so
this scan drives its own Chromium from a separate thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from advocacy.db import session_scope
from advocacy.directory import service
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: F401  (fixture)
from tests.browser.support import axe_violations, describe, screenshot

pytestmark = pytest.mark.browser


def _paths() -> dict[str, str]:
    with session_scope() as session:
        bill = service.find_bill(session, "AB 1567")
        la = service.find_city(session, "0644000")
        assert bill is not None and la is not None
        return {
            "home": "/",
            "city-los-angeles": f"/cities/{la.id}",
            "cities": "/cities?q=san",
            "divisions": "/divisions",
            "division": "/divisions/orange-county",
            "legislator": f"/legislators/{bill.author_id}",
            "committee": f"/committees/{bill.committee_id}",
            "bill": f"/bills/{bill.id}",
            "bills": "/bills",
            "search": "/search?q=san",
            "about": "/about",
            "not-found": "/cities/999999",
        }


def _scan(base_url: str, paths: dict[str, str]) -> list[str]:
    from playwright.sync_api import sync_playwright

    failures = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for width, suffix in ((1200, ""), (390, "-phone")):
            context = chromium.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            for name, path in paths.items():
                page.goto(f"{base_url}{path}")
                violations = axe_violations(page)
                if violations:
                    failures.append(f"{path} at {width}px: {describe(violations)}")
                if name in ("home", "city-los-angeles", "bill"):
                    screenshot(page, f"directory-{name}{suffix}")
            context.close()
        chromium.close()
    return failures


def test_directory_pages_pass_axe(live_server: str) -> None:  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with ThreadPoolExecutor(max_workers=1) as pool:
        failures = pool.submit(_scan, live_server, _paths()).result(timeout=240)
    assert not failures, "\n".join(failures)
