"""Operations endpoints: liveness (``/health``) and readiness (``/ready``), for the load balancer and monitoring.

Worker metrics are not here: dramatiq worker processes serve Prometheus metrics themselves on ``metrics_port``
(see ``advocacy.broker.WorkerMetrics``).
"""

from __future__ import annotations

from typing import Any

import dramatiq
from litestar import Response, get
from sqlalchemy import text
from sqlmodel import Session

from advocacy import broker as broker_module
from advocacy.accounts.auth import PUBLIC
from advocacy.broker import broker_kind, ping_broker
from advocacy.web import DbSession


def check_readiness(session: Session, broker: dramatiq.Broker) -> dict[str, str]:
    """``{"database": "ok" | "error: …", "broker": "ok (kind)" | "error: …"}``; never raises."""
    checks: dict[str, str] = {}
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as exc:
        session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        ping_broker(broker)
        checks["broker"] = f"ok ({broker_kind(broker)})"
    except Exception as exc:
        checks["broker"] = f"error: {broker_kind(broker)}: {type(exc).__name__}"
    return checks


def readiness_response(checks: dict[str, str]) -> Response[dict[str, Any]]:
    healthy = all(value.startswith("ok") for value in checks.values())
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503
    )


# Public on purpose: load balancers and uptime monitors call these without credentials, and they reveal
# nothing but "ok" or the failing part's error class.
@get("/health", guards=[PUBLIC], sync_to_thread=False, include_in_schema=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def ready(session: DbSession) -> Response[dict[str, Any]]:
    """The database and the broker answer: 200, or 503 naming the part that does not."""
    return readiness_response(check_readiness(session, broker_module.broker))


route_handlers = [health, ready]
