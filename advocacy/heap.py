"""Keep the cyclic garbage collector off the objects a process holds for its whole life.

A web or worker process imports the whole application (~200,000 objects: modules, functions, classes, mappers).
Every full collection scans all of them, and requests that build large pages (the participation lists: a row per
city) or WeasyPrint renderings allocate enough to start one every request or two: 100 to 170 ms of pause per full
collection on the dashboard at league scale (bench/dashboard.py), ~4 ms per letter in a worker (bench/letters.py).
Frozen once booted, they are never scanned again; garbage is collected first so none of it is frozen.
"""

from __future__ import annotations

import gc

_frozen = False


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
    global _frozen
    _frozen = True
