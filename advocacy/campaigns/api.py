"""The console's JSON API (bearer tokens, staff only for writes): campaigns (create, change, launch, remind, stats),
the Action Agenda's bills, hearings, committee letter rules, and letter templates with a PDF preview.

``GET /api/v1/campaigns`` and ``GET /api/v1/campaigns/{id}`` belong to the letters package (``campaigns.routes``);
the other verbs on those paths are here, on handlers of their own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from anyio import to_thread
from litestar import Response, Router, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from pydantic import BaseModel, Field

from advocacy.accounts.auth import allow
from advocacy.accounts.models import Role
from advocacy.campaigns import agenda, committee_rules, hearings, stats, templates_store, wizard
from advocacy.campaigns.alerts import plan_of
from advocacy.campaigns.audience import audience_of
from advocacy.campaigns.console_http import STAFF, http_errors
from advocacy.campaigns.console_models import AlertRun, CommitteeRule, Hearing, LetterTemplateVersion
from advocacy.campaigns.deadlines import CALIFORNIA, RuleError, format_deadline, to_utc_naive
from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.campaigns.service import get_campaign
from advocacy.campaigns.variants import variants_of
from advocacy.web import CurrentUser, DbSession

TAGS = ["console"]
LOGGED_IN = allow(*Role)


# ----------------------------------------------------------------------------------------------- schemas


class AudienceIn(BaseModel):
    divisions: list[int] = Field(default_factory=list, description="Regional Division ids; empty: all")
    cities: list[str] = Field(default_factory=list, description="city ids, Census GEOIDs or names; empty: all")
    roles: list[str] = Field(default_factory=list, description="mayor, council_member, city_manager; empty: all")


class CampaignIn(BaseModel):
    """A campaign as staff create or change it; on PATCH, only the fields sent change."""

    bill_id: int | None = None
    position: Position | None = None
    title: str | None = None
    talking_points: str | None = Field(None, description="one point per line")
    letter_kind: str | None = None
    targets: list[str] | None = Field(None, description="committee, author, own_legislators, all_assembly, …")
    variants: dict[str, list[int]] | None = Field(None, description="target group → up to 3 template version ids")
    audience: AudienceIn | None = None
    hearing_id: int | None = None
    deadline: datetime | None = Field(
        None, description="overrides the computed deadline; without a time zone it is read as Pacific time"
    )
    citipac_ask: bool | None = Field(None, description="off by default; never shown on the letter page")
    requires_approval: bool | None = None
    status: CampaignStatus | None = Field(None, description="PATCH only: 'closed' closes the campaign")


class ConsoleCampaignOut(BaseModel):
    id: int
    title: str
    bill_id: int
    position: Position
    status: CampaignStatus
    letter_kind: str
    targets: list[str]
    deadline: datetime | None = Field(description="UTC")
    deadline_text: str
    deadline_overridden: bool
    hearing_id: int | None
    audience: AudienceIn
    variants: dict[str, list[int]]
    citipac_ask: bool
    requires_approval: bool
    launched_at: datetime | None


class RunOut(BaseModel):
    id: int
    kind: str
    status: str
    total: int
    sent: int
    failed: int
    mail_calls: int


class StatsOut(BaseModel):
    campaign_id: int
    stage: str
    letters_by_status: dict[str, int]
    cities_targeted: int
    cities_acted: int
    failed_deliveries: list[dict[str, Any]]
    out_of_date_letters: list[int]
    alerts_sent: int
    runs: list[RunOut]
    deadline: datetime | None
    time_left: str
    seconds_left: int | None
    portal_and_mail: dict[str, int] = Field(
        default_factory=dict, description="portal and mail deliveries by status (portal_pending, mailed …)"
    )


class AgendaBillIn(BaseModel):
    bill: str = Field(description="“AB 1234”")
    position: str | None = None
    hot: bool | None = None
    policy_area: str | None = None
    talking_points: str | list[str] | None = None
    status: str | None = None
    version_date: date | None = Field(None, description="a new version date opens the next stage of its campaigns")
    committee: str | None = Field(None, description="“Assembly Local Government”, an ocd id, or '' for none")
    title: str | None = Field(None, description="needed for a bill not in the data")
    author: str | None = None


class ImportOut(BaseModel):
    bills_created: int
    bills_updated: int
    agenda_created: int
    agenda_updated: int
    stage_changes: list[str]


class HearingIn(BaseModel):
    committee_id: int
    hearing_date: date
    hearing_time: str = Field("", description="HH:MM Pacific")
    room: str = ""
    notes: str = ""


class HearingOut(BaseModel):
    id: int
    committee_id: int
    hearing_date: date
    hearing_time: str
    room: str
    notes: str
    deadline: datetime | None = Field(description="UTC, from the committee's rule")
    deadline_text: str
    rule: str


class RuleIn(BaseModel):
    kind: str
    days: int = 0
    weekday: int = Field(0, description="Monday 0 … Sunday 6")
    at_time: str = "17:00"
    source_url: str = ""
    checked_on: date | None = None
    accepts_portal: bool = True
    accepts_email: bool = False
    accepts_mail: bool = True
    listing: str = "unknown"
    notes: str = ""


class RuleOut(RuleIn):
    committee_id: int
    description: str


class TemplateIn(BaseModel):
    name: str
    kind: str
    source: str
    description: str = ""
    note: str = ""


class VersionIn(BaseModel):
    source: str
    note: str = ""


class VersionOut(BaseModel):
    id: int
    template_id: int
    number: int
    note: str
    created_at: datetime
    source: str


class PreviewIn(BaseModel):
    kind: str = "support"
    source: str | None = Field(None, description="a body to try; null: the file template of the kind")
    template_version_id: int | None = None
    city_id: int | None = None
    signer_id: int | None = None
    bill_id: int | None = None


# ----------------------------------------------------------------------------------------------- campaigns


def _utc(moment: datetime) -> datetime:
    return to_utc_naive(moment if moment.tzinfo else moment.replace(tzinfo=CALIFORNIA))


def campaign_out(session: DbSession, campaign: Campaign) -> ConsoleCampaignOut:
    plan = plan_of(session, campaign.id or 0)
    chosen = audience_of(plan)
    return ConsoleCampaignOut(
        id=campaign.id or 0,
        title=campaign.title,
        bill_id=campaign.bill_id,
        position=campaign.position,
        status=campaign.status,
        letter_kind=campaign.letter_kind,
        targets=[t.value for t in campaign.targets],
        deadline=campaign.deadline.replace(tzinfo=UTC) if campaign.deadline else None,
        deadline_text=format_deadline(campaign.deadline),
        deadline_overridden=bool(plan and plan.deadline_overridden),
        hearing_id=plan.hearing_id if plan else None,
        audience=AudienceIn(
            divisions=list(chosen.division_ids), cities=[str(c) for c in chosen.city_ids], roles=list(chosen.roles)
        ),
        variants={
            g.value: [c.version.id or 0 for c in choices]
            for g, choices in variants_of(session, campaign.id or 0).items()
        },
        citipac_ask=bool(plan and plan.citipac_ask),
        requires_approval=bool(plan and plan.requires_approval),
        launched_at=plan.launched_at if plan else None,
    )


def _apply(session: DbSession, campaign_id: int, data: CampaignIn, user: CurrentUser) -> None:
    """Apply the fields of ``data`` that were sent, step by step (each step checks its own input)."""
    sent = data.model_fields_set
    campaign = get_campaign(session, campaign_id, include_drafts=True)
    if sent & {"bill_id", "position", "title", "talking_points"}:
        wizard.update_bill_step(
            session,
            campaign_id,
            wizard.BillStep(
                bill_id=data.bill_id or campaign.bill_id,
                position=(data.position or campaign.position).value,
                title=data.title or "",
                talking_points=data.talking_points,
            ),
        )
    if sent & {"letter_kind", "variants"}:
        wizard.update_letter_step(session, campaign_id, data.letter_kind or campaign.letter_kind, data.variants)
    if data.targets is not None:
        wizard.update_targets(session, campaign_id, data.targets)
    if data.audience is not None:
        wizard.update_audience(
            session,
            campaign_id,
            division_ids=data.audience.divisions,
            cities=data.audience.cities,
            roles=data.audience.roles,
        )
    if sent & {"hearing_id", "deadline", "citipac_ask", "requires_approval"}:
        plan = wizard.plan_for(session, campaign_id)
        kept = campaign.deadline if plan.deadline_overridden and "deadline" not in sent else None
        wizard.update_deadline(
            session,
            campaign_id,
            wizard.DeadlineStep(
                hearing_id=data.hearing_id if "hearing_id" in sent else plan.hearing_id,
                citipac_ask=plan.citipac_ask if data.citipac_ask is None else data.citipac_ask,
                requires_approval=plan.requires_approval if data.requires_approval is None else data.requires_approval,
            ),
        )
        override = _utc(data.deadline) if data.deadline is not None else kept
        if override is not None:
            wizard.set_deadline_override(session, campaign_id, override)
    if data.status is CampaignStatus.CLOSED:
        wizard.close_campaign(session, campaign_id, user)


@post("/api/v1/campaigns", guards=[STAFF], tags=TAGS, operation_id="createCampaign", status_code=201)
async def api_create_campaign(session: DbSession, user: CurrentUser, data: JSONBody[CampaignIn]) -> ConsoleCampaignOut:
    """Create a draft campaign (bill and position required; the rest as PATCH takes it)."""
    return await to_thread.run_sync(_create_campaign, session, user, data)


def _create_campaign(session: DbSession, user: CurrentUser, data: CampaignIn) -> ConsoleCampaignOut:
    if data.bill_id is None:
        with http_errors():
            raise wizard.WizardError("bill_id is required.")
    with http_errors():
        campaign = wizard.start_campaign(
            session,
            wizard.BillStep(
                bill_id=data.bill_id or 0,
                position=data.position.value if data.position else "",
                title=data.title or "",
                talking_points=data.talking_points,
            ),
            user,
        )
        rest = CampaignIn.model_validate(
            data.model_dump(exclude_unset=True, exclude={"bill_id", "position", "title", "talking_points"})
        )
        try:
            _apply(session, campaign.id or 0, rest, user)
        except Exception:
            session.rollback()
            _discard(session, campaign.id or 0)
            raise
    return campaign_out(session, get_campaign(session, campaign.id or 0, include_drafts=True))


def _discard(session: DbSession, campaign_id: int) -> None:
    """A create whose later fields were refused leaves nothing behind (the API promises nothing changed)."""
    from sqlmodel import select

    from advocacy.campaigns.console_models import CampaignPlan, CampaignVariant

    for model in (CampaignVariant, CampaignPlan):
        for row in session.exec(select(model).where(model.campaign_id == campaign_id)).all():
            session.delete(row)
    session.flush()
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None:
        session.delete(campaign)
    session.commit()


@patch("/api/v1/campaigns/{campaign_id:int}", guards=[STAFF], tags=TAGS, operation_id="updateCampaign")
async def api_update_campaign(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], data: JSONBody[CampaignIn]
) -> ConsoleCampaignOut:
    """Change a campaign: only the fields sent change (a launched campaign keeps its bill and position)."""
    return await to_thread.run_sync(_update_campaign, session, user, campaign_id, data)


def _update_campaign(session: DbSession, user: CurrentUser, campaign_id: int, data: CampaignIn) -> ConsoleCampaignOut:
    with http_errors():
        get_campaign(session, campaign_id, include_drafts=True)
        _apply(session, campaign_id, data, user)
        return campaign_out(session, get_campaign(session, campaign_id, include_drafts=True))


def _run_out(run: AlertRun) -> RunOut:
    return RunOut(
        id=run.id or 0,
        kind=run.kind,
        status=run.status,
        total=run.total,
        sent=run.sent,
        failed=run.failed,
        mail_calls=run.mail_calls,
    )


@post(
    "/api/v1/campaigns/{campaign_id:int}/launch",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="launchCampaign",
    status_code=202,
)
def api_launch(session: DbSession, user: CurrentUser, campaign_id: FromPath[int]) -> RunOut:
    """Launch: the campaign opens and its action alert is queued (follow it in /stats)."""
    with http_errors():
        return _run_out(wizard.launch(session, campaign_id, user))


@post(
    "/api/v1/campaigns/{campaign_id:int}/reminders",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="remindCampaign",
    status_code=202,
)
def api_remind(session: DbSession, user: CurrentUser, campaign_id: FromPath[int]) -> RunOut:
    """Remind the audience whose city has not acted at the current stage."""
    with http_errors():
        return _run_out(wizard.send_reminder(session, campaign_id, user))


@get(
    "/api/v1/campaigns/{campaign_id:int}/stats",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="campaignStats",
)
def api_stats(session: DbSession, campaign_id: FromPath[int]) -> StatsOut:
    """Letters by status, cities acted against targeted, failed deliveries, alerts sent, time left."""
    with http_errors():
        campaign = get_campaign(session, campaign_id, include_drafts=True)
    found = stats.campaign_stats(session, campaign)
    return StatsOut(
        campaign_id=campaign_id,
        stage=found.stage.label,
        letters_by_status=found.letters_by_status,
        cities_targeted=found.cities_targeted,
        cities_acted=found.cities_acted,
        failed_deliveries=[p.__dict__ for p in found.problems],
        out_of_date_letters=[letter.id or 0 for letter, _ in found.out_of_date],
        alerts_sent=found.alerts_sent,
        runs=[_run_out(r) for r in found.runs],
        deadline=campaign.deadline.replace(tzinfo=UTC) if campaign.deadline else None,
        time_left=found.time_left,
        seconds_left=found.seconds_left,
        portal_and_mail=found.by_a_person,
    )


# ----------------------------------------------------------------------------------------------- bills


def _agenda_input(item: AgendaBillIn, line: int = 0) -> agenda.AgendaInput:
    points = item.talking_points
    return agenda.AgendaInput(
        label=item.bill,
        line=line,
        position=item.position,
        hot=item.hot,
        policy_area=item.policy_area,
        talking_points="\n".join(points) if isinstance(points, list) else points,
        status=item.status,
        version_date=item.version_date,
        committee=item.committee,
        title=item.title,
        author=item.author,
    )


def _import_out(report: agenda.ImportReport) -> ImportOut:
    return ImportOut(**report.__dict__)


@post("/api/v1/bills", guards=[STAFF], tags=TAGS, operation_id="importBills", status_code=200)
async def api_import_bills(session: DbSession, user: CurrentUser, data: JSONBody[list[AgendaBillIn]]) -> ImportOut:
    """Add or update Action Agenda bills (checked whole first: one bad item changes nothing)."""
    rows = [_agenda_input(b, i) for i, b in enumerate(data, 1)]
    return await to_thread.run_sync(_import, session, user, rows)


def _import(session: DbSession, user: CurrentUser, rows: list[agenda.AgendaInput]) -> ImportOut:
    with http_errors():
        return _import_out(agenda.import_rows(session, rows, user))


@patch("/api/v1/bills/{bill_id:int}", guards=[STAFF], tags=TAGS, operation_id="updateBill")
async def api_update_bill(
    session: DbSession, user: CurrentUser, bill_id: FromPath[int], data: JSONBody[AgendaBillIn]
) -> ImportOut:
    """Change one bill's agenda entry or facts (``bill`` is ignored: the path names the bill)."""
    return await to_thread.run_sync(_update_bill, session, user, bill_id, _agenda_input(data))


