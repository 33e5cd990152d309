"""Every staff route of the campaign console, page and API, is refused to officials and regional managers (and to
anonymous callers); admins inherit staff rights."""

from __future__ import annotations

import re
from typing import Any

import pytest

from advocacy.accounts.auth import Allow
from advocacy.accounts.models import Role
from advocacy.app import create_app
from advocacy.db import session_scope
from tests.helpers import api_token, bearer, create_user, csrf_token, login

CONSOLE_MODULES = ("advocacy.campaigns.console_routes", "advocacy.campaigns.wizard_routes", "advocacy.campaigns.api")


def _staff_routes() -> list[tuple[str, str]]:
    app = create_app()
    found = []
    for path, methods in app.route_handler_method_map.items():
        for method, handler in methods.items():
            module = getattr(getattr(handler.fn, "func", handler.fn), "__module__", "")
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or []) if isinstance(g, Allow)]
            if method != "OPTIONS" and module in CONSOLE_MODULES and any(g.roles == {Role.STAFF} for g in guards):
                found.append((method, re.sub(r"\{[a-z_]+:int\}", "1", re.sub(r"\{[a-z_]+:str\}", "bill", path))))
    return sorted(found)


STAFF_ROUTES = _staff_routes()


def test_the_console_has_its_routes() -> None:
    paths = {p for _, p in STAFF_ROUTES}
    assert {
        "/console",
        "/console/agenda",
        "/console/templates",
        "/api/v1/campaigns",
        "/api/v1/campaigns/1/launch",
        "/api/v1/campaigns/1/stats",
        "/api/v1/bills",
        "/api/v1/hearings",
        "/api/v1/templates/preview",
    } <= paths
    assert len(STAFF_ROUTES) > 40


@pytest.mark.parametrize("caller", ["official", "regional_manager", "anonymous"])
def test_staff_routes_are_refused_to_everyone_else(client: Any, caller: str) -> None:
    headers: dict[str, str] = {}
    if caller != "anonymous":
        with session_scope() as session:
            user = create_user(session, role=Role(caller))
            headers = bearer(api_token(session, user))
        login(client, user)
    token = csrf_token(client)
    for method, path in STAFF_ROUTES:
        api = path.startswith("/api/")
        kwargs: dict[str, Any] = {"headers": headers} if api else {}
        if method != "GET" and not api:
            kwargs["data"] = {"_csrf_token": token}
        if api and method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
        answer = client.request(method, path, follow_redirects=False, **kwargs)
        if caller == "anonymous" and method == "GET" and not api:
            assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/login"), path
        elif caller == "anonymous":
            assert answer.status_code == 401, (method, path, answer.status_code)
        else:
            assert answer.status_code == 403, (method, path, answer.status_code)


def test_admins_inherit_staff_rights(client: Any) -> None:
    with session_scope() as session:
        admin = create_user(session, role=Role.ADMIN)
        headers = bearer(api_token(session, admin))
    login(client, admin)
    for method, path in STAFF_ROUTES:
        if method != "GET":
            continue
        answer = client.get(path, headers=headers if path.startswith("/api/") else {}, follow_redirects=False)
        assert answer.status_code not in (401, 403), (path, answer.status_code)
