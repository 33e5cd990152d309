"""What the letters package asks the campaign console while it builds, addresses and sends a letter.

Each function is a small hook called from ``advocacy.letters``; each returns "nothing to change" for campaigns the
console never touched, so the letters package behaves exactly as before for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import Stage
from advocacy.letters.models import Letter


def document_fields(session: Session, campaign: Campaign, city_id: int, stage: Stage) -> dict[str, Any]:
    """Extra ``LetterDocument`` fields: the body of the city's variant (None: the file template) and the date of
    the hearing the campaign follows, when it is this stage's committee's."""
    from advocacy.campaigns.alerts import plan_of
    from advocacy.campaigns.console_models import Hearing
    from advocacy.campaigns.variants import template_source_for

    source, version_id = template_source_for(session, campaign, city_id, stage)
    plan = plan_of(session, campaign.id or 0)
    hearing = session.get(Hearing, plan.hearing_id) if plan and plan.hearing_id else None
    hearing_date: date | None = None
    if hearing is not None and stage.committee is not None and hearing.committee_id == stage.committee.id:
        hearing_date = hearing.hearing_date
    return {"template_source": source, "template_version_id": version_id, "hearing_date": hearing_date}


def template_version_id(session: Session, campaign: Campaign, city_id: int, stage: Stage) -> int | None:
    """The staff template version the city's letter uses (None: the file template), for ``Letter`` to record."""
    from advocacy.campaigns.variants import template_source_for

    return template_source_for(session, campaign, city_id, stage)[1]


def extra_recipients(session: Session, campaign: Campaign, found: list[Any]) -> list[Any]:
    """Recipients of targets the letters package does not compute itself (every member of a chamber)."""
    from advocacy.campaigns.chambers import chamber_recipients

    return chamber_recipients(session, campaign, found)


def document_groups(
    session: Session, campaign: Campaign, city_id: int, stage: Stage, recipients: list[Any]
) -> dict[str, str]:
    """Recipients who get a document of their own: recipient key → target group, for each recipient in a group
    whose own message variant reads differently from the letter's main document. Empty (one document for everyone)
    for campaigns without variants; a group without variants of its own gets the main document, as before."""
    from advocacy.campaigns.variants import group_of_reason, pick, primary_group, variants_of

    variants = variants_of(session, campaign.id or 0)
    if not variants:
        return {}
    main = pick(variants.get(primary_group(campaign, stage), []), campaign.id or 0, city_id)
    main_source = main.version.source if main else None
    found: dict[str, str] = {}
    for recipient in recipients:
        group = group_of_reason(str(getattr(recipient, "reason", "")), str(getattr(recipient, "key", "")))
        choice = pick(variants.get(group, []), campaign.id or 0, city_id)
        if choice is not None and choice.version.source != main_source:
            found[str(recipient.key)] = group.value
    return found


def group_template(session: Session, campaign: Campaign, city_id: int, group: str) -> tuple[str | None, int | None]:
    """The body and template version of the city's variant for one target group (``(None, None)``: none)."""
    from advocacy.campaigns.models import TargetGroup
    from advocacy.campaigns.variants import choose

    choice = choose(session, campaign, city_id, TargetGroup(group))
    return (choice.version.source, choice.version.id) if choice else (None, None)


@dataclass(frozen=True)
class CommitteeChannels:
    """How staff recorded that a committee takes letters (its ``CommitteeRule``)."""

    portal: bool
    email: bool
    mail: bool
    source_url: str = ""


def committee_channels(session: Session, committee_id: int) -> CommitteeChannels | None:
    """The channels the committee's letter rule accepts, or None when staff have no rule for it (then the
    directory's ``Committee.letter_channel`` decides, as before)."""
    from advocacy.campaigns.committee_rules import rule_for

    rule = rule_for(session, committee_id)
    if rule is None:
        return None
    return CommitteeChannels(rule.accepts_portal, rule.accepts_email, rule.accepts_mail, rule.source_url)


def holds_for_review(session: Session, campaign_id: int) -> bool:
    """True when a signer's Send holds the campaign's letters for league review (``awaiting_approval``) instead of
    queueing them (``campaigns.approval``)."""
    from advocacy.campaigns.approval import requires_approval

    return requires_approval(session, campaign_id)


def letter_held(session: Session, letter: Letter, signer: User) -> None:
    """A letter was just held for review: the approval queue records it (in the caller's transaction)."""
    from advocacy.campaigns.approval import record_hold

    record_hold(session, letter, signer)


def review_comment(session: Session, letter: Letter) -> str:
    """What league staff said when they returned ``letter`` to its signer ("" unless it is a returned draft)."""
    from advocacy.campaigns.approval import returned_comment

    return returned_comment(session, letter)
