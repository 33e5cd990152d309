"""Campaign pages (the list and the action page) and ``/api/v1/campaigns``.

The action page is a GET and changes nothing (mail scanners follow the links in alert e-mails); its form posts to
``/campaigns/{id}/letters``, which sends the letter or asks the city's signer for a signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Response, Router, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from advocacy.accounts.auth import allow
from advocacy.accounts.models import Role, User
from advocacy.campaigns import service
from advocacy.campaigns.links import LINK_PAGE_HEADERS
from advocacy.letters import service as letters
from advocacy.letters.http import DOMAIN_ERRORS, domain_errors, to_http
from advocacy.letters.models import LETTER_LABELS, LOCAL_NOTE_MAX, Letter
from advocacy.letters.schemas import CampaignOut
from advocacy.web import CurrentUser, DbSession

OFFICIALS_AND_STAFF = allow(Role.OFFICIAL, Role.STAFF)


@dataclass
class SendForm:
    local_note: str = ""
    action: str = "send"  # "send" | "request_signature"


@get("/campaigns", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def campaigns_page(session: DbSession, user: CurrentUser) -> Template:
    """The league's active campaigns, and where the caller's city stands on each."""
    return Template(
        template_name="pages/campaigns.html",
        context={"rows": letters.campaign_rows(session, user), "user": user, "status_labels": LETTER_LABELS},
    )


def action_page(
    session: DbSession,
    user: User,
    campaign_id: int,
    *,
    city_id: int | None = None,
    error: str = "",
    note: str | None = None,
    status_code: int = 200,
    act: str = "",
    other_user: User | None = None,
) -> Template:
    """The action page for ``user``; ``act`` is the base path of the alert link it was opened with (its forms and
    links then stay under that path, the only one the link is good for)."""
    with domain_errors():
        campaign = service.get_campaign(session, campaign_id, include_drafts=letters.is_staff(user))
        bill = service.bill_of(session, campaign)
    try:
        draft = letters.action_draft(session, campaign_id, user, city_id, note)
    except letters.LetterError as exc:  # a previewed note too long: show the page without it
        draft, error, status_code = letters.action_draft(session, campaign_id, user, city_id), str(exc), 422
    return Template(
        template_name="pages/campaign.html",
        status_code=status_code,
        headers=LINK_PAGE_HEADERS if act else None,
        context={
            "campaign": campaign,
            "bill": bill,
            "stage": service.stage_of(session, campaign, bill),
            "draft": draft,
            "user": user,
            "error": error,
            "note_max": LOCAL_NOTE_MAX,
            "note": note if note is not None else (draft.letter.local_note if draft and draft.letter else ""),
            "status_labels": LETTER_LABELS,
            "act": act,
            "other_user": other_user,
        },
    )


@get("/campaigns/{campaign_id:int}", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, include_in_schema=False)
def campaign_page(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], city: FromQuery[int | None] = None
) -> Template:
    """The action page: the bill, the position, the letter exactly as it will be sent, every recipient and why."""
    return action_page(session, user, campaign_id, city_id=city)


@post(
    "/campaigns/{campaign_id:int}/preview",
    guards=[allow(Role.OFFICIAL)],
    sync_to_thread=True,
    include_in_schema=False,
    status_code=200,
)
def preview_page(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], data: URLEncodedBody[SendForm]
) -> Template:
    """The action page again with the letter showing the typed local note ("Update the preview"); saves nothing."""
    return action_page(session, user, campaign_id, note=data.local_note)


def press(session: DbSession, user: User, campaign_id: int, data: SendForm) -> Letter:
    """The action page's button: Send (held for review in a campaign with the approval queue), or ask for a
    signature."""
    if data.action == "request_signature":
        return letters.request_signature(session, campaign_id, user, data.local_note)
    return letters.send_letter(session, campaign_id, user, data.local_note)


@post(
    "/campaigns/{campaign_id:int}/letters", guards=[allow(Role.OFFICIAL)], sync_to_thread=True, include_in_schema=False
)
def send_from_page(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], data: URLEncodedBody[SendForm]
) -> Response[Any]:
    """Send (a signer) or request a signature (any other official of the city); then follow the letter."""
    try:
        letter = press(session, user, campaign_id, data)
    except DOMAIN_ERRORS as exc:
        session.rollback()
        status = to_http(exc).status_code
        if status == 404:
            raise to_http(exc) from None
        return action_page(session, user, campaign_id, error=str(exc), note=data.local_note, status_code=status)
    return Redirect(path=f"/letters/{letter.id}", status_code=303)


@get("/api/v1/campaigns", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, tags=["campaigns"])
def api_campaigns(session: DbSession, user: CurrentUser) -> list[CampaignOut]:
    """Active campaigns, each with the caller's city's letter id at the bill's current stage (if any)."""
    return [
        CampaignOut.build(row.campaign, row.bill, row.stage, letter=row.letter)
        for row in letters.campaign_rows(session, user)
    ]


@get("/api/v1/campaigns/{campaign_id:int}", guards=[OFFICIALS_AND_STAFF], sync_to_thread=True, tags=["campaigns"])
def api_campaign(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], city: FromQuery[int | None] = None
) -> CampaignOut:
    """One campaign; for an official (or staff naming ``city``), the recipients of that city's letter and why."""
    with domain_errors():
        campaign = service.get_campaign(session, campaign_id, include_drafts=letters.is_staff(user))
        bill = service.bill_of(session, campaign)
        draft = letters.action_draft(session, campaign_id, user, city)
    stage = draft.stage if draft else service.stage_of(session, campaign, bill)
    return CampaignOut.build(
        campaign, bill, stage, draft.recipients if draft else None, draft.letter if draft else None
    )


route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[campaigns_page, campaign_page, preview_page, send_from_page, api_campaigns, api_campaign],
    )
]
