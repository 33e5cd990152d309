"""The campaign wizard: bill and position, letter template and variants, targets, audience, deadline, preview,
launch. Each step saves into the draft campaign (``Campaign``) and its plan (``CampaignPlan``), so staff can leave
and come back; the JSON API uses the same functions.

Launching checks everything a campaign needs (a deadline in the future, a letter that renders, an audience), makes
the campaign active, records its first stage and queues the launch alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import User
from advocacy.campaigns import agenda, audience, stale, variants
from advocacy.campaigns.alerts import plan_of, start_run
from advocacy.campaigns.chambers import chamber_recipients
from advocacy.campaigns.committee_rules import listing_warnings, rule_for
from advocacy.campaigns.console_models import AlertRun, CampaignPlan, Hearing, RunKind
from advocacy.campaigns.deadlines import local_to_utc_naive
from advocacy.campaigns.hearings import deadline_info
from advocacy.campaigns.models import Campaign, CampaignStatus, Position, TargetGroup
from advocacy.campaigns.service import CampaignError, bill_of, create_campaign, get_campaign, stage_of
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City, Division
from advocacy.letters.document import KINDS

STEPS = ("bill", "letter", "targets", "audience", "deadline", "preview")
STEP_TITLES = {
    "bill": "Bill and position",
    "letter": "Letter and variants",
    "targets": "Recipients",
    "audience": "Audience",
    "deadline": "Hearing and deadline",
    "preview": "Preview and launch",
}
GROUP_LABELS = {
    TargetGroup.COMMITTEE: "The committee now hearing the bill (chair and members)",
    TargetGroup.AUTHOR: "The bill's author",
    TargetGroup.OWN_LEGISLATORS: "The city's own Assembly member(s) and Senator(s)",
    TargetGroup.ALL_ASSEMBLY: "Every member of the Assembly",
    TargetGroup.ALL_SENATE: "Every member of the Senate",
    TargetGroup.GOVERNOR: "The Governor (signature or veto requests on enrolled bills)",
}


class WizardError(ValueError):
    """A step's input that cannot be saved, or a launch that cannot happen; nothing was changed."""


def plan_for(session: Session, campaign_id: int) -> CampaignPlan:
    plan = plan_of(session, campaign_id)
    if plan is None:
        plan = CampaignPlan(campaign_id=campaign_id)
        session.add(plan)
        session.flush()
    return plan


def _campaign(session: Session, campaign_id: int) -> Campaign:
    try:
        return get_campaign(session, campaign_id, include_drafts=True)
    except LookupError as exc:
        raise WizardError(str(exc)) from None


def _draft_only(campaign: Campaign, what: str) -> None:
    if campaign.status is not CampaignStatus.DRAFT:
        raise WizardError(f"The {what} of a launched campaign cannot change: close it and start another.")


# ----------------------------------------------------------------------------------------------- step 1: bill


@dataclass
class BillStep:
    bill_id: int
    position: str = ""  # empty: the agenda's position
    title: str = ""
    talking_points: str | None = None  # None: the agenda's talking points


def start_campaign(session: Session, data: BillStep, user: User) -> Campaign:
    """A draft campaign on a bill, with the agenda's position and talking points unless given. Commits."""
    item = agenda.agenda_item(session, data.bill_id)
    position = data.position or (item.position if item else "")
    if not position:
        raise WizardError("Choose the league's position on this bill (it has none on the Action Agenda yet).")
    points = data.talking_points if data.talking_points is not None else (item.talking_points if item else "")
    try:
        campaign = create_campaign(
            session,
            bill_id=data.bill_id,
            position=position,
            talking_points=points,
            title=data.title,
            status=CampaignStatus.DRAFT,
            created_by=user,
        )
    except CampaignError as exc:
        raise WizardError(str(exc)) from None
    plan_for(session, campaign.id or 0)
    accounts.record(session, user, "campaign.create", f"campaign:{campaign.id}")
    session.commit()
    return campaign


