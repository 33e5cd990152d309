"""The session scope of actors and commands."""

from __future__ import annotations

from sqlalchemy import event, text

from advocacy.db import get_engine, session_scope


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
