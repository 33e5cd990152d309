"""CitiPAC pages and ``/api/v1/citipac``: thin handlers around ``citipac.service``.

The CitiPAC page (the asks and the pledge form) lives apart from the letter pages on purpose: a campaign's CitiPAC
ask is shown here only, never beside an official-capacity letter (DOMAIN.md §4.9). Treasurer pages carry two
guards: staff role, then the treasurer flag; the service checks again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.types import Guard

from advocacy.accounts.auth import allow
from advocacy.accounts.models import Role, User
from advocacy.citipac import exports, rules, service
from advocacy.citipac.config import get_citipac_settings
from advocacy.citipac.models import ALERT_LABELS, PledgeStatus
from advocacy.citipac.rules import AccountHolder, ContributorKind, FundsSource, PaymentMethod
from advocacy.citipac.schemas import (
    AlertOut,
    ContributionIn,
    ContributionOut,
    ContributorOut,
    EntryOut,
    PledgeIn,
    PledgeOut,
    ReversalIn,
)
from advocacy.web import CurrentUser, DbSession

CITIPAC_READERS = allow(Role.OFFICIAL, Role.REGIONAL_MANAGER, Role.STAFF)
STAFF = allow(Role.STAFF)
OFFICIALS = allow(Role.OFFICIAL)
OWNERS_AND_STAFF = allow(Role.OFFICIAL, Role.STAFF)
DIVISION_READERS = allow(Role.REGIONAL_MANAGER, Role.STAFF)

FromDate = Annotated[date | None, QueryParameter(name="from", description="first day of the period (YYYY-MM-DD)")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="last day of the period (YYYY-MM-DD)")]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name="Idempotency-Key", required=False, description="the same key records a contribution once"),
]


def treasurer_only(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Second guard on treasurer routes (after ``allow(Role.STAFF)``): the treasurer flag."""
    user: User | None = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Please log in.")
    if not service.is_treasurer(user):
        raise PermissionDeniedException("Only the CitiPAC treasurer may see contributor details and the ledger.")


TREASURER: list[Guard] = [STAFF, treasurer_only]


@contextmanager
def http_errors() -> Iterator[None]:
    """Service errors as HTTP answers: refused 422, bad input 400, not found 404, forbidden 403."""
    try:
        yield
    except service.ContributionRefused as exc:
        # A ValidationException, so the app's problem details carry the reasons as ``errors``.
        raise ValidationException(status_code=422, detail=str(exc), extra={"reasons": exc.reasons}) from None
    except service.CitipacError as exc:
        raise ClientException(detail=str(exc)) from None
    except service.NotFound as exc:
        raise NotFoundException(detail=str(exc).capitalize() + ".") from None
    except service.AccessDenied as exc:
        raise PermissionDeniedException(detail=str(exc)) from None


HELPERS = {
    "dollars": rules.dollars,
    "money": rules.money,
    "alert_labels": ALERT_LABELS,
    "kinds": list(ContributorKind),
    "methods": list(PaymentMethod),
    "sources": list(FundsSource),
    "holders": list(AccountHolder),
    "entity_codes": rules.ENTITY_CODES,
}


def _page(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=f"pages/{name}.html", context={**HELPERS, **context}, status_code=status_code)


def _checked(value: str) -> bool:
    return value.lower() in ("on", "1", "true", "yes")


