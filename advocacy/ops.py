"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from sqlalchemy import text

from advocacy.accounts.auth import PUBLIC
from advocacy.broker import broker_kind, ping_broker
from advocacy.web import DbSession


@get("/health", guards=[PUBLIC], sync_to_thread=False, include_in_schema=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def ready(session: DbSession) -> Response[dict[str, Any]]:
    """The database and the broker answer."""
    checks: dict[str, str] = {}
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        ping_broker()
        checks["broker"] = f"ok ({broker_kind()})"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(v.startswith("ok") for v in checks.values())
    return Response({"status": "ok" if healthy else "unavailable", "checks": checks},
                    status_code=200 if healthy else 503)


route_handlers = [health, ready]
