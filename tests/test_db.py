"""The session scope of actors and commands, and how the pool checks connections (only after they sat idle)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from advocacy import db
from advocacy.db import get_engine, make_engine, session_scope
from advocacy.settings import get_settings


def test_a_session_scope_keeps_one_connection_across_its_commits() -> None:
    """A letter's worker step commits twice; each transaction on a fresh checkout cost a pre-ping and a reset."""
    checkouts: list[object] = []

    def count(dbapi_connection: object, record: object, proxy: object) -> None:
        checkouts.append(dbapi_connection)

    event.listen(get_engine(), "checkout", count)
    try:
        with session_scope() as session:
            for _ in range(3):
                assert session.execute(text("SELECT 1")).scalar_one() == 1
                session.commit()
    finally:
        event.remove(get_engine(), "checkout", count)
    assert len(checkouts) == 1


def _kill(engine: Engine, dbapi_connection: Any) -> None:
    """End a pooled connection from outside, as a PostgreSQL restart or an idle timeout does."""
    if engine.dialect.name == "postgresql":
        pid = dbapi_connection.info.backend_pid
        with get_engine().connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
    else:
        dbapi_connection.close()


@pytest.fixture
def own_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, list[object]]]:
    """An engine of its own on the test database (one pooled connection at a time), with its pings recorded."""
    engine = make_engine(get_settings().database_url)
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def recorded_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", recorded_ping)
    yield engine, pings
    engine.dispose()


def _dbapi(connection: Connection) -> Any:
    return connection.connection.dbapi_connection


def test_a_connection_back_in_the_pool_a_moment_ago_is_reused_without_a_ping(
    own_engine: tuple[Engine, list[object]],
) -> None:
    engine, pings = own_engine
    with engine.connect() as connection:
        first = _dbapi(connection)
    for _ in range(3):
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 2")).scalar_one() == 2
            assert _dbapi(connection) is first
    assert pings == []


def test_a_connection_that_died_while_idle_is_found_by_its_ping_and_replaced(
    own_engine: tuple[Engine, list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, pings = own_engine
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.05)
    with engine.connect() as connection:
        dead = _dbapi(connection)
    _kill(engine, dead)
    time.sleep(0.1)

    with engine.connect() as connection:  # no error: the pool swapped the dead connection for a new one
        assert connection.execute(text("SELECT 2")).scalar_one() == 2
        assert _dbapi(connection) is not dead
    assert pings == [dead]

    time.sleep(0.1)
    with engine.connect() as connection:  # the new one is alive: pinged, kept
        assert connection.execute(text("SELECT 3")).scalar_one() == 3
    assert len(pings) == 2 and pings[1] is not dead


def test_a_connection_that_dies_right_after_use_fails_once_then_the_pool_recovers(
    own_engine: tuple[Engine, list[object]],
) -> None:
    """The price of not pinging on every checkout (docs/architecture.md): the first statement on a connection that
    died less than a second after its last use fails; the pool then drops it and the next checkout works."""
    engine, pings = own_engine
    with engine.connect() as connection:
        dead = _dbapi(connection)
    _kill(engine, dead)

    with pytest.raises(DBAPIError), engine.connect() as connection:
        connection.execute(text("SELECT 2"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 3")).scalar_one() == 3
        assert _dbapi(connection) is not dead
    assert pings == []
