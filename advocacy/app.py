"""The Litestar application: ``create_app()`` collects every package's routes, templates, auth and errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from advocacy import STATIC_DIR, TEMPLATES_DIR
from advocacy.accounts.auth import AuthMiddleware, current_user, optional_user
from advocacy.db import provide_session
from advocacy.logs import RequestIdMiddleware, configure_logging
from advocacy.settings import Settings, get_settings
from advocacy.web import template_globals

log = logging.getLogger("advocacy.app")

CSRF_EXEMPT = ("/api/", "/webhooks/", "/schema", "/unsubscribe/")


def _route_handlers() -> list[Any]:
    # Imported here so that importing advocacy.app does not import every package at module load.
    from advocacy import dev, ops
    from advocacy.accounts import routes as accounts_routes
    from advocacy.campaigns import alert_routes, console_routes, wizard_routes
    from advocacy.campaigns import api as campaigns_api
    from advocacy.campaigns import routes as campaigns_routes
    from advocacy.citipac import routes as citipac_routes
    from advocacy.directory import routes as directory_routes
    from advocacy.letters import routes as letters_routes
    from advocacy.participation import routes as participation_routes
    from advocacy.testimony import routes as testimony_routes

    handlers: list[Any] = []
    for module in (
        ops,
        dev,
        accounts_routes,
        directory_routes,
        campaigns_routes,
        letters_routes,
        citipac_routes,
        console_routes,
        wizard_routes,
        alert_routes,
        campaigns_api,
        testimony_routes,
        participation_routes,
    ):
        handlers.extend(module.route_handlers)
    handlers.append(create_static_files_router(path="/static", directories=[STATIC_DIR], opt={"public": True}))
    return handlers


def _problem(request: Request[Any, Any, Any], status: int, detail: str, extra: Any = None) -> Response[Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if extra:
        body["errors"] = extra
    return Response(body, status_code=status, media_type="application/problem+json")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/", "/health", "/ready", "/schema")) or (
        "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail or _TITLES.get(status, "Error")
    extra = exc.extra if isinstance(exc, ValidationException) else None
    if _wants_json(request):
        return _problem(request, status, detail, extra)
    if isinstance(exc, NotAuthorizedException) and request.method == "GET":
        query = request.url.query
        return Redirect(path="/login", query_params={"next": request.url.path + (f"?{query}" if query else "")})
    return Template(
        template_name="pages/error.html",
        context={"status": status, "title": _TITLES.get(status, "Error"), "detail": detail},
        status_code=status,
    )


def handle_server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return handle_http_exception(
        request, HTTPException(status_code=500, detail="Something went wrong on our side. It has been logged.")
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)

    def _engine_callback(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(template_globals(settings))

    @asynccontextmanager
    async def embedded_worker(app: Litestar) -> AsyncIterator[None]:
        from advocacy import jobs
        from advocacy.heap import freeze_boot_heap

        freeze_boot_heap()  # the app is built: what lives now lives as long as the process
        with jobs.embedded_runtime(settings):
            yield

    return Litestar(
        route_handlers=_route_handlers(),
        dependencies={
            "session": Provide(provide_session),
            "user": Provide(current_user, sync_to_thread=False),
            "maybe_user": Provide(optional_user, sync_to_thread=False),
        },
        middleware=[RequestIdMiddleware(), AuthMiddleware()],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="advocacy_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            header_name="x-csrftoken",
            exclude=[f"^{p}" for p in CSRF_EXEMPT],
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_engine_callback
        ),
        openapi_config=OpenAPIConfig(title="advocacy API", version="1", path="/schema"),
        exception_handlers={HTTPException: handle_http_exception, Exception: handle_server_error},
        lifespan=[embedded_worker],
        debug=False,
    )