def _update_bill(session: DbSession, user: CurrentUser, bill_id: int, row: agenda.AgendaInput) -> ImportOut:
    with http_errors():
        return _import_out(agenda.update_agenda(session, bill_id, row, user))


# ----------------------------------------------------------------------------------------------- hearings


def _hearing_out(session: DbSession, hearing: Hearing) -> HearingOut:
    info = hearings.deadline_info(session, hearing)
    return HearingOut(
        id=hearing.id or 0,
        committee_id=hearing.committee_id,
        hearing_date=hearing.hearing_date,
        hearing_time=hearing.hearing_time,
        room=hearing.room,
        notes=hearing.notes,
        deadline=info.deadline.replace(tzinfo=UTC) if info.deadline else None,
        deadline_text=format_deadline(info.deadline),
        rule=info.rule_text or info.missing,
    )


@get("/api/v1/hearings", guards=[LOGGED_IN], sync_to_thread=True, tags=TAGS, operation_id="listHearings")
def api_hearings(session: DbSession, committee_id: FromQuery[int | None] = None) -> list[HearingOut]:
    """Upcoming hearings with their letter deadlines."""
    return [_hearing_out(session, row.hearing) for row in hearings.list_hearings(session, committee_id=committee_id)]


@post("/api/v1/hearings", guards=[STAFF], sync_to_thread=True, tags=TAGS, operation_id="createHearing", status_code=201)
def api_create_hearing(session: DbSession, user: CurrentUser, data: JSONBody[HearingIn]) -> HearingOut:
    with http_errors():
        hearing = hearings.create_hearing(session, hearings.HearingInput(**data.model_dump()), user)
    return _hearing_out(session, hearing)


