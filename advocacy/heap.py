"""Keep the cyclic garbage collector off the objects a process holds for its whole life.

A web or worker process imports the whole application (~200,000 objects: modules, functions, classes, mappers).
Every full collection scans all of them, and requests that build large pages (the participation lists: a row per
city) or WeasyPrint renderings allocate enough to start one every request or two: 100 to 170 ms of pause per full
collection on the dashboard at league scale (bench/dashboard.py), ~4 ms per letter in a worker (bench/letters.py).
Frozen once booted, they are never scanned again; garbage is collected first so none of it is frozen.

A worker's first message of each kind builds more of the same: WeasyPrint's fonts and stylesheets, SQLAlchemy's
mapper configuration and compiled statements, Jinja's templates, the pool's connection. ``FreezeWarmHeap`` freezes
again once each actor has run for the first time, so full collections scan only what a message leaves behind.
"""

from __future__ import annotations

import gc
from typing import Any

import dramatiq

_frozen = False
_never = False  # a test run


def freeze_boot_heap() -> None:
    """Collect, then move every live object to the permanent generation; once per process (later calls, e.g. from
    the many apps a test run builds, do nothing)."""
    global _frozen
    if _frozen:
        return
    gc.collect()
    gc.freeze()
    _frozen = True


def never_freeze() -> None:
    """For test runs: they build apps in the middle of the run, when freezing would pin that moment's rows and
    sessions for good (rows kept out of the garbage collector linger in later sessions' identity maps)."""
    global _frozen, _never
    _frozen = _never = True


class FreezeWarmHeap(dramatiq.Middleware):
    """Worker processes: after the first message of each actor, collect and freeze again (see the module docstring).

    Between messages the session is closed and the message's objects are gone, so what is frozen is the caches
    that first run filled. At most once per actor per process; a full collection costs tens of milliseconds."""

    def __init__(self) -> None:
        self.warm: set[str] = set()

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if message.actor_name in self.warm or _never:
            return
        self.warm.add(message.actor_name)
        gc.collect()
        gc.freeze()