def _int_or_none(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


# Forms post to their own paths (``…/new``, ``…/edit``), never to the path of a GET page: litestar 2.25 registers a
# path's earlier handlers again when another method is added to it, wrapping a ``sync_to_thread`` handler twice, and
# the page then answers with an unawaited coroutine (500).

# ---------------------------------------------------------------------------------------------------------------
# The CitiPAC page and pledges (officials)


@dataclass
class PledgeForm:
    amount: str = ""
    source: str = ""
    account_holder: str = ""
    method: str = "check"
    payer_name: str = ""
    payer_street: str = ""
    payer_city: str = ""
    payer_state: str = "CA"
    payer_zip: str = ""
    payer_email: str = ""
    occupation: str = ""
    employer: str = ""
    committee_sos_id: str = ""
    attest: str = ""
    ask_id: str = ""


def _citipac_page(
    session: DbSession,
    user: User,
    *,
    form: PledgeForm | None = None,
    error: str = "",
    status_code: int = 200,
    amount: str = "",
    ask_id: int | None = None,
) -> Template:
    giving = service.own_giving(session, user) if user.role is Role.OFFICIAL else None
    return _page(
        "citipac",
        status_code=status_code,
        user=user,
        asks=service.active_asks(session),
        giving=giving,
        form=form or PledgeForm(amount=amount, ask_id=str(ask_id or "")),
        error=error,
        attestations={s.value: service.attestation_text(s) for s in FundsSource},
        is_treasurer=service.is_treasurer(user),
        mailing_address=get_citipac_settings().mailing_address,
        committee_name=get_citipac_settings().committee_name,
        public_funds=rules.PUBLIC_FUNDS,
        pledge_statuses=PledgeStatus,
    )


@get("/citipac", guards=[CITIPAC_READERS], sync_to_thread=True, include_in_schema=False)
def citipac_page(
    session: DbSession, user: CurrentUser, amount: FromQuery[str] = "", ask: FromQuery[int | None] = None
) -> Template:
    """CitiPAC: the campaigns' asks, the pledge form for officials, and an official's own giving."""
    return _citipac_page(session, user, amount=amount[:20], ask_id=ask)


def _pledge_input(form: PledgeForm | PledgeIn) -> service.PledgeInput:
    if isinstance(form, PledgeIn):
        return service.PledgeInput(
            **{
                **form.model_dump(),
                "amount": str(form.amount),
                "source": form.source.value,
                "account_holder": form.account_holder.value,
                "method": form.method.value,
            }
        )
    return service.PledgeInput(
        amount=form.amount,
        source=form.source,
        account_holder=form.account_holder,
        method=form.method,
        payer_name=form.payer_name,
        payer_street=form.payer_street,
        payer_city=form.payer_city,
        payer_state=form.payer_state,
        payer_zip=form.payer_zip,
        payer_email=form.payer_email,
        occupation=form.occupation,
        employer=form.employer,
        committee_sos_id=form.committee_sos_id,
        attest=_checked(form.attest),
        ask_id=_int_or_none(form.ask_id),
    )


@post("/citipac/pledges", guards=[OFFICIALS], sync_to_thread=True, include_in_schema=False)
def pledge_form_submit(session: DbSession, user: CurrentUser, data: URLEncodedBody[PledgeForm]) -> Response[Any]:
    """Make a pledge; a refusal shows the form again with the reason and what was typed."""
    try:
        pledge = service.create_pledge(session, user, _pledge_input(data))
    except service.CitipacError as exc:
        return _citipac_page(session, user, form=data, error=str(exc), status_code=422)
    return Redirect(path=f"/citipac/pledges/{pledge.id}", status_code=303)


@get("/citipac/pledges/{pledge_id:int}", guards=[OWNERS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def pledge_page(session: DbSession, user: CurrentUser, pledge_id: FromPath[int]) -> Template:
    """A pledge, as its official made it; what happens next."""
    with http_errors():
        pledge = service.get_pledge(session, user, pledge_id)
    settings = get_citipac_settings()
    return _page(
        "citipac_pledge",
        pledge=pledge,
        user=user,
        is_treasurer=service.is_treasurer(user),
        mailing_address=settings.mailing_address,
        committee_name=settings.committee_name,
    )


@post(
    "/citipac/pledges/{pledge_id:int}/cancel", guards=[OWNERS_AND_STAFF], sync_to_thread=True, include_in_schema=False
)
def pledge_cancel(session: DbSession, user: CurrentUser, pledge_id: FromPath[int]) -> Redirect:
    with http_errors():
        service.cancel_pledge(session, user, pledge_id)
    return Redirect(path=f"/citipac/pledges/{pledge_id}", status_code=303)


# ---------------------------------------------------------------------------------------------------------------
# Asks (staff)


@dataclass
class AskForm:
    campaign_id: str = ""
    suggested_amounts: str = ""
    message: str = ""


def _asks_page(
    session: DbSession, user: User, *, error: str = "", form: AskForm | None = None, status_code: int = 200
) -> Template:
    with http_errors():
        asks = service.list_asks(session, user)
    return _page(
        "citipac_asks",
        status_code=status_code,
        asks=asks,
        campaigns=service.campaigns_for_asks(session),
        error=error,
        form=form or AskForm(),
    )


@get("/citipac/asks", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def asks_page(session: DbSession, user: CurrentUser) -> Template:
    """Staff set a campaign's CitiPAC ask here; it appears on the CitiPAC page only."""
    return _asks_page(session, user)


@post("/citipac/asks/new", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def asks_create(session: DbSession, user: CurrentUser, data: URLEncodedBody[AskForm]) -> Response[Any]:
    try:
        service.create_ask(
            session, user, campaign_id=data.campaign_id, suggested_amounts=data.suggested_amounts, message=data.message
        )
    except service.CitipacError as exc:
        return _asks_page(session, user, error=str(exc), form=data, status_code=422)
    return Redirect(path="/citipac/asks", status_code=303)


@dataclass
class ActiveForm:
    active: str = ""


@post("/citipac/asks/{ask_id:int}/active", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def asks_set_active(
    session: DbSession, user: CurrentUser, ask_id: FromPath[int], data: URLEncodedBody[ActiveForm]
) -> Redirect:
    with http_errors():
        service.set_ask_active(session, user, ask_id, _checked(data.active))
    return Redirect(path="/citipac/asks", status_code=303)


# ---------------------------------------------------------------------------------------------------------------
# The treasurer: ledger, recording, entries, queue


def _year(year: int | None) -> int:
    return year if year and 2000 <= year <= 2100 else service.today_in_california().year


@get("/citipac/ledger", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def ledger_page(session: DbSession, user: CurrentUser, year: FromQuery[int | None] = None) -> Template:
    """Every entry of a calendar year, newest first."""
    chosen = _year(year)
    with http_errors():
        rows = service.ledger(session, user, date(chosen, 1, 1), date(chosen, 12, 31))
    reversed_ = service.reversed_amounts(session, [int(e.id or 0) for e, _ in rows])
    return _page("citipac_ledger", rows=rows, year=chosen, reversed=reversed_, net=sum(e.amount_cents for e, _ in rows))


@dataclass
class ContributionForm:
    request_key: str = ""
    contributor_id: str = ""
    pledge_id: str = ""
    amount: str = ""
    method: str = "check"
    received_on: str = ""
    reference: str = ""
    earmark: str = ""
    for_state_candidates: str = ""
    memo: str = ""
    # A new contributor (when no contributor_id)
    kind: str = "individual"
    name_title: str = ""
    first_name: str = ""
    last_name: str = ""
    name_suffix: str = ""
    organization_name: str = ""
    street: str = ""
    city: str = ""
    state: str = "CA"
    zip_code: str = ""
    occupation: str = ""
    employer: str = ""
    self_employed: str = ""
    committee_sos_id: str = ""
    committee_treasurer: str = ""
    email: str = ""
    user_id: str = ""


def _contributor_input(form: ContributionForm | ContributorForm) -> service.ContributorInput:
    return service.ContributorInput(
        kind=form.kind,
        name_title=form.name_title,
        first_name=form.first_name,
        last_name=form.last_name,
        name_suffix=form.name_suffix,
        organization_name=form.organization_name,
        street=form.street,
        city=form.city,
        state=form.state,
        zip_code=form.zip_code,
        occupation=form.occupation,
        employer=form.employer,
        self_employed=_checked(form.self_employed),
        committee_sos_id=form.committee_sos_id,
        committee_treasurer=form.committee_treasurer,
        email=form.email,
        user_id=_int_or_none(form.user_id),
    )


def _contribution_page(
    session: DbSession,
    user: User,
    form: ContributionForm,
    *,
    error: str = "",
    reasons: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    contributor = None
    contributor_id = _int_or_none(form.contributor_id)
    with http_errors():
        if contributor_id is not None:
            contributor = service.get_contributor(session, user, contributor_id)
        pledge = service.get_pledge(session, user, int(form.pledge_id)) if _int_or_none(form.pledge_id) else None
    return _page(
        "citipac_record",
        status_code=status_code,
        form=form,
        contributor=contributor,
        pledge=pledge,
        error=error,
        reasons=reasons or [],
        today=service.today_in_california(),
        year_total=service.year_total(session, contributor_id, service.today_in_california().year)
        if contributor_id
        else 0,
    )


@get("/citipac/contributions/new", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def contribution_new(
    session: DbSession,
    user: CurrentUser,
    contributor_id: FromQuery[int | None] = None,
    pledge_id: FromQuery[int | None] = None,
) -> Template:
    """The form to record money received: for a known contributor, from a pledge, or with a new contributor."""
    form = ContributionForm(
        request_key=secrets.token_urlsafe(16),
        contributor_id=str(contributor_id or ""),
        received_on=service.today_in_california().isoformat(),
    )
    if pledge_id is not None:
        with http_errors():
            pledge = service.get_pledge(session, user, pledge_id)
        form.pledge_id, form.amount, form.method = str(pledge_id), rules.money(pledge.amount_cents), pledge.method
        match = service.matching_contributor(session, pledge)
        if match is not None and not contributor_id:
            form.contributor_id = str(match.id)
        elif not contributor_id:
            new = service.contributor_input_for_pledge(session, pledge)
            for name in (
                "kind",
                "first_name",
                "last_name",
                "organization_name",
                "street",
                "city",
                "state",
                "zip_code",
                "occupation",
                "employer",
                "committee_sos_id",
                "email",
            ):
                setattr(form, name, str(getattr(new, name)))
            form.user_id = str(new.user_id or "")
    return _contribution_page(session, user, form)


@post("/citipac/contributions", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def contribution_submit(session: DbSession, user: CurrentUser, data: URLEncodedBody[ContributionForm]) -> Response[Any]:
    """Record a contribution; a refusal shows the form again with every reason, and records nothing."""
    contributor_id = _int_or_none(data.contributor_id)
    entry = service.ContributionInput(
        amount=data.amount,
        method=data.method,
        received_on=data.received_on or None,
        contributor_id=contributor_id,
        contributor=None if contributor_id is not None else _contributor_input(data),
        reference=data.reference,
        earmark=data.earmark,
        for_state_candidates=_checked(data.for_state_candidates),
        pledge_id=_int_or_none(data.pledge_id),
        memo=data.memo,
        request_key=data.request_key,
    )
    try:
        result = service.record_contribution(session, user, entry)
    except service.ContributionRefused as exc:
        return _contribution_page(
            session, user, data, error="This contribution cannot be accepted.", reasons=exc.reasons, status_code=422
        )
    except service.CitipacError as exc:
        return _contribution_page(session, user, data, error=str(exc), status_code=400)
    return Redirect(path=f"/citipac/entries/{result.entry.id}", query_params={"recorded": "1"}, status_code=303)


@get("/citipac/entries/{entry_id:int}", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def entry_page(
    session: DbSession, user: CurrentUser, entry_id: FromPath[int], recorded: FromQuery[str] = ""
) -> Template:
    """One ledger entry: what the rules said, its alerts, its reversals, and the form to reverse it."""
    return _entry_page(session, user, entry_id, recorded=bool(recorded))


def _entry_page(
    session: DbSession, user: User, entry_id: int, *, recorded: bool = False, error: str = "", status_code: int = 200
) -> Template:
    with http_errors():
        entry, contributor = service.get_entry(session, user, entry_id)
        detail = service.entry_detail(session, user, entry_id)
    return _page(
        "citipac_entry",
        status_code=status_code,
        entry=entry,
        contributor=contributor,
        detail=detail,
        recorded=recorded,
        error=error,
        today=service.today_in_california(),
    )


@dataclass
class ReversalForm:
    kind: str = "refund"
    amount: str = ""
    on: str = ""
    method: str = ""
    reference: str = ""
    reason: str = ""


@post("/citipac/entries/{entry_id:int}/reversals", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def reversal_submit(
    session: DbSession, user: CurrentUser, entry_id: FromPath[int], data: URLEncodedBody[ReversalForm]
) -> Response[Any]:
    """A refund or a correction: a new, reversing entry (the original never changes)."""
    try:
        reversal = service.record_reversal(
            session,
            user,
            entry_id,
            kind=data.kind,
            reason=data.reason,
            amount=data.amount or None,
            on=data.on or None,
            method=data.method or None,
            reference=data.reference,
        )
    except service.CitipacError as exc:
        return _entry_page(session, user, entry_id, error=str(exc), status_code=422)
    except service.NotFound as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path=f"/citipac/entries/{reversal.id}", query_params={"recorded": "1"}, status_code=303)


@get("/citipac/queue", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def queue_page(session: DbSession, user: CurrentUser) -> Template:
    """What is due: missing information on the 60-day clock, notices, 24-hour reports, open pledges, failed mail."""
    with http_errors():
        queue = service.treasurer_queue(session, user)
    return _page("citipac_queue", queue=queue, today=service.today_in_california())


@dataclass
class ResolveForm:
    resolution: str = ""


@post("/citipac/alerts/{alert_id:int}/resolve", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def alert_resolve(
    session: DbSession, user: CurrentUser, alert_id: FromPath[int], data: URLEncodedBody[ResolveForm]
) -> Redirect:
    with http_errors():
        service.resolve_alert(session, user, alert_id, data.resolution)
    return Redirect(path="/citipac/queue", status_code=303)


@post("/citipac/messages/{message_id:int}/retry", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def message_retry(session: DbSession, user: CurrentUser, message_id: FromPath[int]) -> Redirect:
    with http_errors():
        service.retry_message(session, user, message_id)
    return Redirect(path="/citipac/queue", status_code=303)


# ---------------------------------------------------------------------------------------------------------------
# Contributors


@dataclass
class ContributorForm:
    kind: str = "individual"
    name_title: str = ""
    first_name: str = ""
    last_name: str = ""
    name_suffix: str = ""
    organization_name: str = ""
    street: str = ""
    city: str = ""
    state: str = "CA"
    zip_code: str = ""
    occupation: str = ""
    employer: str = ""
    self_employed: str = ""
    committee_sos_id: str = ""
    committee_treasurer: str = ""
    email: str = ""
    user_id: str = ""
    info_received_on: str = ""


@get("/citipac/contributors", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def contributors_page(session: DbSession, user: CurrentUser, q: FromQuery[str] = "") -> Template:
    """Find a contributor, or add one."""
    with http_errors():
        found = service.find_contributors(session, user, q)
    return _page("citipac_contributors", contributors=found, q=q[:100], form=ContributorForm(), error="")


@post("/citipac/contributors/new", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def contributors_create(session: DbSession, user: CurrentUser, data: URLEncodedBody[ContributorForm]) -> Response[Any]:
    try:
        contributor = service.create_contributor(session, user, _contributor_input(data))
    except service.CitipacError as exc:
        return _page("citipac_contributors", status_code=422, contributors=[], q="", form=data, error=str(exc))
    return Redirect(path=f"/citipac/contributors/{contributor.id}", status_code=303)


def _contributor_page(
    session: DbSession,
    user: User,
    contributor_id: int,
    *,
    form: ContributorForm | None = None,
    error: str = "",
    status_code: int = 200,
) -> Template:
    with http_errors():
        contributor = service.get_contributor(session, user, contributor_id)
        entries = service.contributor_entries(session, user, contributor)
    return _page(
        "citipac_contributor",
        status_code=status_code,
        contributor=contributor,
        entries=entries,
        totals=service.totals_by_year(entries),
        missing=service.missing_information(contributor),
        is_treasurer=service.is_treasurer(user),
        error=error,
        form=form
        or ContributorForm(
            **{
                name: str(getattr(contributor, name) or "")
                for name in (
                    "kind",
                    "name_title",
                    "first_name",
                    "last_name",
                    "name_suffix",
                    "organization_name",
                    "street",
                    "city",
                    "state",
                    "zip_code",
                    "occupation",
                    "employer",
                    "committee_sos_id",
                    "committee_treasurer",
                    "email",
                    "user_id",
                )
            },
            self_employed="on" if contributor.self_employed else "",
        ),
        today=service.today_in_california(),
    )


@get(
    "/citipac/contributors/{contributor_id:int}",
    guards=[OWNERS_AND_STAFF],
    sync_to_thread=True,
    include_in_schema=False,
)
def contributor_page(session: DbSession, user: CurrentUser, contributor_id: FromPath[int]) -> Template:
    """A contributor: details, what is missing, totals per year, every entry. The treasurer, or its own official."""
    return _contributor_page(session, user, contributor_id)


@post("/citipac/contributors/{contributor_id:int}/edit", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def contributor_update(
    session: DbSession, user: CurrentUser, contributor_id: FromPath[int], data: URLEncodedBody[ContributorForm]
) -> Response[Any]:
    try:
        service.update_contributor(
            session, user, contributor_id, _contributor_input(data), info_received_on=data.info_received_on or None
        )
    except service.CitipacError as exc:
        return _contributor_page(session, user, contributor_id, form=data, error=str(exc), status_code=422)
    except service.NotFound as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path=f"/citipac/contributors/{contributor_id}", status_code=303)


# ---------------------------------------------------------------------------------------------------------------
# Exports and settings (treasurer), division totals (regional managers)


def _csv(text: str, filename: str) -> Response[str]:
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@get("/citipac/exports", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def exports_page(session: DbSession, user: CurrentUser) -> Template:
    """Download the Schedule A ledger, the 60-day report and the major-donor report."""
    today = service.today_in_california()
    return _page("citipac_exports", today=today, year_start=date(today.year, 1, 1))


@get("/citipac/exports/schedule-a.csv", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def export_schedule_a(
    session: DbSession, user: CurrentUser, start: FromDate = None, end: ToDate = None
) -> Response[str]:
    with http_errors():
        report = exports.schedule_a(session, user, start, end)
    return _csv(exports.schedule_a_csv(report), f"citipac-schedule-a-{report.start}-{report.end}.csv")


@get("/citipac/exports/sixty-day.csv", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def export_sixty_day(
    session: DbSession, user: CurrentUser, start: FromDate = None, end: ToDate = None
) -> Response[str]:
    with http_errors():
        text = exports.sixty_day_csv(session, user, start, end)
    return _csv(text, f"citipac-60-day-{start}-{end}.csv")


@get("/citipac/exports/major-donors.csv", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def export_major_donors(session: DbSession, user: CurrentUser, year: FromQuery[int | None] = None) -> Response[str]:
    chosen = _year(year)
    with http_errors():
        text = exports.major_donor_csv(session, user, chosen)
    return _csv(text, f"citipac-major-donors-{chosen}.csv")


@dataclass
class ElectionForm:
    election_on: str = ""
    name: str = ""


@dataclass
class LimitForm:
    year: str = ""
    amount: str = ""


def _settings_page(session: DbSession, *, error: str = "", status_code: int = 200) -> Template:
    return _page(
        "citipac_settings",
        status_code=status_code,
        elections=service.list_elections(session),
        limits=service.state_limits(session),
        error=error,
        today=service.today_in_california(),
    )


@get("/citipac/settings", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def settings_page(session: DbSession, user: CurrentUser) -> Template:
    """Election dates (24-hour reports) and the state-candidate limit per year."""
    return _settings_page(session)


@post("/citipac/settings/elections", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def settings_add_election(session: DbSession, user: CurrentUser, data: URLEncodedBody[ElectionForm]) -> Response[Any]:
    try:
        service.add_election(session, user, election_on=data.election_on, name=data.name)
    except service.CitipacError as exc:
        return _settings_page(session, error=str(exc), status_code=422)
    return Redirect(path="/citipac/settings", status_code=303)


@post(
    "/citipac/settings/elections/{election_id:int}/delete",
    guards=TREASURER,
    sync_to_thread=True,
    include_in_schema=False,
)
def settings_remove_election(session: DbSession, user: CurrentUser, election_id: FromPath[int]) -> Response[Any]:
    try:
        service.remove_election(session, user, election_id)
    except service.CitipacError as exc:
        return _settings_page(session, error=str(exc), status_code=422)
    except service.NotFound as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path="/citipac/settings", status_code=303)


@post("/citipac/settings/limits", guards=TREASURER, sync_to_thread=True, include_in_schema=False)
def settings_set_limit(session: DbSession, user: CurrentUser, data: URLEncodedBody[LimitForm]) -> Response[Any]:
    try:
        service.set_state_limit(session, user, year=data.year, amount=data.amount)
    except service.CitipacError as exc:
        return _settings_page(session, error=str(exc), status_code=422)
    return Redirect(path="/citipac/settings", status_code=303)


@get("/citipac/divisions", guards=[DIVISION_READERS], sync_to_thread=True, include_in_schema=False)
def divisions_page(session: DbSession, user: CurrentUser, year: FromQuery[int | None] = None) -> Template:
    """Totals per Regional Division: no names, no one's amount."""
    chosen = _year(year)
    with http_errors():
        totals = service.division_totals(session, user, chosen)
    return _page("citipac_divisions", totals=totals, year=chosen, user=user)


# ---------------------------------------------------------------------------------------------------------------
# JSON API


@post("/api/v1/citipac/pledges", guards=[OFFICIALS], sync_to_thread=True, tags=["citipac"], status_code=201)
def api_create_pledge(session: DbSession, user: CurrentUser, data: JSONBody[PledgeIn]) -> PledgeOut:
    """An official pledges a contribution, attesting that the money is not the city's."""
    with http_errors():
        pledge = service.create_pledge(session, user, _pledge_input(data))
    return PledgeOut.of(pledge)


def _contribution_input(data: ContributionIn, idempotency_key: str | None) -> service.ContributionInput:
    new = None
    if data.contributor is not None:
        new = service.ContributorInput(**{**data.contributor.model_dump(), "kind": data.contributor.kind.value})
    return service.ContributionInput(
        amount=data.amount,
        method=data.method.value,
        received_on=data.received_on,
        contributor_id=data.contributor_id,
        contributor=new,
        reference=data.reference,
        earmark=data.earmark,
        for_state_candidates=data.for_state_candidates,
        pledge_id=data.pledge_id,
        memo=data.memo,
        request_key=idempotency_key or "",
    )


@post("/api/v1/citipac/contributions", guards=TREASURER, sync_to_thread=True, tags=["citipac"], status_code=201)
def api_record_contribution(
    session: DbSession, user: CurrentUser, data: JSONBody[ContributionIn], idempotency_key: IdempotencyKey = None
) -> ContributionOut:
    """The treasurer records money received. 422 with every reason when a rule refuses it (nothing is recorded)."""
    with http_errors():
        result = service.record_contribution(session, user, _contribution_input(data, idempotency_key))
    return ContributionOut(
        entry=EntryOut.of(result.entry),
        duplicate=result.duplicate,
        info_missing=list(result.evaluation.info_missing),
        alerts=[AlertOut.of(a) for a in result.alerts],
        warnings=result.evaluation.warnings,
    )


@post(
    "/api/v1/citipac/contributions/{entry_id:int}/reversals",
    guards=TREASURER,
    sync_to_thread=True,
    tags=["citipac"],
    status_code=201,
)
def api_record_reversal(
    session: DbSession, user: CurrentUser, entry_id: FromPath[int], data: JSONBody[ReversalIn]
) -> EntryOut:
    """A refund or a correction of a contribution, as a new reversing entry."""
    with http_errors():
        reversal = service.record_reversal(
            session,
            user,
            entry_id,
            kind=data.kind.value,
            reason=data.reason,
            amount=None if data.amount is None else str(data.amount),
            on=data.on,
            method=data.method.value if data.method else None,
            reference=data.reference,
        )
    return EntryOut.of(reversal)


@get(
    "/api/v1/citipac/contributors/{contributor_id:int}",
    guards=[OWNERS_AND_STAFF],
    sync_to_thread=True,
    tags=["citipac"],
)
def api_get_contributor(session: DbSession, user: CurrentUser, contributor_id: FromPath[int]) -> ContributorOut:
    """A contributor with every entry and the totals per calendar year: the treasurer, or the official it is."""
    with http_errors():
        contributor = service.get_contributor(session, user, contributor_id)
        entries = service.contributor_entries(session, user, contributor)
    return ContributorOut.of(
        contributor, entries, service.missing_information(contributor), service.totals_by_year(entries)
    )


@get("/api/v1/citipac/exports/schedule-a", guards=TREASURER, sync_to_thread=True, tags=["citipac"])
def api_schedule_a(session: DbSession, user: CurrentUser, start: FromDate = None, end: ToDate = None) -> Response[str]:
    """The Schedule A ledger for a period, as CSV (itemized rows, then the unitemized total)."""
    with http_errors():
        report = exports.schedule_a(session, user, start, end)
    return _csv(exports.schedule_a_csv(report), f"citipac-schedule-a-{report.start}-{report.end}.csv")


route_handlers = [
    citipac_page,
    pledge_form_submit,
    pledge_page,
    pledge_cancel,
    asks_page,
    asks_create,
    asks_set_active,
    ledger_page,
    contribution_new,
    contribution_submit,
    entry_page,
    reversal_submit,
    queue_page,
    alert_resolve,
    message_retry,
    contributors_page,
    contributors_create,
    contributor_page,
    contributor_update,
    exports_page,
    export_schedule_a,
    export_sixty_day,
    export_major_donors,
    settings_page,
    settings_add_election,
    settings_remove_election,
    settings_set_limit,
    divisions_page,
    api_create_pledge,
    api_record_contribution,
    api_record_reversal,
    api_get_contributor,
    api_schedule_a,
]