@patch(
    "/api/v1/hearings/{hearing_id:int}", guards=[STAFF], sync_to_thread=True, tags=TAGS, operation_id="updateHearing"
)
def api_update_hearing(
    session: DbSession, user: CurrentUser, hearing_id: FromPath[int], data: JSONBody[HearingIn]
) -> HearingOut:
    """Change a hearing; campaigns that follow it get their deadlines recomputed (unless overridden)."""
    with http_errors():
        hearing = hearings.update_hearing(session, hearing_id, hearings.HearingInput(**data.model_dump()), user)
    return _hearing_out(session, hearing)


@delete(
    "/api/v1/hearings/{hearing_id:int}", guards=[STAFF], sync_to_thread=True, tags=TAGS, operation_id="deleteHearing"
)
def api_delete_hearing(session: DbSession, hearing_id: FromPath[int]) -> None:
    with http_errors():
        hearings.delete_hearing(session, hearing_id)


# ----------------------------------------------------------------------------------------------- committee rules


def _rule_out(rule: CommitteeRule) -> RuleOut:
    return RuleOut(
        committee_id=rule.committee_id,
        kind=rule.kind,
        days=rule.days,
        weekday=rule.weekday,
        at_time=rule.at_time,
        source_url=rule.source_url,
        checked_on=rule.checked_on,
        accepts_portal=rule.accepts_portal,
        accepts_email=rule.accepts_email,
        accepts_mail=rule.accepts_mail,
        listing=rule.listing,
        notes=rule.notes,
        description=committee_rules.deadline_rule_of(rule).describe(),
    )


