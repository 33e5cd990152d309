"""Provider calls off the render thread: in a worker process, a letter's e-mails wait for SendGrid in threads of their
own while the render thread goes on to the next letter.

Why: rendering is CPU work and a provider call is mostly waiting (SendGrid answers in 100-300 ms). Made in the
render thread, the call held it: with the fake SendGrid answering after 150 ms, a worker process delivered 4.6
letters/s against 21 rendered by WeasyPrint alone (docs/benchmarks.md). Several render threads per process are no
answer: they fight over the GIL.

Safe by construction: a letter reaches a sender thread only after its claim (deliveries ``sending``) is committed,
and its message is acknowledged when the render step returns. A process that dies with letters in here leaves their
deliveries ``sending``, which the sweep hands to ``deliver_letter`` once stale, exactly as for a worker killed during
the call. The bounded number of letters in flight keeps that wait far below the sweep's threshold: a render thread
that finds every slot taken waits for one (``letter_send_threads`` in the README says how to size it).

Only ``worker.py`` installs the threads (``install``); everywhere else (the embedded app's worker threads, tests,
commands) the step sends in its own thread, as before.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dramatiq

log = logging.getLogger("advocacy.letters")


class SenderThreads:
    """A pool of ``threads`` that run jobs handed to it, at most ``2 * threads`` of them queued or running."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("a sender needs at least one thread")
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="letter-send")
        # Two per thread: one running, one ready to start the moment the call before it returns.
        self._slots = threading.BoundedSemaphore(2 * threads)

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` in a sender thread; blocks while every slot is taken (the render thread waits for the
        provider then, instead of claiming letters faster than they can be sent)."""
        self._slots.acquire()
        # The job runs in a copy of the caller's context: its log lines carry the request id of the message (and
        # so of the web request) that handed the letter over, as the render step's own lines do.
        context = contextvars.copy_context()
        try:
            self._pool.submit(context.run, self._run, job)
        except BaseException:
            self._slots.release()
            raise

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            # The claim stays ``sending``: the sweep takes it over once stale. Nothing else to do here.
            log.exception("a letter's provider call failed in its sender thread; the sweep will take it over")
        finally:
            self._slots.release()

    def drain(self) -> None:
        """Wait for every job handed over so far, then stop the threads."""
        self._pool.shutdown(wait=True)


_installed: SenderThreads | None = None


def install(threads: int) -> None:
    """Hand this process's provider calls to ``threads`` sender threads (0: leave them in the render thread)."""
    global _installed
    _installed = SenderThreads(threads) if threads > 0 else None
    if threads > 0:
        log.info("letters: provider calls are made in %d sender threads", threads)


def installed() -> SenderThreads | None:
    return _installed


class DrainSenderAtShutdown(dramatiq.Middleware):
    """worker.py: a stopping worker process finishes the provider calls already handed over before it exits (its
    render threads have stopped by then, so nothing new arrives)."""

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if _installed is not None:
            _installed.drain()
