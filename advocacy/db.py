"""Database engine and sessions: one for each request, ``session_scope()`` for actors and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from advocacy.settings import get_settings


def utcnow() -> datetime:
    """Now, as naive UTC: the project's one rule for stored times (fields are declared ``NaiveDatetime``,
    because sqlmodel maps a plain ``datetime`` to a type that refuses naive values). Convert to
    America/Los_Angeles only for display and for deadlines."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for actors and commands: commits nothing by itself, rolls back on error, always closes.

    It keeps one pooled connection for its whole life instead of one per transaction: a letter's worker step
    commits twice, and each new transaction on a fresh checkout cost the pool's checkout and a pre-ping round trip
    (docs/benchmarks.md)."""
    with get_engine().connect() as connection:
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def provide_session() -> Iterator[Session]:
    """Litestar dependency: a session per request. Services commit; anything uncommitted is rolled back."""
    with session_scope() as session:
        yield session


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction commits (used to enqueue actors)."""

    def _run(_session: Session) -> None:
        callback()

    event.listen(session, "after_commit", _run, once=True)