def update_bill_step(session: Session, campaign_id: int, data: BillStep) -> Campaign:
    campaign = _campaign(session, campaign_id)
    try:
        position = Position(data.position or campaign.position)
    except ValueError:
        raise WizardError(f"Unknown position {data.position!r}.") from None
    if data.bill_id != campaign.bill_id or position is not campaign.position:
        _draft_only(campaign, "bill and position")
    if session.get(Bill, data.bill_id) is None:
        raise WizardError(f"There is no bill with id {data.bill_id}.")
    if position.to_governor != campaign.position.to_governor:
        campaign.target_groups = ",".join(_default_targets(position))
    if position is not campaign.position and campaign.letter_kind == campaign.position.default_kind:
        campaign.letter_kind = position.default_kind
    campaign.bill_id, campaign.position = data.bill_id, position
    if data.title.strip():
        campaign.title = data.title.strip()[:200]
    if data.talking_points is not None:
        campaign.talking_points = data.talking_points.strip()
    session.add(campaign)
    session.commit()
    return campaign


def _default_targets(position: Position) -> tuple[TargetGroup, ...]:
    from advocacy.campaigns.models import DEFAULT_TARGETS, GOVERNOR_TARGETS

    return GOVERNOR_TARGETS if position.to_governor else DEFAULT_TARGETS


# ----------------------------------------------------------------------------------------------- step 2: letter


def update_letter_step(
    session: Session, campaign_id: int, letter_kind: str, chosen: dict[str, list[int]] | None = None
) -> Campaign:
    """The file template kind and, per target group, up to three staff template versions (variants)."""
    campaign = _campaign(session, campaign_id)
    if letter_kind not in KINDS:
        raise WizardError(f"Unknown letter kind {letter_kind!r}; one of {', '.join(KINDS)}.")
    if letter_kind != campaign.letter_kind:
        _draft_only(campaign, "letter kind")
        campaign.letter_kind = letter_kind
        session.add(campaign)
        session.flush()
    try:
        for group, version_ids in (chosen or {}).items():
            variants.set_variants(session, campaign, group, version_ids)
    except variants.VariantError as exc:
        session.rollback()
        raise WizardError(str(exc)) from None
    session.commit()
    return campaign


# ----------------------------------------------------------------------------------------------- step 3: targets


def update_targets(session: Session, campaign_id: int, targets: list[str]) -> Campaign:
    campaign = _campaign(session, campaign_id)
    try:
        groups = list(dict.fromkeys(TargetGroup(t) for t in targets))
    except ValueError as exc:
        raise WizardError(f"Unknown recipient group: {exc}") from None
    if not groups:
        raise WizardError("Choose at least one group of recipients.")
    if TargetGroup.GOVERNOR in groups and not campaign.position.to_governor:
        raise WizardError("Only requests for signature or veto are sent to the Governor.")
    if TargetGroup.COMMITTEE in groups and campaign.position.to_governor:
        raise WizardError("A request to the Governor goes to no committee: the bill has left the Legislature.")
    campaign.target_groups = ",".join(groups)
    session.add(campaign)
    session.commit()
    return campaign


# ----------------------------------------------------------------------------------------------- step 4: audience


def resolve_cities(session: Session, entries: list[str]) -> tuple[int, ...]:
    """City ids from ids, Census GEOIDs or names ("Sacramento", "0664000", "12")."""
    ids = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        city = None
        if entry.isdigit():
            city = session.exec(select(City).where(City.geoid == entry)).first() if len(entry) == 7 else None
            city = city or session.get(City, int(entry))
        else:
            city = session.exec(select(City).where(col(City.name).ilike(entry))).first()
        if city is None:
            raise WizardError(f"No city {entry!r}.")
        ids.append(city.id or 0)
    return tuple(sorted(set(ids)))


def update_audience(
    session: Session, campaign_id: int, *, division_ids: list[int], cities: list[str], roles: list[str]
) -> CampaignPlan:
    _campaign(session, campaign_id)
    known = {d.id for d in session.exec(select(Division)).all()}
    unknown = [d for d in division_ids if d not in known]
    if unknown:
        raise WizardError(f"No Regional Division with id {unknown[0]}.")
    try:
        role_keys = audience.check_roles(roles)
    except audience.AudienceError as exc:
        raise WizardError(str(exc)) from None
    plan = plan_for(session, campaign_id)
    plan.audience_divisions = ",".join(str(d) for d in sorted(set(division_ids)))
    plan.audience_cities = ",".join(str(c) for c in resolve_cities(session, cities))
    plan.audience_roles = ",".join(role_keys)
    session.add(plan)
    session.commit()
    return plan


# ----------------------------------------------------------------------------------------------- step 5: deadline


