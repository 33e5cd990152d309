"""Message variants: up to three letter bodies per target group of a campaign (committee members, the author, the
city's own delegation, a whole chamber, the Governor), and which one a city's letter uses.

Each city gets one variant per group, chosen by a stable hash of campaign and city: the same city always gets the
same text (a preview matches the letter), while across cities the variants are spread evenly, so a committee does
not receive four hundred identical letters. The letter's main document takes the variant of its addressee's group
(``primary_group``; the campaign's file template when that group has none). A group with a variant that reads
differently gets a document of its own, addressed to its people; a group without variants gets the main document.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from advocacy.campaigns.console_models import CampaignVariant, LetterTemplate, LetterTemplateVersion
from advocacy.campaigns.models import Campaign, TargetGroup
from advocacy.campaigns.service import Stage
from advocacy.campaigns.templates_store import TemplateStoreError, get_version

MAX_VARIANTS = 3


class VariantError(ValueError):
    """Bad variant input; nothing was changed."""


@dataclass(frozen=True)
class VariantChoice:
    group: TargetGroup
    version: LetterTemplateVersion
    template: LetterTemplate
    slot: int


@dataclass
class GroupRoute:
    """One target group of a city's letter: the recipients in it and the variant their letter uses."""

    group: TargetGroup
    choice: VariantChoice | None
    recipients: list[object] = field(default_factory=list)


def variants_of(session: Session, campaign_id: int) -> dict[TargetGroup, list[VariantChoice]]:
    rows = session.exec(
        select(CampaignVariant, LetterTemplateVersion, LetterTemplate)
        .join(LetterTemplateVersion, col(LetterTemplateVersion.id) == CampaignVariant.template_version_id)
        .join(LetterTemplate, col(LetterTemplate.id) == LetterTemplateVersion.template_id)
        .where(CampaignVariant.campaign_id == campaign_id)
        .order_by(col(CampaignVariant.target_group), col(CampaignVariant.slot))
    ).all()
    found: dict[TargetGroup, list[VariantChoice]] = {}
    for variant, version, template in rows:
        group = TargetGroup(variant.target_group)
        found.setdefault(group, []).append(VariantChoice(group, version, template, variant.slot))
    return found


def set_variants(session: Session, campaign: Campaign, group: TargetGroup | str, version_ids: list[int]) -> None:
    """Replace a group's variants with ``version_ids`` (at most three, of the campaign's letter kind). Commits."""
    try:
        group = TargetGroup(group)
    except ValueError:
        raise VariantError(f"Unknown target group {group!r}.") from None
    ids = list(dict.fromkeys(version_ids))
    if len(ids) > MAX_VARIANTS:
        raise VariantError(f"At most {MAX_VARIANTS} variants per target group.")
    for version_id in ids:
        try:
            version = get_version(session, version_id)
        except TemplateStoreError as exc:
            raise VariantError(str(exc)) from None
        template = session.get(LetterTemplate, version.template_id)
        if template is None or template.kind != campaign.letter_kind:
            raise VariantError(
                f"Template version {version_id} is not a “{campaign.letter_kind}” letter; pick one of that kind."
            )
    for old in session.exec(
        select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id, CampaignVariant.target_group == group)
    ).all():
        session.delete(old)
    session.flush()
    for slot, version_id in enumerate(ids, start=1):
        session.add(
            CampaignVariant(campaign_id=campaign.id or 0, target_group=group, slot=slot, template_version_id=version_id)
        )
    session.commit()


def pick(options: list[VariantChoice], campaign_id: int, city_id: int) -> VariantChoice | None:
    """The variant a city gets among ``options`` (stable, evenly spread)."""
    if not options:
        return None
    return options[zlib.crc32(f"{campaign_id}:{city_id}".encode()) % len(options)]


def primary_group(campaign: Campaign, stage: Stage) -> TargetGroup:
    """The group of the letter's addressee: the Governor, else the committee now hearing the bill, else the author."""
    targets = campaign.targets
    if campaign.position.to_governor:
        return TargetGroup.GOVERNOR
    if stage.committee is not None and TargetGroup.COMMITTEE in targets:
        return TargetGroup.COMMITTEE
    return TargetGroup.AUTHOR if TargetGroup.AUTHOR in targets or not targets else targets[0]


def choose(session: Session, campaign: Campaign, city_id: int, group: TargetGroup) -> VariantChoice | None:
    return pick(variants_of(session, campaign.id or 0).get(group, []), campaign.id or 0, city_id)


def template_source_for(
    session: Session, campaign: Campaign, city_id: int, stage: Stage
) -> tuple[str | None, int | None]:
    """The body ``city_id``'s letter uses and its template version id, or ``(None, None)`` for the file template.

    This is the hook ``letters.compose.build_document`` calls (``LetterDocument.template_source``)."""
    choice = choose(session, campaign, city_id, primary_group(campaign, stage))
    return (choice.version.source, choice.version.id) if choice else (None, None)


def group_of_reason(reason: str, key: str) -> TargetGroup:
    """The target group a recipient is in, from its key and first reason (the author on the committee is routed as
    a committee member: the committee is why the letter is written now)."""
    first = reason.split(";")[0].strip()
    if key == "governor":
        return TargetGroup.GOVERNOR
    if key.startswith("committee:"):
        return TargetGroup.COMMITTEE
    if first.startswith("Author"):
        return TargetGroup.AUTHOR
    if first.startswith(("Your Assembly member", "Your Senator")):
        return TargetGroup.OWN_LEGISLATORS
    if first.startswith("Member of the Assembly"):
        return TargetGroup.ALL_ASSEMBLY
    if first.startswith("Member of the Senate"):
        return TargetGroup.ALL_SENATE
    return TargetGroup.COMMITTEE


def route(session: Session, campaign: Campaign, city_id: int, recipients: list[object]) -> list[GroupRoute]:
    """Split a city's recipients by target group, each with the variant its letter uses."""
    variants = variants_of(session, campaign.id or 0)
    routes: dict[TargetGroup, GroupRoute] = {}
    for recipient in recipients:
        group = group_of_reason(str(getattr(recipient, "reason", "")), str(getattr(recipient, "key", "")))
        if group not in routes:
            routes[group] = GroupRoute(group, pick(variants.get(group, []), campaign.id or 0, city_id))
        routes[group].recipients.append(recipient)
    return list(routes.values())
