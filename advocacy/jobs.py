"""Background work that is not a single package's: the embedded worker and the periodic sweep.

The sweep is how the database stays the only source of truth: each package registers a function that finds work
waiting too long in a non-final state (a letter stuck in ``queued``, a reminder now due) and sends its actor a
nudge again. Actors are idempotent, so a nudge for work already done does nothing.

In production ``advocacy sweep`` runs from cron (or a systemd timer); in embedded mode a thread of the web process
runs it once at start-up (the in-process queue does not survive a restart, so work queued before it is nudged
again at once) and then every ``sweep_interval_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dramatiq
from sqlmodel import Session

from advocacy import broker as broker_module  # the broker is set before anything here declares actors
from advocacy.db import session_scope
from advocacy.settings import Settings

log = logging.getLogger("advocacy.jobs")

SweepTask = Callable[[Session], int]
_sweep_tasks: dict[str, SweepTask] = {}

# Marks a failed task in run_sweep's results (counts are never negative).
FAILED = -1


def sweep_task(name: str) -> Callable[[SweepTask], SweepTask]:
    """Register ``fn(session) -> number of nudges sent`` to run on every sweep (names are unique)."""

    def register(fn: SweepTask) -> SweepTask:
        existing = _sweep_tasks.get(name)
        # The same function registered again (a module imported twice) is fine; two functions sharing a name are not.
        if existing is not None and (existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"sweep task {name!r} is already registered by {existing.__module__}")
        _sweep_tasks[name] = fn
        return fn

    return register


def registered_sweep_tasks() -> dict[str, SweepTask]:
    return dict(_sweep_tasks)


def import_actors() -> None:
    """Import every package's actors so that they are declared on the broker (worker.py does the same)."""
    import advocacy.actors  # noqa: F401


def run_sweep() -> dict[str, int]:
    """Run every registered sweep task once, each in its own transaction; a failing one does not stop the rest.

    Returns ``{task name: nudges sent}``, with ``FAILED`` for a task that raised (its error is logged).
    """
    import_actors()
    results: dict[str, int] = {}
    started = time.perf_counter()
    for name, task in sorted(_sweep_tasks.items()):
        try:
            with session_scope() as session:
                results[name] = task(session)
                session.commit()
        except Exception:
            log.exception("sweep task %s failed", name)
            results[name] = FAILED
    nudged = sum(n for n in results.values() if n > 0)
    failed = [name for name, n in results.items() if n == FAILED]
    log.log(
        logging.WARNING if failed else logging.INFO,
        "sweep: %d task(s), %d nudge(s), failed: %s, %.0f ms",
        len(results),
        nudged,
        ", ".join(failed) or "none",
        (time.perf_counter() - started) * 1000,
    )
    return results


@contextmanager
def embedded_runtime(settings: Settings, broker: dramatiq.Broker | None = None) -> Iterator[None]:
    """In embedded mode, run dramatiq worker threads and a sweep timer inside the web process.

    ``broker`` defaults to the configured one. Nothing runs unless ``settings`` is embedded with worker threads.
    """
    if not settings.embedded_broker or settings.embedded_worker_threads <= 0:
        yield
        return
    import_actors()
    broker = broker or broker_module.broker
    worker = dramatiq.Worker(broker, worker_threads=settings.embedded_worker_threads, worker_timeout=100)
    worker.start()
    stop = threading.Event()

    def sweep_loop() -> None:
        while not stop.is_set():
            try:
                run_sweep()
            except Exception:  # e.g. the database is down: keep the timer alive, try again next interval
                log.exception("sweep failed")
            if stop.wait(settings.sweep_interval_seconds):
                return

    timer = threading.Thread(target=sweep_loop, name="advocacy-sweep", daemon=True)
    timer.start()
    log.info(
        "embedded runtime: %d worker thread(s), sweep every %g s",
        settings.embedded_worker_threads,
        settings.sweep_interval_seconds,
    )
    try:
        yield
    finally:
        stop.set()
        worker.stop()
        timer.join(timeout=10)
        log.info("embedded runtime stopped")
