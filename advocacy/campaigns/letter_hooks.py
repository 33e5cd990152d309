"""What the letters package asks the campaign console while it builds, addresses and sends a letter.

Each function is a small hook called from ``advocacy.letters``; each returns "nothing to change" for campaigns the
console never touched, so the letters package behaves exactly as before for them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import Stage


def document_fields(session: Session, campaign: Campaign, city_id: int, stage: Stage) -> dict[str, Any]:
    """Extra ``LetterDocument`` fields: the body of the city's variant (None: the file template) and the date of
    the hearing the campaign follows, when it is this stage's committee's."""
    from advocacy.campaigns.alerts import plan_of
    from advocacy.campaigns.console_models import Hearing
    from advocacy.campaigns.variants import template_source_for

    source, _version_id = template_source_for(session, campaign, city_id, stage)
    plan = plan_of(session, campaign.id or 0)
    hearing = session.get(Hearing, plan.hearing_id) if plan and plan.hearing_id else None
    hearing_date: date | None = None
    if hearing is not None and stage.committee is not None and hearing.committee_id == stage.committee.id:
        hearing_date = hearing.hearing_date
    return {"template_source": source, "hearing_date": hearing_date}


def template_version_id(session: Session, campaign: Campaign, city_id: int, stage: Stage) -> int | None:
    """The staff template version the city's letter uses (None: the file template), for ``Letter`` to record."""
    from advocacy.campaigns.variants import template_source_for

    return template_source_for(session, campaign, city_id, stage)[1]


def extra_recipients(session: Session, campaign: Campaign, found: list[Any]) -> list[Any]:
    """Recipients of targets the letters package does not compute itself (every member of a chamber)."""
    from advocacy.campaigns.chambers import chamber_recipients

    return chamber_recipients(session, campaign, found)


def holds_for_review(session: Session, campaign_id: int) -> bool:
    """True when the campaign's letters wait in the approval queue (``campaigns.approval.submit_for_review``)."""
    from advocacy.campaigns.approval import requires_approval

    return requires_approval(session, campaign_id)
