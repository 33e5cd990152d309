"""``advocacy demo`` extension for CitiPAC: a fictional treasurer and an ask on one demo campaign.

CitiPAC is personal giving, never the city's (DOMAIN.md §4): the ask is shown only on the official's own account
page, not on the official-capacity letter page. No contributions are invented: the ledger is a legal record, so
the demo leaves it empty for the treasurer to try. Idempotent.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from advocacy.accounts.models import Role
from advocacy.citipac.models import CitipacAsk
from advocacy.citipac.service import create_ask

DEMO_ASK_MESSAGE = (
    "Demo ask: CitiPAC supports candidates for the Legislature who understand local government. A personal "
    "contribution (never city funds) helps elect them."
)


def add_to_demo(session: Session, summary: Any) -> None:
    from advocacy.campaigns.demo import create_demo_campaigns
    from advocacy.demo import DEMO_DOMAIN, ensure_person

    treasurer = ensure_person(
        session,
        summary,
        email=f"treasurer@{DEMO_DOMAIN}",
        name="Robin Example",
        role=Role.STAFF,
        title="CitiPAC Treasurer",
        place="League",
        is_treasurer=True,
    )
    campaigns = create_demo_campaigns(session)
    if not campaigns:
        return
    campaign = campaigns[0]
    ask = session.exec(select(CitipacAsk).where(CitipacAsk.campaign_id == campaign.id)).first()
    created = 0
    if ask is None:
        ask = create_ask(
            session,
            treasurer,
            campaign_id=campaign.id or 0,
            suggested_amounts="100, 250, 500",
            message=DEMO_ASK_MESSAGE,
        )
        created = 1
    summary.add_section(
        "CitiPAC",
        [f"ask on {campaign.title} (officials see it on /account)", "treasurer: /citipac (log in as the treasurer)"],
        created=created,
    )
