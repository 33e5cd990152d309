"""Letter pages (status, records, PDF), the JSON API for letters, and SendGrid's Event Webhook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from advocacy.accounts.auth import PUBLIC, allow
from advocacy.accounts.models import Role, User
from advocacy.campaigns import letter_hooks
from advocacy.campaigns.links import LINK_PAGE_HEADERS
from advocacy.campaigns.models import Position
from advocacy.letters import documents, paper, records, service, webhooks
from advocacy.letters.http import DOMAIN_ERRORS, domain_errors, to_http
from advocacy.letters.models import (
    DELIVERY_LABELS,
    IN_FLIGHT,
    LETTER_LABELS,
    LOCAL_NOTE_MAX,
    Delivery,
    Letter,
    LetterStatus,
)
from advocacy.letters.schemas import LetterOut, LetterRequest
from advocacy.web import CurrentUser, DbSession

OFFICIALS_AND_STAFF = allow(Role.OFFICIAL, Role.STAFF)
IdempotencyKeyHeader = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]


@dataclass
class NoteForm:
    local_note: str = ""


@dataclass
class ReceiptForm:
    receipt_number: str = ""


@dataclass
class MailedForm:
    mailed_on: str = ""


def _pdf(data: bytes, filename: str) -> Response[bytes]:
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private"},
    )


# --------------------------------------------------------------------------------------------------------------
# Pages


def letter_page_template(
    session: DbSession,
    user: User,
    letter_id: int,
    *,
    error: str = "",
    status_code: int = 200,
    act: str = "",
) -> Template:
    """The letter's status page for ``user``; ``act`` is the base path of the alert link it was opened with (its
    links, the status poll and the PDF then stay under that path)."""
    with domain_errors():
        page = service.letter_page(session, letter_id, user)
    return Template(
        template_name="pages/letter.html",
        status_code=status_code,
        headers=LINK_PAGE_HEADERS if act else None,
        context={
            "page": page,
            "error": error,
            "note_max": LOCAL_NOTE_MAX,
            "status_labels": LETTER_LABELS,
            "delivery_labels": DELIVERY_LABELS,
            "in_flight": page.letter.status in IN_FLIGHT,
            "act": act,
        },
    )


def status_out(session: DbSession, user: User, letter_id: int, pdf_url: str) -> LetterOut:
    """What the status page polls (the API's letter, with the PDF's URL on the page's own path)."""
    with domain_errors():
        page = service.letter_page(session, letter_id, user)
    out = LetterOut.build(page.letter, page.deliveries, page.review_comment, page.files)
    out.pdf_url = pdf_url if page.letter.pdf_path else None
    return out


@get("/letters/{letter_id:int}", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def letter_page(session: DbSession, user: CurrentUser, letter_id: FromPath[int]) -> Template:
    """The letter's status, live: each recipient's delivery, the PDF, the portal packet. Changes nothing."""
    return letter_page_template(session, user, letter_id)


@get("/letters/{letter_id:int}/status", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def letter_status(session: DbSession, user: CurrentUser, letter_id: FromPath[int]) -> LetterOut:
    """What the status page polls every two seconds (same shape as the API's letter)."""
    return status_out(session, user, letter_id, f"/letters/{letter_id}/pdf")


@get("/letters/{letter_id:int}/pdf", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def letter_pdf_page(
    session: DbSession, user: CurrentUser, letter_id: FromPath[int], document: FromQuery[str | None] = None
) -> Response[bytes]:
    """The letter's PDF; ``?document=<group>`` for a further document (a target group with its own variant)."""
    with domain_errors():
        return _pdf(*service.letter_pdf(session, letter_id, user, document))


def _letter_form(session: DbSession, user: User, letter_id: int, action: Callable[[], object]) -> Response[Any]:
    """A form posted from the letter page: do ``action``, then back to the page, or the page again with the error
    (nothing changed); a letter or delivery the user may not see is a 404."""
    try:
        action()
    except DOMAIN_ERRORS as exc:
        session.rollback()
        if to_http(exc).status_code == 404:
            raise to_http(exc) from None
        return letter_page_template(session, user, letter_id, error=str(exc), status_code=to_http(exc).status_code)
    return Redirect(path=f"/letters/{letter_id}", status_code=303)


@post("/letters/{letter_id:int}/send", guards=[allow(Role.OFFICIAL)], sync_to_thread=True, include_in_schema=False)
def send_draft(
    session: DbSession, user: CurrentUser, letter_id: FromPath[int], data: URLEncodedBody[NoteForm]
) -> Response[Any]:
    """A signer sends the letter another official prepared."""
    return _letter_form(session, user, letter_id, lambda: service.send_draft(session, letter_id, user, data.local_note))


@post(
    "/letters/{letter_id:int}/deliveries/{delivery_id:int}/submitted",
    guards=[OFFICIALS_AND_STAFF],
    sync_to_thread=True,
    include_in_schema=False,
)
def mark_submitted(
    session: DbSession,
    user: CurrentUser,
    letter_id: FromPath[int],
    delivery_id: FromPath[int],
    data: URLEncodedBody[ReceiptForm],
) -> Response[Any]:
    """Record that a person submitted the packet to the Position Letter Portal, with its receipt number."""
    return _letter_form(
        session,
        user,
        letter_id,
        lambda: service.mark_portal_submitted(session, delivery_id, user, data.receipt_number, letter_id=letter_id),
    )


@post(
    "/letters/{letter_id:int}/deliveries/{delivery_id:int}/mailed",
    guards=[OFFICIALS_AND_STAFF],
    sync_to_thread=True,
    include_in_schema=False,
)
def mark_mailed(
    session: DbSession,
    user: CurrentUser,
    letter_id: FromPath[int],
    delivery_id: FromPath[int],
    data: URLEncodedBody[MailedForm],
) -> Response[Any]:
    """Record the day a person mailed the packet to a committee that takes letters only on paper."""
    return _letter_form(
        session,
        user,
        letter_id,
        lambda: paper.mark_mailed(session, delivery_id, user, data.mailed_on, letter_id=letter_id),
    )


def _search(
    session: DbSession,
    user: CurrentUser,
    bill: str | None,
    position: str | None,
    status: str | None,
    date_from: str | None,
    date_to: str | None,
    city: int | None,
) -> list[records.LetterRecord]:
    with domain_errors():
        wanted = records.parse_filter(bill, position, status, date_from, date_to)
        return records.search(session, user, wanted, city_id=city)


@get("/letters", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def records_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    user: CurrentUser,
    bill: FromQuery[str | None] = None,
    position: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    city: FromQuery[int | None] = None,
) -> Template:
    """The city's letters as records: search by bill, position, date and status; export CSV or a zip."""
    error, found = "", []
    try:
        found = _search(session, user, bill, position, status, date_from, date_to, city)
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        error = exc.detail
    with domain_errors():
        records_city = records.records_city(session, user, city)
    return Template(
        template_name="pages/letters.html",
        status_code=422 if error else 200,
        context={
            "records": found,
            "error": error,
            "city": records_city,
            "query": request.url.query or "",
            "values": {
                "bill": bill or "",
                "position": position or "",
                "status": status or "",
                "date_from": date_from or "",
                "date_to": date_to or "",
            },
            "positions": list(Position),
            "statuses": list(LetterStatus),
        },
    )


@get("/letters/export.csv", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def export_csv(
    session: DbSession,
    user: CurrentUser,
    bill: FromQuery[str | None] = None,
    position: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    city: FromQuery[int | None] = None,
) -> Response[str]:
    found = _search(session, user, bill, position, status, date_from, date_to, city)
    return Response(
        records.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="letters.csv"'},
    )


@get("/letters/export.zip", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def export_zip(
    session: DbSession,
    user: CurrentUser,
    bill: FromQuery[str | None] = None,
    position: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    city: FromQuery[int | None] = None,
) -> Response[bytes]:
    """letters.csv and every PDF, for a records request."""
    found = _search(session, user, bill, position, status, date_from, date_to, city)
    return Response(
        records.to_zip(found),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="letters.zip"'},
    )


# --------------------------------------------------------------------------------------------------------------
# JSON API


def _out(session: DbSession, letter: Letter, deliveries: list[Delivery]) -> LetterOut:
    files = documents.letter_files(session, letter, deliveries)
    return LetterOut.build(letter, deliveries, letter_hooks.review_comment(session, letter), files)


@post(
    "/api/v1/campaigns/{campaign_id:int}/letters",
    guards=[allow(Role.OFFICIAL)],
    sync_to_thread=True,
    status_code=202,
    tags=["letters"],
)
def api_send(
    session: DbSession,
    user: CurrentUser,
    campaign_id: FromPath[int],
    idempotency_key: IdempotencyKeyHeader,
    data: JSONBody[LetterRequest | None] = None,
) -> LetterOut:
    """Send the city's letter for this campaign (signers only). A replay with the same ``Idempotency-Key``, a second
    press or a second official get the same letter; the answer is 202 and the letter's status follows."""
    with domain_errors():
        letter = service.send_idempotent(session, campaign_id, user, data.local_note if data else None, idempotency_key)
    return _out(session, letter, service.deliveries_for(session, letter.id or 0))


@get("/api/v1/letters/{letter_id:int}", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, tags=["letters"])
def api_letter(session: DbSession, user: CurrentUser, letter_id: FromPath[int]) -> LetterOut:
    """A letter's status, and every recipient with the reason, channel and delivery status."""
    with domain_errors():
        letter = service.get_letter(session, letter_id, user)
    return _out(session, letter, service.deliveries_for(session, letter_id))


@get(
    "/api/v1/letters/{letter_id:int}/pdf",
    guards=[OFFICIALS_AND_STAFF],
    sync_to_thread=True,
    tags=["letters"],
    media_type="application/pdf",
)
def api_letter_pdf(
    session: DbSession, user: CurrentUser, letter_id: FromPath[int], document: FromQuery[str | None] = None
) -> Response[bytes]:
    """The letter's main PDF (404 until it is rendered); ``?document=<group>`` for a further document, as each
    recipient's ``pdf_url`` in the letter says."""
    with domain_errors():
        return _pdf(*service.letter_pdf(session, letter_id, user, document))


@get("/api/v1/letters", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, tags=["letters"])
def api_letters(
    session: DbSession,
    user: CurrentUser,
    bill: FromQuery[str | None] = None,
    position: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    city: FromQuery[int | None] = None,
) -> list[LetterOut]:
    """The caller's city's letters, newest first (staff: ``city``, or every city), with the records filters."""
    found = _search(session, user, bill, position, status, date_from, date_to, city)
    return [_out(session, r.letter, r.recipients) for r in found]


# --------------------------------------------------------------------------------------------------------------
# SendGrid Event Webhook


@post("/webhooks/sendgrid", guards=[PUBLIC], include_in_schema=False, status_code=200)
async def sendgrid_events(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Delivery events, verified by SendGrid's signature (unsigned, invalid or stale requests get 403)."""
    import anyio

    from advocacy.db import session_scope

    body = await request.body()
    signature = request.headers.get(webhooks.SIGNATURE_HEADER)
    timestamp = request.headers.get(webhooks.TIMESTAMP_HEADER)

    def apply() -> webhooks.EventOutcome:
        with session_scope() as session:
            return webhooks.receive(session, body, signature, timestamp)

    try:
        outcome = await anyio.to_thread.run_sync(apply)
    except webhooks.WebhookRefused as exc:
        return Response({"detail": str(exc)}, status_code=403)
    # Events for deliveries whose acceptance is still being committed: a 5xx makes SendGrid send the batch again
    # later; the events already applied are ignored then as repeats.
    status = 503 if outcome.early else 200
    return Response(
        {"applied": outcome.applied, "ignored": outcome.ignored, "retry": outcome.early}, status_code=status
    )


route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            letter_page,
            letter_status,
            letter_pdf_page,
            send_draft,
            mark_submitted,
            mark_mailed,
            records_page,
            export_csv,
            export_zip,
            api_send,
            api_letter,
            api_letter_pdf,
            api_letters,
            sendgrid_events,
        ],
    )
]