@get(
    "/api/v1/committees/{committee_id:int}/rule",
    guards=[LOGGED_IN],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="getCommitteeRule",
)
def api_rule(session: DbSession, committee_id: FromPath[int]) -> RuleOut:
    rule = committee_rules.rule_for(session, committee_id)
    if rule is None:
        with http_errors():
            raise RuleError(f"There is no letter rule for committee {committee_id}.")
    assert rule is not None
    return _rule_out(rule)


@put(
    "/api/v1/committees/{committee_id:int}/rule",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="saveCommitteeRule",
)
def api_save_rule(
    session: DbSession, user: CurrentUser, committee_id: FromPath[int], data: JSONBody[RuleIn]
) -> RuleOut:
    with http_errors():
        rule = committee_rules.save_rule(session, committee_id, committee_rules.RuleInput(**data.model_dump()), user)
    return _rule_out(rule)


# ----------------------------------------------------------------------------------------------- templates


def _version_out(version: LetterTemplateVersion) -> VersionOut:
    return VersionOut(
        id=version.id or 0,
        template_id=version.template_id,
        number=version.number,
        note=version.note,
        created_at=version.created_at,
        source=version.source,
    )


@get("/api/v1/templates", guards=[STAFF], sync_to_thread=True, tags=TAGS, operation_id="listTemplates")
def api_templates(session: DbSession, kind: FromQuery[str | None] = None) -> list[dict[str, Any]]:
    """Staff templates with their latest version."""
    return [
        {
            "id": row.template.id,
            "name": row.template.name,
            "kind": row.template.kind,
            "description": row.template.description,
            "latest": _version_out(row.latest).model_dump(mode="json"),
        }
        for row in templates_store.list_templates(session, kind)
    ]