@dataclass
class DeadlineStep:
    hearing_id: int | None = None
    override_date: date | None = None  # with override_time: a deadline typed by staff (Pacific)
    override_time: time | None = None
    citipac_ask: bool = False
    requires_approval: bool = False


def update_deadline(session: Session, campaign_id: int, data: DeadlineStep) -> Campaign:
    """The hearing the campaign follows and its computed deadline, or a deadline staff set by hand."""
    campaign = _campaign(session, campaign_id)
    plan = plan_for(session, campaign_id)
    hearing = session.get(Hearing, data.hearing_id) if data.hearing_id else None
    if data.hearing_id and hearing is None:
        raise WizardError(f"There is no hearing with id {data.hearing_id}.")
    plan.hearing_id = hearing.id if hearing else None
    if data.override_date is not None:
        deadline = local_to_utc_naive(data.override_date, data.override_time or time(17, 0))
        campaign.deadline, plan.deadline_overridden = deadline, True
    else:
        plan.deadline_overridden = False
        campaign.deadline = deadline_info(session, hearing).deadline if hearing else None
    plan.citipac_ask, plan.requires_approval = data.citipac_ask, data.requires_approval
    session.add_all([campaign, plan])
    current = stale.current_stage_row(session, campaign_id)
    if current is not None:
        current.deadline, current.hearing_id = campaign.deadline, plan.hearing_id
        session.add(current)
    session.commit()
    return campaign


# ----------------------------------------------------------------------------------------------- step 6: preview


@dataclass
class GroupPreview:
    group: TargetGroup
    label: str
    recipients: list[str]
    template: str  # "File template (support)" or "Template name, version 2"
    html: str = ""
    error: str = ""


@dataclass
class Preview:
    campaign: Campaign
    city: City | None
    groups: list[GroupPreview] = field(default_factory=list)
    recipient_count: int = 0
    audience: audience.AudienceCount | None = None
    warnings: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)


def sample_city(session: Session, campaign_id: int) -> City | None:
    """The first city of the audience (for a preview when staff chose none)."""
    found = (
        audience.audience_select(audience.audience_of(plan_of(session, campaign_id)), col(City.id))
        .order_by(col(City.name))
        .limit(1)
    )
    row = session.execute(found).first()
    return session.get(City, row[0]) if row else None


def preview(session: Session, campaign_id: int, user: User, city_id: int | None = None) -> Preview:
    """A sample letter of each target group for a chosen city, the recipient and audience counts, and warnings."""
    from advocacy.letters import service as letters

    campaign = _campaign(session, campaign_id)
    city = session.get(City, city_id) if city_id else sample_city(session, campaign_id)
    result = Preview(campaign, city, warnings=launch_problems(session, campaign, strict=False))
    result.audience = audience.count_audience(session, audience.audience_of(plan_of(session, campaign_id)))
    if city is None:
        return result
    draft = letters.draft_for(session, campaign, city, user)
    recipients = draft.recipients + chamber_recipients(session, campaign, draft.recipients)
    result.recipient_count, result.placeholders = len(recipients), draft.placeholders
    if draft.document is None:
        return result
    # Each group with a variant of its own gets its own letter (its own addressee block, as the letters package
    # sends it); every other group gets the main letter, shown once.
    own = {extra.group: extra for extra in draft.documents}
    main = variants.choose(session, campaign, city.id or 0, variants.primary_group(campaign, draft.stage))
    shown: dict[str, GroupPreview] = {}
    for route in variants.route(session, campaign, city.id or 0, list(recipients)):
        extra = own.get(route.group.value)
        choice = route.choice if extra is not None else main
        key = route.group.value if extra is not None else ""
        names = [getattr(r, "name", "") for r in route.recipients]
        if key in shown:
            shown[key].label += f"; {GROUP_LABELS.get(route.group, route.group.value).lower()}"
            shown[key].recipients += names
            continue
        label = (
            f"{choice.template.name}, version {choice.version.number}"
            if choice
            else (f"File template ({campaign.letter_kind})")
        )
        item = shown[key] = GroupPreview(route.group, GROUP_LABELS.get(route.group, route.group.value), names, label)
        if extra is not None:
            item.html, item.error = extra.html, extra.error
        else:
            item.html, item.error = draft.html, "" if draft.html else draft.template_error
        result.groups.append(item)
    return result


