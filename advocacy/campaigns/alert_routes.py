"""Pages behind the links in campaign e-mails: the one-click action link, the unsubscribe link (RFC 8058), the
re-confirm link of a letter the bill outdated; and a signer's view of a letter held for review.

Every GET here changes nothing (mail scanners follow links). ``POST /unsubscribe/{token}`` is exempt from CSRF
(``app.CSRF_EXEMPT``): mail providers send the one-click POST without cookies, and the signed token is the proof.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from advocacy.accounts import service as accounts
from advocacy.accounts.auth import PUBLIC, SESSION_COOKIE, allow
from advocacy.accounts.models import Role, User
from advocacy.campaigns import approval, inbox, links, stale
from advocacy.campaigns.console_http import all_errors, text
from advocacy.campaigns.service import bill_of, stage_of
from advocacy.settings import get_settings
from advocacy.web import CurrentUser, DbSession, MaybeUser

FormData = URLEncodedBody[dict[str, Any]]


def _page(page_name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=f"pages/console/{page_name}.html", context=context, status_code=status_code)


def _session_cookie(token: str) -> Cookie:
    settings = get_settings()
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_days * 86400,
    )


# ----------------------------------------------------------------------------------------------- action link


@get("/act/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_page(session: DbSession, token: FromPath[str], maybe_user: MaybeUser) -> Template:
    """The page an alert's link opens: who it is for and which campaign; its button opens the letter."""
    try:
        link = inbox.check_action_link(session, token)
    except links.LinkError as exc:
        return _page("act", 410, error=str(exc), link=None, token=token, other_user=None)
    other = maybe_user if maybe_user is not None and maybe_user.id != link.user.id else None
    bill = bill_of(session, link.campaign)
    return _page(
        "act",
        link=link,
        bill=bill,
        stage=stage_of(session, link.campaign, bill),
        token=token,
        other_user=other,
        error="",
    )


@post("/act/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_use(session: DbSession, token: FromPath[str], maybe_user: MaybeUser) -> Response[Any]:
    """Log the link's official in (unless they already are) and open the campaign's action page."""
    try:
        link, session_token = inbox.use_action_link(session, token, maybe_user)
    except links.LinkError as exc:
        return _page("act", 410, error=str(exc), link=None, token=token, other_user=None)
    cookies = [_session_cookie(session_token)] if session_token else []
    return Redirect(path=link.path, status_code=303, cookies=cookies)


# ----------------------------------------------------------------------------------------------- unsubscribe


@get("/unsubscribe/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def unsubscribe_page(session: DbSession, token: FromPath[str]) -> Template:
    """A page with one button: stop action alerts (the GET itself changes nothing)."""
    try:
        user = session.get(User, links.read_unsubscribe_token(token))
    except links.LinkError as exc:
        return _page("unsubscribe", 404, error=str(exc), done=False, token=token, email="")
    if user is None:
        return _page("unsubscribe", 404, error="This link is not valid any more.", done=False, token=token, email="")
    return _page("unsubscribe", done=inbox.is_opted_out(session, user.id or 0), token=token, email=user.email, error="")


@post("/unsubscribe/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False, status_code=200)
def unsubscribe_post(request: Request[Any, Any, Any], session: DbSession, token: FromPath[str]) -> Response[Any]:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``) or the page's button: no more action alerts."""
    one_click = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded") and (
        request.query_params.get("source") != "page"
    )
    try:
        user = inbox.unsubscribe(session, token, "page" if not one_click else "one-click")
    except links.LinkError as exc:
        return _page("unsubscribe", 404, error=str(exc), done=False, token=token, email="")
    return _page("unsubscribe", done=True, token=token, email=user.email, error="")


# ----------------------------------------------------------------------------------------------- re-confirm


def _reconfirm_page(session: DbSession, token: str, *, error: str = "", status_code: int = 200) -> Template:
    from advocacy.letters import service as letters

    try:
        found = stale.check_reconfirm(session, token)
    except stale.ReconfirmError as exc:
        return _page("reconfirm", 410, error=str(exc), found=None, draft=None, token=token)
    draft = None
    if found.current and not found.request.confirmed_letter_id:
        draft = letters.draft_for(session, found.campaign, found.city, found.signer, found.old_letter.local_note)
    return _page("reconfirm", status_code, found=found, draft=draft, token=token, error=error)


@get("/reconfirm/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def reconfirm_page(session: DbSession, token: FromPath[str]) -> Template:
    """The letter re-rendered for the bill's new committee and version; nothing is sent from this GET."""
    return _reconfirm_page(session, token)


@post("/reconfirm/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def reconfirm_post(session: DbSession, token: FromPath[str], maybe_user: MaybeUser) -> Response[Any]:
    """The signer's press: the new letter is queued (the old one marked superseded); then follow it."""
    try:
        letter = stale.reconfirm(session, token)
        found = stale.check_reconfirm(session, token)
    except all_errors() as exc:
        session.rollback()
        return _reconfirm_page(session, token, error=str(exc), status_code=422)
    cookies = []
    if maybe_user is None or maybe_user.id != found.signer.id:
        cookies = [_session_cookie(accounts.start_session(session, found.signer))]
    return Redirect(path=f"/letters/{letter.id}", status_code=303, cookies=cookies)


# ----------------------------------------------------------------------------------------------- signer's review


@get("/campaigns/{campaign_id:int}/review", guards=[allow(Role.OFFICIAL)], sync_to_thread=True, include_in_schema=False)
def review_status(
    session: DbSession, user: CurrentUser, campaign_id: FromPath[int], notice: FromQuery[str] = ""
) -> Template:
    """Where the city's letter stands in the league's review, with the reviewer's comment if it was returned."""
    review = approval.signer_view(session, campaign_id, user)
    return _page(
        "review_status",
        review=review,
        campaign_id=campaign_id,
        notice=notice,
        error="",
        requires=approval.requires_approval(session, campaign_id),
    )


@post(
    "/campaigns/{campaign_id:int}/review", guards=[allow(Role.OFFICIAL)], sync_to_thread=True, include_in_schema=False
)
def review_submit(session: DbSession, user: CurrentUser, campaign_id: FromPath[int], data: FormData) -> Response[Any]:
    """A signer submits (or resubmits) the city's letter for the league's review."""
    try:
        approval.submit_for_review(session, campaign_id, user, text(data, "local_note"))
    except all_errors() as exc:
        session.rollback()
        return _page(
            "review_status",
            422,
            review=approval.signer_view(session, campaign_id, user),
            campaign_id=campaign_id,
            notice="",
            error=str(exc),
            requires=approval.requires_approval(session, campaign_id),
        )
    return Redirect(
        path=f"/campaigns/{campaign_id}/review", query_params={"notice": "Submitted for review."}, status_code=303
    )


route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            action_link_page,
            action_link_use,
            unsubscribe_page,
            unsubscribe_post,
            reconfirm_page,
            reconfirm_post,
            review_status,
            review_submit,
        ],
    )
]
