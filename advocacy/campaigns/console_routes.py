"""The staff console's pages: the Action Agenda, committee rules, hearings, letter templates and the approval queue.

Every route here is for league staff (admins inherit). Forms post back and redirect (303) on success; a refused
input shows the same page again with the reason (422) and the typed values kept.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import agenda, approval, committee_rules, hearings, templates_store
from advocacy.campaigns.console_http import STAFF, all_errors, day, flag, http_errors, integer, text
from advocacy.campaigns.console_models import Listing, RuleKind
from advocacy.campaigns.deadlines import WEEKDAYS, RuleError, format_deadline, state_holidays, time_left
from advocacy.campaigns.models import Campaign, CampaignStatus, Position
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City, Committee
from advocacy.letters.document import KINDS
from advocacy.web import CurrentUser, DbSession

FormData = URLEncodedBody[dict[str, Any]]


# The editor's preview frame shows a letter a staff member wrote: whatever HTML it holds, it runs no script and
# loads nothing (the letter's own CSS is inline, its seal a data: URI).
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'"


def page(page_name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=f"pages/console/{page_name}.html", context=context, status_code=status_code)


def frame(status_code: int = 200, **context: Any) -> Template:
    """The preview frame's document, under ``PREVIEW_CSP``."""
    return Template(
        template_name="pages/console/preview_frame.html",
        context=context,
        status_code=status_code,
        headers={"Content-Security-Policy": PREVIEW_CSP},
    )


# ----------------------------------------------------------------------------------------------- dashboard


