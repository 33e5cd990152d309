"""The campaign wizard's pages (bill → letter → recipients → audience → deadline → preview → launch) and a
campaign's own staff page (letters by status, cities that acted, failed deliveries, alerts, time left)."""

from __future__ import annotations

from datetime import time
from typing import Any

from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import col, select

from advocacy.campaigns import agenda, audience, hearings, stats, templates_store, variants, wizard
from advocacy.campaigns.alerts import plan_of
from advocacy.campaigns.committee_rules import deadline_rule_of, rule_for
from advocacy.campaigns.console_http import STAFF, all_errors, day, flag, http_errors, integer, integers, many, text
from advocacy.campaigns.deadlines import format_deadline, parse_time, to_local
from advocacy.campaigns.models import Campaign, Position, TargetGroup
from advocacy.campaigns.service import bill_of, get_campaign, stage_of
from advocacy.directory.models import City, Division
from advocacy.letters.document import KINDS
from advocacy.web import CurrentUser, DbSession

FormData = URLEncodedBody[dict[str, Any]]


def _campaign(session: DbSession, campaign_id: int) -> Campaign:
    with http_errors():
        return get_campaign(session, campaign_id, include_drafts=True)


def _step_context(
    session: DbSession, campaign: Campaign | None, step: str, user: Any, city_id: int | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {"campaign": campaign, "step": step, "steps": wizard.STEPS, "titles": wizard.STEP_TITLES}
    if step == "bill":
        context.update(rows=agenda.agenda_rows(session, on_agenda_only=False), positions=list(Position))
        return context
    assert campaign is not None
    bill = bill_of(session, campaign)
    stage = stage_of(session, campaign, bill)
    plan = wizard.plan_for(session, campaign.id or 0)
    context.update(bill=bill, stage=stage, plan=plan)
    if step == "letter":
        context.update(
            kinds=KINDS,
            templates=templates_store.list_templates(session, campaign.letter_kind),
            variants=variants.variants_of(session, campaign.id or 0),
            groups=campaign.targets,
            group_labels=wizard.GROUP_LABELS,
            max_variants=variants.MAX_VARIANTS,
        )
    elif step == "targets":
        context.update(group_labels=wizard.GROUP_LABELS, chosen=campaign.targets)
    elif step == "audience":
        chosen = audience.audience_of(plan)
        context.update(
            divisions=session.exec(select(Division).order_by(col(Division.name))).all(),
            roles=audience.AUDIENCE_ROLES,
            chosen=chosen,
            city_names=[c.name for c in session.exec(select(City).where(col(City.id).in_(chosen.city_ids))).all()]
            if chosen.city_ids
            else [],
            count=audience.count_audience(session, chosen),
        )
    elif step == "deadline":
        committee = stage.committee
        rule = rule_for(session, committee.id or 0) if committee else None
        local = to_local(campaign.deadline) if campaign.deadline else None
        context.update(
            hearings=hearings.list_hearings(session, committee_id=committee.id) if committee else [],
            rule=rule,
            rule_text=deadline_rule_of(rule).describe() if rule else "",
            deadline_text=format_deadline(campaign.deadline),
            override_date=local.date().isoformat() if local and plan.deadline_overridden else "",
            override_time=local.strftime("%H:%M") if local and plan.deadline_overridden else "",
        )
    elif step == "preview":
        context.update(
            preview=wizard.preview(session, campaign.id or 0, user, city_id),
            cities=session.exec(select(City).where(col(City.is_member).is_(True)).order_by(col(City.name))).all(),
            problems=wizard.launch_problems(session, campaign),
            deadline_text=format_deadline(campaign.deadline),
        )
    return context


def _wizard_page(
    session: DbSession,
    campaign: Campaign | None,
    step: str,
    user: Any,
    *,
    error: str = "",
    status_code: int = 200,
    city_id: int | None = None,
) -> Template:
    if step not in wizard.STEPS:
        raise NotFoundException(f"There is no wizard step {step!r}.")
    context = _step_context(session, campaign, step, user, city_id)
    return Template(
        template_name="pages/console/wizard.html",
        status_code=status_code,
        context={**context, "error": error, "user": user},
    )


@get("/console/campaigns/new", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def wizard_new(session: DbSession, user: CurrentUser, bill: FromQuery[int | None] = None) -> Template:
    """Step 1 of a new campaign: the bill and the league's position."""
    response = _wizard_page(session, None, "bill", user)
    response.context["selected_bill"] = bill
    return response


@post("/console/campaigns", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def wizard_start(session: DbSession, user: CurrentUser, data: FormData) -> Response[Any]:
    try:
        bill_id = integer(data, "bill_id")
        if bill_id is None:
            raise wizard.WizardError("Choose a bill.")
        campaign = wizard.start_campaign(
            session,
            wizard.BillStep(
                bill_id=bill_id,
                position=text(data, "position"),
                title=text(data, "title"),
                talking_points=text(data, "talking_points") or None,
            ),
            user,
        )
    except all_errors() as exc:
        session.rollback()
        return _wizard_page(session, None, "bill", user, error=str(exc), status_code=422)
    return Redirect(path=f"/console/campaigns/{campaign.id}/wizard/letter", status_code=303)


@get(
    "/console/campaigns/{campaign_id:int}/wizard/{step:str}",
    guards=[STAFF],
    sync_to_thread=True,
    include_in_schema=False,
)
def wizard_step(
    session: DbSession,
    user: CurrentUser,
    campaign_id: FromPath[int],
    step: FromPath[str],
    city: FromQuery[int | None] = None,
) -> Template:
    """One step of the wizard for a campaign (the preview takes ``?city=`` for its sample letter)."""
    return _wizard_page(session, _campaign(session, campaign_id), step, user, city_id=city)


def _save_step(session: DbSession, campaign_id: int, step: str, data: dict[str, Any]) -> None:
    if step == "bill":
        wizard.update_bill_step(
            session,
            campaign_id,
            wizard.BillStep(
                bill_id=integer(data, "bill_id") or 0,
                position=text(data, "position"),
                title=text(data, "title"),
                talking_points=text(data, "talking_points"),
            ),
        )
    elif step == "letter":
        chosen = {
            group.value: integers(data, f"variants_{group.value}")
            for group in TargetGroup
            if f"variants_{group.value}" in data or text(data, "groups_shown")
        }
        wizard.update_letter_step(session, campaign_id, text(data, "letter_kind"), chosen)
    elif step == "targets":
        wizard.update_targets(session, campaign_id, many(data, "targets"))
    elif step == "audience":
        cities = [c for c in text(data, "cities").replace(";", ",").split(",") if c.strip()]
        wizard.update_audience(
            session, campaign_id, division_ids=integers(data, "divisions"), cities=cities, roles=many(data, "roles")
        )
    elif step == "deadline":
        when = text(data, "override_time").strip()
        wizard.update_deadline(
            session,
            campaign_id,
            wizard.DeadlineStep(
                hearing_id=integer(data, "hearing_id"),
                override_date=day(data, "override_date"),
                override_time=parse_time(when) if when else time(17, 0),
                citipac_ask=flag(data, "citipac_ask"),
                requires_approval=flag(data, "requires_approval"),
            ),
        )


@post(
    "/console/campaigns/{campaign_id:int}/wizard/{step:str}",
    guards=[STAFF],
    sync_to_thread=True,
    include_in_schema=False,
)
def wizard_save(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], step: FromPath[str], data: FormData
) -> Response[Any]:
    """Save a step and go to the next one."""
    campaign = _campaign(session, campaign_id)
    if step not in wizard.STEPS or step == "preview":
        raise NotFoundException(f"There is no wizard step {step!r} to save.")
    try:
        _save_step(session, campaign_id, step, data)
    except all_errors() as exc:
        session.rollback()
        return _wizard_page(session, campaign, step, user, error=str(exc), status_code=422)
    following = wizard.STEPS[wizard.STEPS.index(step) + 1]
    return Redirect(path=f"/console/campaigns/{campaign_id}/wizard/{following}", status_code=303)


@post("/console/campaigns/{campaign_id:int}/launch", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def wizard_launch(session: DbSession, user: CurrentUser, campaign_id: FromPath[int]) -> Response[Any]:
    """Launch: the campaign opens to officials and the action alert goes out through the worker."""
    campaign = _campaign(session, campaign_id)
    try:
        wizard.launch(session, campaign_id, user)
    except all_errors() as exc:
        session.rollback()
        return _wizard_page(session, campaign, "preview", user, error=str(exc), status_code=422)
    return Redirect(path=f"/console/campaigns/{campaign_id}", query_params={"notice": "Launched."}, status_code=303)


# ----------------------------------------------------------------------------------------------- campaign page


def _campaign_page(
    session: DbSession, campaign_id: int, *, notice: str = "", error: str = "", status_code: int = 200
) -> Template:
    campaign = _campaign(session, campaign_id)
    return Template(
        template_name="pages/console/campaign.html",
        status_code=status_code,
        context={
            "stats": stats.campaign_stats(session, campaign),
            "notice": notice,
            "error": error,
            "progress": stats.run_progress,
            "plan": plan_of(session, campaign_id),
        },
    )


@get("/console/campaigns/{campaign_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def campaign_page(session: DbSession, campaign_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
    """The campaign's staff page."""
    return _campaign_page(session, campaign_id, notice=notice)


@get("/console/campaigns/{campaign_id:int}/progress", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def campaign_progress(session: DbSession, campaign_id: FromPath[int]) -> dict[str, Any]:
    """The alert runs' progress, polled by the campaign page (cookie-authenticated JSON)."""
    campaign = _campaign(session, campaign_id)
    found = stats.campaign_stats(session, campaign)
    return {
        "runs": [stats.run_progress(r) for r in found.runs],
        "alerts_sent": found.alerts_sent,
        "time_left": found.time_left,
        "cities_acted": found.cities_acted,
    }


@post("/console/campaigns/{campaign_id:int}/remind", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def campaign_remind(session: DbSession, user: CurrentUser, campaign_id: FromPath[int]) -> Response[Any]:
    """Remind every official of the audience whose city has not acted."""
    try:
        wizard.send_reminder(session, campaign_id, user)
    except all_errors() as exc:
        session.rollback()
        return _campaign_page(session, campaign_id, error=str(exc), status_code=422)
    return Redirect(
        path=f"/console/campaigns/{campaign_id}", query_params={"notice": "Reminder queued."}, status_code=303
    )


@post("/console/campaigns/{campaign_id:int}/close", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def campaign_close(session: DbSession, user: CurrentUser, campaign_id: FromPath[int]) -> Response[Any]:
    with http_errors():
        wizard.close_campaign(session, campaign_id, user)
    return Redirect(path=f"/console/campaigns/{campaign_id}", query_params={"notice": "Closed."}, status_code=303)


route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            wizard_new,
            wizard_start,
            wizard_step,
            wizard_save,
            wizard_launch,
            campaign_page,
            campaign_progress,
            campaign_remind,
            campaign_close,
        ],
    )
]