@post(
    "/api/v1/templates", guards=[STAFF], sync_to_thread=True, tags=TAGS, operation_id="createTemplate", status_code=201
)
def api_create_template(session: DbSession, user: CurrentUser, data: JSONBody[TemplateIn]) -> VersionOut:
    """A new template (checked by rendering a sample letter: errors come back with their line)."""
    with http_errors():
        return _version_out(
            templates_store.create_template(
                session,
                name=data.name,
                kind=data.kind,
                source=data.source,
                user=user,
                description=data.description,
                note=data.note,
            )
        )


@get(
    "/api/v1/templates/{template_id:int}",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="templateVersions",
)
def api_template(session: DbSession, template_id: FromPath[int]) -> list[VersionOut]:
    """Every version of a template, newest first."""
    with http_errors():
        templates_store.get_template(session, template_id)
    return [_version_out(v) for v in templates_store.versions_of(session, template_id)]


@post(
    "/api/v1/templates/{template_id:int}/versions",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="saveTemplateVersion",
    status_code=201,
)
def api_save_version(
    session: DbSession, user: CurrentUser, template_id: FromPath[int], data: JSONBody[VersionIn]
) -> VersionOut:
    with http_errors():
        return _version_out(templates_store.save_version(session, template_id, data.source, user, data.note))


