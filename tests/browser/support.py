"""Helpers for the Chromium tests: the axe-core scan, screenshots, reading the outbox."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("ADVOCACY_TEST_ARTIFACTS", HERE.parent.parent / "test-artifacts"))


def _ensure_axe() -> Path:
    if not AXE_JS.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    if not AXE_JS.exists():
        pytest.fail("axe-core is missing: run `npm install` in tests/browser")
    return AXE_JS


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.0/2.1 A and AA rules on the current page; return the violations."""
    page.add_script_tag(path=str(_ensure_axe()))
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in violations
    )


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def latest_mail_to(outbox: Path, address: str, timeout: float = 10.0) -> str:
    """The newest .eml in the outbox addressed to ``address``, as text (waits for it to appear)."""
    import email
    from email import policy

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(message.get("To", "")).lower():
                body = message.get_body(preferencelist=("plain",))
                return body.get_content() if body is not None else ""
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address} in {outbox}")
