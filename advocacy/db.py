"""Database engine and sessions: one for each request, ``session_scope()`` for actors and the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
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

        _ping_idle_connections(engine)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    _ping_idle_connections(engine)
    return engine


# A pooled connection that sat unused for longer than this is checked (a round trip) before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use only when it has sat idle, not on every checkout (``pool_pre_ping``).

    Why: a busy worker checks a connection out twice per letter (the render step, then the sender thread), each
    time within milliseconds of its last use; a ping each time was a round trip and two thread switches per checkout
    (docs/benchmarks.md). A connection that died while idle (a PostgreSQL restart, an idle timeout, a failover) is
    still found here and replaced before anyone uses it; one that dies within a second of its last use fails its
    next statement, which the worker's retry or the web request's error page covers."""

    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping's SELECT opened a transaction on drivers that are not autocommit
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError(
                f"a pooled connection was found dead after {time.monotonic() - idle_since:.0f} s idle"
            ) from error


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


def autocommit_connection() -> Connection:
    """A pooled connection in autocommit: each statement is durable when it returns, with no BEGIN or COMMIT round
    trip. For a write that must be on record at once, on its own (a letter's accepted SendGrid call)."""
    return get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")


def provide_session() -> Iterator[Session]:
    """Litestar dependency: a session per request. Services commit; anything uncommitted is rolled back."""
    with session_scope() as session:
        yield session


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction commits (used to enqueue actors)."""

    def _run(_session: Session) -> None:
        callback()

    event.listen(session, "after_commit", _run, once=True)
