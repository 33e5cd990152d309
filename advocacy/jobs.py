"""Background work that is not a single package's: the embedded worker and the periodic sweep.

The sweep is how the database stays the only source of truth: each package registers a function that finds work
waiting too long in a non-final state (a letter stuck in ``queued``, a reminder now due) and sends its actor a
nudge again. Actors are idempotent, so a nudge for work already done does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dramatiq
from sqlmodel import Session

from advocacy.broker import broker
from advocacy.db import session_scope
from advocacy.settings import Settings

log = logging.getLogger("advocacy.jobs")

SweepTask = Callable[[Session], int]
_sweep_tasks: dict[str, SweepTask] = {}


def sweep_task(name: str) -> Callable[[SweepTask], SweepTask]:
    """Register ``fn(session) -> number of nudges sent`` to run on every sweep."""

    def register(fn: SweepTask) -> SweepTask:
        _sweep_tasks[name] = fn
        return fn

    return register


def import_actors() -> None:
    """Import every package's actors so that they are declared on the broker (worker.py does the same)."""
    import advocacy.actors  # noqa: F401


def run_sweep() -> dict[str, int]:
    """Run every registered sweep task once, each in its own transaction; a failing one does not stop the rest."""
    import_actors()
    results: dict[str, int] = {}
    for name, task in sorted(_sweep_tasks.items()):
        try:
            with session_scope() as session:
                results[name] = task(session)
                session.commit()
        except Exception:
            log.exception("sweep task %s failed", name)
            results[name] = -1
    return results


@contextmanager
def embedded_runtime(settings: Settings) -> Iterator[None]:
    """In embedded mode, run dramatiq worker threads and a sweep timer inside the web process."""
    if not settings.embedded_broker or settings.embedded_worker_threads <= 0:
        yield
        return
    import_actors()
    worker = dramatiq.Worker(broker, worker_threads=settings.embedded_worker_threads, worker_timeout=100)
    worker.start()
    stop = threading.Event()

    def sweep_loop() -> None:
        while not stop.wait(settings.sweep_interval_seconds):
            run_sweep()

    timer = threading.Thread(target=sweep_loop, name="advocacy-sweep", daemon=True)
    timer.start()
    try:
        yield
    finally:
        stop.set()
        worker.stop()
        timer.join(timeout=5)
