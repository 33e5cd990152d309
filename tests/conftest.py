"""Test set-up: one fresh database per run (SQLite by default, PostgreSQL with ADVOCACY_TEST_DATABASE_URL) and
the broker from ADVOCACY_TEST_BROKER_URL (in-process by default). Settings are read once at import, so the
environment is set here before anything from ``advocacy`` is imported.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_RUN_DIR = Path(tempfile.mkdtemp(prefix="advocacy-test-"))
_PG_ADMIN_URL = os.environ.get("ADVOCACY_TEST_DATABASE_URL", "")
_TEST_DB_NAME = f"advocacy_test_{uuid.uuid4().hex[:10]}"

if _PG_ADMIN_URL:
    base, _, _ = _PG_ADMIN_URL.rpartition("/")
    os.environ["ADVOCACY_DATABASE_URL"] = f"{base}/{_TEST_DB_NAME}"
else:
    os.environ["ADVOCACY_DATABASE_URL"] = f"sqlite:///{_RUN_DIR / 'test.db'}"
os.environ["ADVOCACY_BROKER_URL"] = os.environ.get("ADVOCACY_TEST_BROKER_URL", "")
os.environ["ADVOCACY_OUTBOX_DIR"] = str(_RUN_DIR / "outbox")
os.environ["ADVOCACY_STORAGE_DIR"] = str(_RUN_DIR / "files")
os.environ["ADVOCACY_SECRET_KEY"] = "test-secret-key-not-for-production-0123456789"
os.environ["ADVOCACY_SENDGRID_API_KEY"] = ""
os.environ["ADVOCACY_SWEEP_INTERVAL_SECONDS"] = "3600"
# Tests hand messages from queue to queue and wait for each: quiet queues are looked at as often as the worker
# timeout of the `worker` fixture (50 ms), not every 5 s (tests/jobs/test_brokers.py checks the default).
os.environ["ADVOCACY_WORKER_IDLE_POLL_MS"] = "50"
os.environ.setdefault("ADVOCACY_ENV", "test")


def _create_pg_database() -> None:
    import psycopg

    admin = _PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{_TEST_DB_NAME}"')


def _drop_pg_database() -> None:
    import psycopg

    from advocacy.db import get_engine

    get_engine().dispose()
    admin = _PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_TEST_DB_NAME}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """A fresh database for the whole run, migrated to head."""
    if _PG_ADMIN_URL:
        _create_pg_database()
    from advocacy.migrate import upgrade

    upgrade("head")
    yield os.environ["ADVOCACY_DATABASE_URL"]
    if _PG_ADMIN_URL:
        _drop_pg_database()


os.environ["ADVOCACY_EMBEDDED_WORKER_THREADS"] = "0"  # tests run their own worker (the `worker` fixture)

from advocacy.heap import never_freeze  # noqa: E402  (after the environment above)

never_freeze()  # the apps tests build mid-run must not pin live rows (advocacy/heap.py)


@pytest.fixture(scope="session")
def loaded_data(database: str) -> dict[str, int]:
    """The shipped California data, loaded once per run (reference data: tests must not modify it)."""
    from advocacy.db import session_scope
    from advocacy.directory.importer import load_shipped_data

    with session_scope() as session:
        return load_shipped_data(session)


@pytest.fixture()
def app(loaded_data: dict[str, int]):  # type: ignore[no-untyped-def]
    from advocacy.app import create_app

    return create_app()


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def worker():  # type: ignore[no-untyped-def]
    """A dramatiq worker (threads in this process) on the configured broker, and a ``drain()`` to wait for it."""
    import dramatiq

    from advocacy.jobs import import_actors

    import_actors()
    broker = dramatiq.get_broker()
    w = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    w.start()

    class Running:
        def drain(self, timeout_ms: int = 60_000) -> None:
            for queue in list(broker.get_declared_queues()):
                broker.join(queue, timeout=timeout_ms)
            w.join()

    try:
        yield Running()
    finally:
        w.stop()
        if hasattr(broker, "flush_all"):
            broker.flush_all()


@pytest.fixture()
def fake_sendgrid():  # type: ignore[no-untyped-def]
    """A local fake of SendGrid's v3 Mail Send API (tests/fakes/sendgrid.py), one per test."""
    from tests.fakes.sendgrid import FakeSendGrid

    with FakeSendGrid() as fake:
        yield fake