def launch_problems(session: Session, campaign: Campaign, *, strict: bool = True) -> list[str]:
    """What stops (or, ``strict=False``, should worry staff before) a launch."""
    problems = []
    bill = bill_of(session, campaign)
    stage = stage_of(session, campaign, bill)
    if campaign.deadline is None:
        problems.append("No deadline: pick the hearing (its committee needs a letter rule) or set the deadline.")
    elif campaign.deadline <= utcnow():
        problems.append("The deadline has passed.")
    if campaign.position.to_governor and "enrolled" not in bill.status.lower():
        problems.append(f"Requests for signature or veto are for enrolled bills; {bill.label} is “{bill.status}”.")
    if TargetGroup.COMMITTEE in campaign.targets and stage.committee is None and not campaign.position.to_governor:
        problems.append(f"{bill.label} is before no committee now: record the committee on the Action Agenda.")
    plan = plan_of(session, campaign.id or 0)
    if audience.count_audience(session, audience.audience_of(plan)).officials == 0:
        problems.append("No official is in the audience (or every one of them unsubscribed).")
    if stage.committee is not None:
        rule = rule_for(session, stage.committee.id or 0)
        if rule is not None and not strict:
            problems += listing_warnings(rule.listing, campaign.position.value)
        elif rule is None and not strict:
            problems += listing_warnings("unknown", campaign.position.value)
    return problems


def launch(session: Session, campaign_id: int, user: User) -> AlertRun:
    """Make the campaign active, record its first stage and queue the launch alert. Commits."""
    campaign = _campaign(session, campaign_id)
    plan = plan_for(session, campaign_id)
    if plan.launched_at is not None:
        raise WizardError("This campaign was already launched; send a reminder instead.")
    if campaign.status is CampaignStatus.CLOSED:
        raise WizardError("This campaign is closed.")
    problems = launch_problems(session, campaign)
    city = sample_city(session, campaign_id)
    if city is not None and not problems:
        preview_check = preview(session, campaign_id, user, city.id)
        problems += [f"The letter does not render: {g.error}" for g in preview_check.groups if g.error]
    if problems:
        raise WizardError(" ".join(problems))
    campaign.status = CampaignStatus.ACTIVE
    plan.launched_at, plan.launched_by_id = utcnow(), user.id
    session.add_all([campaign, plan])
    bill = bill_of(session, campaign)
    stale.open_stage(session, campaign, stage_of(session, campaign, bill), bill, reason="launch")
    run = start_run(session, campaign, RunKind.LAUNCH, user)
    accounts.record(session, user, "campaign.launch", f"campaign:{campaign.id}", {"run": run.id})
    session.commit()
    return run


def send_reminder(session: Session, campaign_id: int, user: User) -> AlertRun:
    """Alert again every official of the audience whose city has not acted at the current stage. Commits."""
    campaign = _campaign(session, campaign_id)
    plan = plan_for(session, campaign_id)
    if plan.launched_at is None or campaign.status is not CampaignStatus.ACTIVE:
        raise WizardError("Only a launched, active campaign sends reminders.")
    try:
        run = start_run(session, campaign, RunKind.REMINDER, user)
    except ValueError as exc:
        raise WizardError(str(exc)) from None
    accounts.record(session, user, "campaign.remind", f"campaign:{campaign.id}", {"run": run.id})
    session.commit()
    return run


def close_campaign(session: Session, campaign_id: int, user: User) -> Campaign:
    campaign = _campaign(session, campaign_id)
    campaign.status = CampaignStatus.CLOSED
    current = stale.current_stage_row(session, campaign_id)
    if current is not None:
        current.closed_at = utcnow()
        session.add(current)
    session.add(campaign)
    accounts.record(session, user, "campaign.close", f"campaign:{campaign.id}")
    session.commit()
    return campaign


def set_deadline_override(session: Session, campaign_id: int, deadline: datetime | None) -> Campaign:
    """The API's way: a naive-UTC deadline (None: back to the hearing's computed one)."""
    plan = plan_for(session, campaign_id)
    if deadline is None:
        return update_deadline(
            session, campaign_id, DeadlineStep(plan.hearing_id, None, None, plan.citipac_ask, plan.requires_approval)
        )
    campaign = _campaign(session, campaign_id)
    campaign.deadline, plan.deadline_overridden = deadline, True
    session.add_all([campaign, plan])
    session.commit()
    return campaign