@post(
    "/api/v1/templates/preview",
    guards=[STAFF],
    sync_to_thread=True,
    tags=TAGS,
    operation_id="previewTemplatePdf",
    status_code=200,
    media_type="application/pdf",
)
def api_preview(session: DbSession, data: JSONBody[PreviewIn]) -> Response[bytes]:
    """The letter as a PDF for a chosen city, signer and bill, with a body under test (422 with its line)."""
    with http_errors():
        source, kind = data.source, data.kind
        if data.template_version_id:
            version = templates_store.get_version(session, data.template_version_id)
            source, kind = version.source, templates_store.get_template(session, version.template_id).kind
        document = templates_store.preview_document(
            session, kind=kind, source=source, city_id=data.city_id, signer_id=data.signer_id, bill_id=data.bill_id
        )
        pdf = templates_store.preview_pdf(document)
    return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})


# Paths the other packages also serve (GET /api/v1/campaigns…, GET /api/v1/bills…) take plain handlers: two Routers
# on one path would both claim its OPTIONS handler. They are async (the work runs in a thread) because Litestar
# registers a handler again when another joins its path, and would wrap a sync one in a second thread hop.
SHARED_PATHS = [api_create_campaign, api_update_campaign, api_import_bills, api_update_bill]

route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            api_launch,
            api_remind,
            api_stats,
            api_hearings,
            api_create_hearing,
            api_update_hearing,
            api_delete_hearing,
            api_rule,
            api_save_rule,
            api_templates,
            api_create_template,
            api_template,
            api_save_version,
            api_preview,
        ],
    ),
    *SHARED_PATHS,
]
