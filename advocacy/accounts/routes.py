"""Login by magic link, logout, the caller's own account page and ``GET /api/v1/me``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from advocacy.accounts import service
from advocacy.accounts.auth import LOGGED_IN, PUBLIC, SESSION_COOKIE, allow
from advocacy.accounts.models import Role, UserSession
from advocacy.accounts.schemas import UserOut
from advocacy.settings import get_settings
from advocacy.web import CurrentUser, DbSession, MaybeUser

# ``next`` is the conventional query name for where to go after login; Python's ``next`` is taken.
NextQuery = Annotated[str, QueryParameter(name="next")]


@dataclass
class LoginForm:
    email: str = ""
    next: str = ""


@dataclass
class TokenForm:
    name: str = ""


def _user_session(request: Request[Any, Any, Any]) -> UserSession | None:
    state = request.scope.get("state") or {}
    found: UserSession | None = state.get("user_session")
    return found


def _login_page(
    *, next_path: str = "", email: str = "", error: str = "", notice: str = "", token: str = "", status_code: int = 200
) -> Template:
    return Template(
        template_name="pages/login.html",
        context={
            "next": service.safe_next_path(next_path, default=""),
            "email": email,
            "error": error,
            "notice": notice,
            "token": token,
        },
        status_code=status_code,
        # A page whose URL holds a login token is neither cached nor named to other sites in a Referer.
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} if token else None,
    )


@get("/login", guards=[PUBLIC], sync_to_thread=False, include_in_schema=False)
def login_form(maybe_user: MaybeUser, next_path: NextQuery = "", logged_out: FromQuery[str] = "") -> Template:
    """Ask for a login link."""
    notice = "You are logged out." if logged_out else ""
    if maybe_user is not None and not notice:
        notice = f"You are logged in as {maybe_user.email}. Ask for a link to log in as someone else."
    return _login_page(next_path=next_path, notice=notice)


@post("/login", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False, status_code=200)
def login_request(request: Request[Any, Any, Any], session: DbSession, data: URLEncodedBody[LoginForm]) -> Template:
    """Send a login link if the address is an active user's; the answer is the same either way."""
    address = service.normalize_email(data.email)
    if not service.is_valid_email(address):
        return _login_page(
            next_path=data.next,
            email=data.email[:254],
            error="Enter the e-mail address your account uses, like name@city.gov.",
            status_code=400,
        )
    client_ip = request.client.host if request.client else "unknown"
    outcome = service.request_login_link(session, email=address, client_ip=client_ip, next_path=data.next)
    if outcome.ip_limited:
        raise TooManyRequestsException(
            detail="Too many login requests came from your network in the last 15 minutes. "
            "Please wait a few minutes, then ask for a new link."
        )
    # Sent after the answer has gone out, so a known address answers as fast as an unknown one (and in the
    # request's process: a login link never waits behind letters in a worker queue).
    background = BackgroundTask(service.send_login_email, outcome.email) if outcome.email else None
    return Template(
        template_name="pages/login_sent.html",
        context={"minutes": get_settings().magic_link_minutes},
        background=background,
    )


@get("/login/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def login_link(session: DbSession, token: FromPath[str]) -> Template:
    """The page a login link opens. It changes nothing (mail scanners open links): its button logs in."""
    state = service.check_magic_link(session, token)
    if state is service.LinkState.VALID:
        return _login_page(token=token)
    return _login_page(
        error=service.LINK_MESSAGES[state],
        status_code=410 if state in (service.LinkState.USED, service.LinkState.EXPIRED) else 404,
    )


@post("/login/{token:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def login_with_link(request: Request[Any, Any, Any], session: DbSession, token: FromPath[str]) -> Response[Any]:
    """Use the link: start a session and go where the person was going."""
    try:
        result = service.use_magic_link(session, token, previous=_user_session(request))
    except service.AccountError as exc:
        return _login_page(error=str(exc), status_code=400)
    settings = get_settings()
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=result.session_token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_days * 86400,
    )
    return Redirect(path=result.next_path, status_code=303, cookies=[cookie])


@post("/logout", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def logout(request: Request[Any, Any, Any], session: DbSession, maybe_user: MaybeUser) -> Response[Any]:
    """End this session and forget the cookie."""
    service.logout(session, _user_session(request), maybe_user)
    response = Redirect(path="/login", query_params={"logged_out": "1"}, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _account_page(
    session: DbSession, user: CurrentUser, *, new_token: str = "", error: str = "", status_code: int = 200
) -> Template:
    return Template(
        template_name="pages/account.html",
        context={"profile": service.profile(session, user, with_tokens=True), "new_token": new_token, "error": error},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},  # personal, and once a freshly made token
    )


@get("/account", guards=[LOGGED_IN], sync_to_thread=True, include_in_schema=False)
def account(session: DbSession, user: CurrentUser) -> Template:
    """Who you are here, and your API tokens."""
    return _account_page(session, user)


@post("/account/tokens", guards=[LOGGED_IN], sync_to_thread=True, include_in_schema=False, status_code=201)
def create_token(session: DbSession, user: CurrentUser, data: URLEncodedBody[TokenForm]) -> Template:
    """Create an API token; the page shows it this once (answered directly, never put in a URL)."""
    try:
        _, raw = service.create_api_token(session, user, data.name)
    except service.AccountError as exc:
        return _account_page(session, user, error=str(exc), status_code=400)
    return _account_page(session, user, new_token=raw, status_code=201)


@post("/account/tokens/{token_id:int}/revoke", guards=[LOGGED_IN], sync_to_thread=True, include_in_schema=False)
def revoke_token(session: DbSession, user: CurrentUser, token_id: FromPath[int]) -> Response[Any]:
    """Revoke one of your tokens: it stops working at once."""
    try:
        service.revoke_api_token(session, token_id, actor=user, owner=user)
    except service.AccountError as exc:
        return _account_page(session, user, error=str(exc), status_code=404)
    return Redirect(path="/account", status_code=303)


@get("/api/v1/me", guards=[LOGGED_IN], sync_to_thread=True, tags=["accounts"])
def me(session: DbSession, user: CurrentUser) -> UserOut:
    """The caller: name, role, city or Regional Division, and whether they may sign for their city."""
    return UserOut.from_profile(service.profile(session, user))


@get("/api/v1/users", guards=[allow(Role.STAFF)], sync_to_thread=True, tags=["accounts"])
def users(session: DbSession, role: FromQuery[Role | None] = None) -> list[UserOut]:
    """Every account (league staff only), optionally only one role."""
    return [UserOut.from_profile(p) for p in service.profiles(session, service.list_users(session, role=role))]


# One Router, registered at once: litestar 2.25 registers the handlers already on a path again each time another
# handler for that path is registered on the app, wrapping a ``sync_to_thread`` handler twice (it then returns a
# coroutine: 500). Handlers sharing a path must reach the app in one registration.
route_handlers: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            login_form,
            login_request,
            login_link,
            login_with_link,
            logout,
            account,
            create_token,
            revoke_token,
            me,
            users,
        ],
    )
]
