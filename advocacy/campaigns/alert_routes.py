"""Pages behind the links in campaign e-mails: the one-click action link, the unsubscribe link (RFC 8058), and the
re-confirm link of a letter the bill outdated.

None of these links logs anyone in. Every GET here changes nothing (mail scanners follow links).
``POST /unsubscribe/{token}`` is exempt from CSRF (``app.CSRF_EXEMPT``): mail providers send the one-click POST
without cookies, and the signed token is the proof. Every page carries ``links.LINK_PAGE_HEADERS``: its URL holds
the token, which must not leak through a Referer or a cache.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from advocacy.accounts.auth import PUBLIC
from advocacy.accounts.models import User
from advocacy.campaigns import inbox, links, stale
from advocacy.campaigns.console_http import all_errors
from advocacy.campaigns.routes import SendForm, action_page, press
from advocacy.letters import http as letters_http
from advocacy.letters.http import DOMAIN_ERRORS
from advocacy.letters.models import LETTER_LABELS, Letter
from advocacy.letters.routes import letter_page_template, status_out
from advocacy.letters.schemas import LetterOut
from advocacy.web import DbSession, MaybeUser


def _page(page_name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"pages/console/{page_name}.html",
        context=context,
        status_code=status_code,
        headers=links.LINK_PAGE_HEADERS,
    )


# ----------------------------------------------------------------------------------------------- action link
#
# The alert's link is a capability for one official and one campaign, not a login (``campaigns.inbox``). Every page
# it opens lives under /act/{token}, whose Router checks the token on each request (the ``link`` dependency: a
# forged, expired or closed link gets the refusal page) and acts as the link's official. No session cookie is ever
# set here, so every other page and the API still ask for a normal login.


class LinkRefused(HTTPException):
    status_code = 410


ActionLinkDep = NamedDependency[inbox.ActionLink]  # handler parameter ``link``: the checked link of the URL


def provide_link(session: DbSession, token: FromPath[str]) -> inbox.ActionLink:
    try:
        return inbox.check_action_link(session, token)
    except links.LinkError as exc:
        raise LinkRefused(detail=str(exc)) from None


def link_refused(_request: Request[Any, Any, Any], exc: LinkRefused) -> Response[Any]:
    return _page("act", 410, error=exc.detail)


@get("/", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_page(session: DbSession, link: ActionLinkDep, maybe_user: MaybeUser) -> Response[Any]:
    """The campaign's action page for the link's official; the GET changes nothing (mail scanners follow links).
    Already logged in as that official, they get the full page."""
    if maybe_user is not None and maybe_user.id == link.user.id:
        return Redirect(path=link.path, status_code=303)
    return action_page(session, link.user, link.campaign.id or 0, act=link.base, other_user=maybe_user)


@post("/preview", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False, status_code=200)
def action_link_preview(
    session: DbSession, link: ActionLinkDep, maybe_user: MaybeUser, data: URLEncodedBody[SendForm]
) -> Template:
    """The page again with the letter showing the typed local note ("Update the preview"); saves nothing."""
    return action_page(
        session, link.user, link.campaign.id or 0, note=data.local_note, act=link.base, other_user=maybe_user
    )


@post("/", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_send(
    session: DbSession, link: ActionLinkDep, maybe_user: MaybeUser, data: URLEncodedBody[SendForm]
) -> Response[Any]:
    """Send (a signer; held for review in a campaign with the approval queue) or request a signature, as the link's
    official; then follow the letter under the link."""
    try:
        press(session, link.user, link.campaign.id or 0, data)
    except DOMAIN_ERRORS as exc:
        session.rollback()
        return action_page(
            session,
            link.user,
            link.campaign.id or 0,
            error=str(exc),
            note=data.local_note,
            status_code=letters_http.to_http(exc).status_code,
            act=link.base,
            other_user=maybe_user,
        )
    return Redirect(path=f"{link.base}/letter", status_code=303)


def _followed(session: DbSession, link: inbox.ActionLink) -> Letter:
    letter = inbox.followed_letter(session, link)
    if letter is None:
        raise NotFoundException("Your city has no letter for this campaign yet.")
    return letter


@get("/letter", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_letter(session: DbSession, link: ActionLinkDep) -> Response[Any]:
    """The city's letter for the campaign, followed live; the action page until there is one."""
    letter = inbox.followed_letter(session, link)
    if letter is None:
        return Redirect(path=link.base, status_code=303)
    return letter_page_template(session, link.user, letter.id or 0, act=link.base)


@get("/letter/status", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_letter_status(session: DbSession, link: ActionLinkDep) -> Response[LetterOut]:
    """What the letter page polls (the API's letter)."""
    out = status_out(session, link.user, _followed(session, link).id or 0, f"{link.base}/letter/pdf")
    return Response(out, headers=links.LINK_PAGE_HEADERS)


@get("/letter/pdf", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def action_link_letter_pdf(
    session: DbSession, link: ActionLinkDep, document: FromQuery[str | None] = None
) -> Response[bytes]:
    from advocacy.letters.service import letter_pdf

    with letters_http.domain_errors():
        data, filename = letter_pdf(session, _followed(session, link).id or 0, link.user, document)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **links.LINK_PAGE_HEADERS},
    )


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
    draft = confirmed = None
    if found.current and not found.request.confirmed_letter_id:
        draft = letters.draft_for(session, found.campaign, found.city, found.signer, found.old_letter.local_note)
    if found.request.confirmed_letter_id:
        confirmed = session.get(Letter, found.request.confirmed_letter_id)
    return _page(
        "reconfirm",
        status_code,
        found=found,
        draft=draft,
        token=token,
        error=error,
        confirmed=confirmed,
        status_labels=LETTER_LABELS,
        follow=stale.follow_path(found),
        follow_campaign=stale.follow_path(found, ""),
    )


@get("/reconfirm/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def reconfirm_page(session: DbSession, token: FromPath[str]) -> Template:
    """The letter re-rendered for the bill's new committee and version; nothing is sent from this GET."""
    return _reconfirm_page(session, token)


@post("/reconfirm/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def reconfirm_post(session: DbSession, token: FromPath[str]) -> Response[Any]:
    """The signer's press: the new letter is queued, or held for review (the old one marked superseded); then
    follow it under the campaign's action link (the re-confirm link logs no one in either)."""
    try:
        stale.reconfirm(session, token)
        found = stale.check_reconfirm(session, token)
    except all_errors() as exc:
        session.rollback()
        return _reconfirm_page(session, token, error=str(exc), status_code=422)
    return Redirect(path=stale.follow_path(found), status_code=303)


route_handlers: list[Any] = [
    Router(
        path="/act/{token:str}",
        route_handlers=[
            action_link_page,
            action_link_preview,
            action_link_send,
            action_link_letter,
            action_link_letter_status,
            action_link_letter_pdf,
        ],
        dependencies={"link": Provide(provide_link, sync_to_thread=True)},
        exception_handlers={LinkRefused: link_refused},
    ),
    Router(path="/", route_handlers=[unsubscribe_page, unsubscribe_post, reconfirm_page, reconfirm_post]),
]
