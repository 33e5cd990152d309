"""Accounts have no queued work (login e-mails go out from the request); only housekeeping on the sweep."""

from __future__ import annotations

from sqlmodel import Session

from advocacy.accounts import service
from advocacy.jobs import sweep_task


@sweep_task("accounts.prune_expired")
def prune_expired(session: Session) -> int:
    """Old login attempts, links and sessions: a login table should not grow forever."""
    return service.prune_expired(session)