@get("/console", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def console_home(session: DbSession, user: CurrentUser) -> Template:
    """Every campaign with its status and time left, and the way to each part of the console."""
    campaigns = session.exec(select(Campaign).order_by(col(Campaign.id).desc())).all()
    now = utcnow()
    rows = [
        {
            "campaign": c,
            "bill": session.get(Bill, c.bill_id),
            "deadline": format_deadline(c.deadline),
            "left": time_left(c.deadline, now) if c.status is CampaignStatus.ACTIVE else "",
        }
        for c in campaigns
    ]
    return page("index", rows=rows, reviews=len(approval.queue(session)), user=user)


# ----------------------------------------------------------------------------------------------- agenda


def _agenda_page(
    session: DbSession,
    query: dict[str, Any],
    *,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    rows = agenda.agenda_rows(
        session,
        hot_only=bool(query.get("hot")),
        policy_area=str(query.get("area") or ""),
        q=str(query.get("q") or ""),
        on_agenda_only=query.get("show") != "all",
    )
    return page(
        "agenda", status_code, rows=rows, query=query, errors=errors or [], notice=notice, areas=agenda.POLICY_AREAS
    )


@get("/console/agenda", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def agenda_page(
    session: DbSession,
    hot: FromQuery[str] = "",
    area: FromQuery[str] = "",
    q: FromQuery[str] = "",
    show: FromQuery[str] = "",
    notice: FromQuery[str] = "",
) -> Template:
    """The Action Agenda: bills with the league's position, hot first; filters; import."""
    return _agenda_page(session, {"hot": hot, "area": area, "q": q, "show": show}, notice=notice)


@post("/console/agenda/import", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def agenda_import(session: DbSession, user: CurrentUser, data: MultipartBody[dict[str, Any]]) -> Response[Any]:
    """Import an uploaded CSV or JSON file (checked whole first: one bad row changes nothing)."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _agenda_page(session, {}, errors=["Choose a .csv or .json file to import."], status_code=422)
    try:
        report = agenda.import_file(session, upload.filename, upload.file.read(), user)
    except agenda.AgendaError as exc:
        session.rollback()
        return _agenda_page(session, {}, errors=exc.errors, status_code=422)
    return Redirect(path="/console/agenda", query_params={"notice": report.summary()}, status_code=303)


@post("/console/agenda/import-shipped", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def agenda_import_shipped(session: DbSession, user: CurrentUser) -> Response[Any]:
    """Put the shipped bills on the agenda."""
    try:
        report = agenda.import_shipped(session, user)
    except agenda.AgendaError as exc:
        session.rollback()
        return _agenda_page(session, {}, errors=exc.errors, status_code=422)
    return Redirect(path="/console/agenda", query_params={"notice": report.summary()}, status_code=303)


def _bill_page(
    session: DbSession,
    bill_id: int,
    *,
    error: str = "",
    notice: str = "",
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise NotFoundException(f"There is no bill with id {bill_id}.")
    campaigns = session.exec(select(Campaign).where(Campaign.bill_id == bill_id).order_by(col(Campaign.id))).all()
    committees = session.exec(select(Committee).order_by(col(Committee.chamber), col(Committee.name))).all()
    return page(
        "bill",
        status_code,
        bill=bill,
        item=agenda.agenda_item(session, bill_id),
        campaigns=campaigns,
        committees=committees,
        positions=list(Position),
        areas=agenda.POLICY_AREAS,
        error=error,
        notice=notice,
        form=form or {},
    )


@get("/console/bills/{bill_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def bill_page(session: DbSession, bill_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
    """One bill: the league's position and the facts staff keep (status, version date, committee)."""
    return _bill_page(session, bill_id, notice=notice)


@post("/console/bills/{bill_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def bill_save(session: DbSession, user: CurrentUser, bill_id: FromPath[int], data: FormData) -> Response[Any]:
    """Save the bill's agenda entry; a new version date or committee opens its campaigns' next stage."""
    try:
        committee = text(data, "committee_id").strip()
        report = agenda.update_agenda(
            session,
            bill_id,
            agenda.AgendaInput(
                label="",
                position=text(data, "position"),
                hot=flag(data, "hot"),
                policy_area=text(data, "policy_area"),
                talking_points=text(data, "talking_points"),
                status=text(data, "status").strip() or None,
                version_date=day(data, "version_date"),
                committee=committee if committee else "",
            ),
            user,
        )
    except agenda.AgendaError as exc:
        session.rollback()
        return _bill_page(session, bill_id, error=str(exc), form=data, status_code=422)
    notice = "Saved. " + " ".join(report.stage_changes)
    return Redirect(path=f"/console/bills/{bill_id}", query_params={"notice": notice.strip()}, status_code=303)


# ----------------------------------------------------------------------------------------------- committees


@get("/console/committees", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def committees_page(session: DbSession, notice: FromQuery[str] = "") -> Template:
    """Committees with their letter rules (deadline, channels, listing, source, date checked)."""
    committees = session.exec(
        select(Committee)
        .where(Committee.classification == "committee")
        .order_by(col(Committee.chamber), col(Committee.name))
    ).all()
    rules = committee_rules.rules_by_committee(session)
    return page(
        "committees",
        committees=committees,
        rules=rules,
        notice=notice,
        describe=lambda r: committee_rules.deadline_rule_of(r).describe(),
        channels=committee_rules.channels,
        checked=committee_rules.checked_label,
    )


@post("/console/committees/seed", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def committees_seed(session: DbSession) -> Redirect:
    """Create the DOMAIN.md §1.6 rules for the committees that have none."""
    created, missing = committee_rules.seed_rules(session)
    notice = f"{created} rule(s) added." + (f" Not found: {', '.join(missing)}." if missing else "")
    return Redirect(path="/console/committees", query_params={"notice": notice}, status_code=303)


def _committee_page(
    session: DbSession,
    committee_id: int,
    *,
    error: str = "",
    form: dict[str, Any] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    committee = session.get(Committee, committee_id)
    if committee is None:
        raise NotFoundException(f"There is no committee with id {committee_id}.")
    rule = committee_rules.rule_for(session, committee_id)
    return page(
        "committee",
        status_code,
        committee=committee,
        rule=rule,
        error=error,
        form=form or {},
        notice=notice,
        kinds=list(RuleKind),
        listings=list(Listing),
        weekdays=WEEKDAYS,
        rule_text=committee_rules.deadline_rule_of(rule).describe() if rule else "",
        hearings=hearings.list_hearings(session, committee_id=committee_id),
        holidays=state_holidays(utcnow().year),
    )


@get("/console/committees/{committee_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def committee_page(session: DbSession, committee_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
    """A committee's letter rule, its upcoming hearings and their deadlines."""
    return _committee_page(session, committee_id, notice=notice)


@post("/console/committees/{committee_id:int}/rule", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def committee_rule_save(
    session: DbSession, user: CurrentUser, committee_id: FromPath[int], data: FormData
) -> Response[Any]:
    try:
        committee_rules.save_rule(
            session,
            committee_id,
            committee_rules.RuleInput(
                kind=text(data, "kind"),
                days=integer(data, "days") or 0,
                weekday=integer(data, "weekday") or 0,
                at_time=text(data, "at_time", "17:00"),
                source_url=text(data, "source_url"),
                checked_on=day(data, "checked_on"),
                accepts_portal=flag(data, "accepts_portal"),
                accepts_email=flag(data, "accepts_email"),
                accepts_mail=flag(data, "accepts_mail"),
                listing=text(data, "listing", Listing.UNKNOWN),
                notes=text(data, "notes"),
            ),
            user,
        )
    except RuleError as exc:
        session.rollback()
        return _committee_page(session, committee_id, error=str(exc), form=data, status_code=422)
    return Redirect(path=f"/console/committees/{committee_id}", query_params={"notice": "Rule saved."}, status_code=303)


# ----------------------------------------------------------------------------------------------- hearings


def _hearings_page(
    session: DbSession, *, error: str = "", form: dict[str, Any] | None = None, notice: str = "", status_code: int = 200
) -> Template:
    committees = session.exec(
        select(Committee)
        .where(Committee.classification == "committee")
        .order_by(col(Committee.chamber), col(Committee.name))
    ).all()
    return page(
        "hearings",
        status_code,
        rows=hearings.list_hearings(session),
        committees=committees,
        error=error,
        form=form or {},
        notice=notice,
    )


def _hearing_input(data: dict[str, Any]) -> hearings.HearingInput:
    when = day(data, "hearing_date")
    committee_id = integer(data, "committee_id")
    if when is None or committee_id is None:
        raise hearings.HearingError("Choose the committee and the hearing date.")
    return hearings.HearingInput(
        committee_id, when, text(data, "hearing_time"), text(data, "room"), text(data, "notes")
    )


@get("/console/hearings", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def hearings_page(session: DbSession, notice: FromQuery[str] = "") -> Template:
    """Upcoming hearings with the letter deadline each sets; a form to add one."""
    return _hearings_page(session, notice=notice)


@post("/console/hearings", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def hearing_create(session: DbSession, user: CurrentUser, data: FormData) -> Response[Any]:
    try:
        hearings.create_hearing(session, _hearing_input(data), user)
    except hearings.HearingError as exc:
        session.rollback()
        return _hearings_page(session, error=str(exc), form=data, status_code=422)
    return Redirect(path="/console/hearings", query_params={"notice": "Hearing added."}, status_code=303)


def _hearing_page(session: DbSession, hearing_id: int, *, error: str = "", status_code: int = 200) -> Template:
    with http_errors():
        hearing = hearings.get_hearing(session, hearing_id)
    committees = session.exec(select(Committee).order_by(col(Committee.chamber), col(Committee.name))).all()
    return page(
        "hearing",
        status_code,
        hearing=hearing,
        committees=committees,
        error=error,
        info=hearings.deadline_info(session, hearing),
    )


@get("/console/hearings/{hearing_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def hearing_page(session: DbSession, hearing_id: FromPath[int]) -> Template:
    """One hearing: edit or delete it; its deadline."""
    return _hearing_page(session, hearing_id)


@post("/console/hearings/{hearing_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def hearing_save(session: DbSession, user: CurrentUser, hearing_id: FromPath[int], data: FormData) -> Response[Any]:
    """Change a hearing: the campaigns that follow it get their deadlines recomputed."""
    with http_errors():
        hearings.get_hearing(session, hearing_id)
    try:
        if text(data, "action") == "delete":
            hearings.delete_hearing(session, hearing_id)
            return Redirect(path="/console/hearings", query_params={"notice": "Hearing deleted."}, status_code=303)
        hearings.update_hearing(session, hearing_id, _hearing_input(data), user)
    except hearings.HearingError as exc:
        session.rollback()
        return _hearing_page(session, hearing_id, error=str(exc), status_code=422)
    return Redirect(path="/console/hearings", query_params={"notice": "Hearing saved."}, status_code=303)


# ----------------------------------------------------------------------------------------------- templates


def _officials(session: DbSession) -> list[tuple[User, str]]:
    rows = session.exec(
        select(User, City)
        .join(City, col(City.id) == User.city_id)
        .where(User.role == Role.OFFICIAL, col(User.active).is_(True))
        .order_by(col(City.name), col(User.name))
        .limit(500)
    ).all()
    return [(u, c.name) for u, c in rows]


def _editor(
    session: DbSession,
    *,
    template_id: int | None,
    kind: str,
    source: str,
    name: str = "",
    error: str = "",
    error_line: int | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    template = templates_store.get_template(session, template_id) if template_id else None
    return page(
        "template",
        status_code,
        template=template,
        kind=kind,
        source=source,
        name=name,
        error=error,
        error_line=error_line,
        notice=notice,
        kinds=KINDS,
        variables=templates_store.VARIABLES,
        versions=templates_store.versions_of(session, template_id) if template_id else [],
        cities=session.exec(select(City).where(col(City.is_member).is_(True)).order_by(col(City.name))).all(),
        officials=_officials(session),
    )


@get("/console/templates", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def templates_page(session: DbSession, notice: FromQuery[str] = "") -> Template:
    """File templates and staff templates (each with its latest version)."""
    return page("templates", rows=templates_store.list_templates(session), kinds=KINDS, notice=notice)


@get("/console/templates/new", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def template_new(session: DbSession, kind: FromQuery[str] = "support") -> Template:
    """A new template, starting from the file template of ``kind``."""
    with http_errors():
        source = templates_store.file_source(kind)
    return _editor(session, template_id=None, kind=kind, source=source)


@post("/console/templates", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def template_create(session: DbSession, user: CurrentUser, data: FormData) -> Response[Any]:
    kind, source, name = text(data, "kind"), text(data, "source"), text(data, "name")
    try:
        version = templates_store.create_template(
            session, name=name, kind=kind, source=source, user=user, note=text(data, "note")
        )
    except templates_store.TemplateStoreError as exc:
        session.rollback()
        return _editor(
            session,
            template_id=None,
            kind=kind,
            source=source,
            name=name,
            error=str(exc),
            error_line=exc.line,
            status_code=422,
        )
    return Redirect(
        path=f"/console/templates/{version.template_id}",
        query_params={"notice": "Saved as version 1."},
        status_code=303,
    )


@get("/console/templates/{template_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def template_page(
    session: DbSession, template_id: FromPath[int], notice: FromQuery[str] = "", version: FromQuery[int | None] = None
) -> Template:
    """The editor: the body, the documented variables, the live preview for a chosen city and signer."""
    with http_errors():
        template = templates_store.get_template(session, template_id)
        shown = (
            templates_store.get_version(session, version)
            if version
            else templates_store.latest_version(session, template_id)
        )
    return _editor(
        session, template_id=template_id, kind=template.kind, source=shown.source, name=template.name, notice=notice
    )


@post("/console/templates/{template_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def template_save(session: DbSession, user: CurrentUser, template_id: FromPath[int], data: FormData) -> Response[Any]:
    """Save the body as the next version (checked first; errors show with their line)."""
    source = text(data, "source")
    with http_errors():
        template = templates_store.get_template(session, template_id)
    try:
        version = templates_store.save_version(session, template_id, source, user, text(data, "note"))
    except templates_store.TemplateStoreError as exc:
        session.rollback()
        return _editor(
            session,
            template_id=template_id,
            kind=template.kind,
            source=source,
            name=template.name,
            error=str(exc),
            error_line=exc.line,
            status_code=422,
        )
    return Redirect(
        path=f"/console/templates/{template_id}",
        query_params={"notice": f"Saved as version {version.number}."},
        status_code=303,
    )


def _preview_document(session: DbSession, data: dict[str, Any]) -> Any:
    return templates_store.preview_document(
        session,
        kind=text(data, "kind", "support"),
        source=text(data, "source") or None,
        city_id=integer(data, "city_id"),
        signer_id=integer(data, "signer_id"),
        bill_id=integer(data, "bill_id"),
    )


@post("/console/templates/preview", guards=[STAFF], sync_to_thread=True, include_in_schema=False, status_code=200)
def template_preview(session: DbSession, data: FormData) -> Template:
    """The letter as HTML for the editor's preview frame, or the error with its line (nothing is saved)."""
    try:
        html = templates_store.preview_html(_preview_document(session, data))
    except templates_store.TemplateStoreError as exc:
        return frame(422, error=str(exc))
    return frame(html=html, error="")


@post("/console/templates/preview.pdf", guards=[STAFF], sync_to_thread=True, include_in_schema=False, status_code=200)
def template_preview_pdf(session: DbSession, data: FormData) -> Response[Any]:
    """The letter as the PDF it would be (nothing is saved)."""
    try:
        pdf = templates_store.preview_pdf(_preview_document(session, data))
    except templates_store.TemplateStoreError as exc:
        return frame(422, error=str(exc))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="preview.pdf"', "Cache-Control": "no-store"},
    )


# ----------------------------------------------------------------------------------------------- approval queue


@get("/console/reviews", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def reviews_page(session: DbSession, notice: FromQuery[str] = "") -> Template:
    """Letters held for review: approve, or return with a comment the signer sees."""
    return page("reviews", rows=approval.queue(session), notice=notice, error="")


@post("/console/reviews/{review_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def review_decide(session: DbSession, user: CurrentUser, review_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        if text(data, "action") == "approve":
            letter = approval.approve(session, review_id, user)
            notice = f"Approved: letter {letter.id} is on its way."
        else:
            approval.return_letter(session, review_id, user, text(data, "comment"))
            notice = "Returned to the signer with your comment."
    except all_errors() as exc:
        session.rollback()
        return page("reviews", 422, rows=approval.queue(session), notice="", error=str(exc))
    return Redirect(path="/console/reviews", query_params={"notice": notice}, status_code=303)


route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            console_home,
            agenda_page,
            agenda_import,
            agenda_import_shipped,
            bill_page,
            bill_save,
            committees_page,
            committees_seed,
            committee_page,
            committee_rule_save,
            hearings_page,
            hearing_create,
            hearing_page,
            hearing_save,
            templates_page,
            template_new,
            template_create,
            template_page,
            template_save,
            template_preview,
            template_preview_pdf,
            reviews_page,
            review_decide,
        ],
    )
]
