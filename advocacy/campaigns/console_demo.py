"""``advocacy demo`` extension for the campaign console: the committee letter rules of DOMAIN.md §1.6 and the
shipped bills on the Action Agenda (idempotent; staff's edits are kept)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session


def add_to_demo(session: Session, summary: Any) -> None:
    from advocacy.campaigns.agenda import import_shipped
    from advocacy.campaigns.committee_rules import seed_rules

    created, missing = seed_rules(session)
    report = import_shipped(session, None)
    lines = [
        f"{created} committee letter rule(s) added" + (f" (not found: {', '.join(missing)})" if missing else ""),
        f"Action Agenda: {report.summary()}",
        "Staff console: /console",
    ]
    summary.add_section("Campaign console", lines, created=created + report.agenda_created)
