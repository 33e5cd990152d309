"""The real worker module (``worker.py``: broker and every actor) with timers around each stage of a letter, for
``bench/letters.py --profile DIR``.

Each worker process times, per actor, the whole message and the stages inside it (building the document from the
database, WeasyPrint, writing the file, building the e-mail, the SendGrid call, SQL statements, commits), counts SQL
statements, times the garbage collector, and measures the gaps between messages (time the worker thread spent
outside actors: fetching, acking, dramatiq's middleware). With ``ADVOCACY_BENCH_CPROFILE=1`` it also runs cProfile
around each message (which roughly doubles the time of everything it profiles). At shutdown it writes
``DIR/worker-<pid>.json`` (and ``.prof``).

The provider call and the settling of a letter run in the process's sender threads (advocacy/letters/sender.py),
outside the message and concurrently with the next one: what they do is timed apart, as the pseudo-actor
``sender threads`` (per letter sent), so the render thread's stages hold its own time only.
"""

from __future__ import annotations

import cProfile
import functools
import gc
import json
import os
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dramatiq
from sqlalchemy import event
from sqlalchemy.orm import Session

import worker  # noqa: F401  (sets the broker, then declares every actor)
from advocacy import mail
from advocacy.db import get_engine
from advocacy.letters import delivery

OUT = Path(os.environ.get("ADVOCACY_BENCH_PROFILE_DIR", "."))
SENDER_THREAD_PREFIX = "letter-send"  # advocacy/letters/sender.py names its threads so
SENDER = "sender threads"
CPROFILE = os.environ.get("ADVOCACY_BENCH_CPROFILE") == "1"


class Timings(dramatiq.Middleware):
    def __init__(self) -> None:
        self.profiler = cProfile.Profile() if CPROFILE else None
        self.current = ""
        self.started = 0.0
        self.last_end: float | None = None
        self.messages: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall clock, "actor" and "actor/stage"
        self.cpu_seconds: defaultdict[str, float] = defaultdict(float)  # CPU time of the worker thread, same keys
        self.cpu_started = 0.0
        self.process_cpu_at_boot = 0.0
        self.statements: Counter[str] = Counter()
        self.gaps: list[float] = []
        self._sql_started = threading.local()
        self._lock = threading.Lock()
        self._gc_started = 0.0
        self.gc_seconds: defaultdict[str, float] = defaultdict(float)
        self.gc_counts: Counter[str] = Counter()

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(f"{self._actor()}/{stage}", started, cpu_started)

        return wrapper

    def sender_job(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` (a letter's provider calls and settling) timed as one message of the sender threads."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self._actor() != SENDER:  # no sender threads: the render step sends, inside its own message
                return fn(*args, **kwargs)
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(SENDER, started, cpu_started, message=True)

        return wrapper

    def _add(self, key: str, started: float, cpu_started: float, *, message: bool = False) -> None:
        """Time since ``started`` (wall clock) and ``cpu_started`` (this thread's CPU) to ``key``."""
        with self._lock:  # the sender threads add theirs too
            self.seconds[key] += time.perf_counter() - started
            self.cpu_seconds[key] += time.thread_time() - cpu_started
            if message:
                self.messages[key] += 1

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        self.process_cpu_at_boot = time.process_time()
        gc.callbacks.append(self._gc)
        engine = get_engine()
        event.listen(engine, "before_cursor_execute", self._before_sql)
        event.listen(engine, "after_cursor_execute", self._after_sql)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_seconds[f"generation {info['generation']}"] += time.perf_counter() - self._gc_started
            self.gc_counts[f"generation {info['generation']}"] += 1

    def _actor(self) -> str:
        """What the calling thread works for: the worker thread's message, or the sender threads."""
        if threading.current_thread().name.startswith(SENDER_THREAD_PREFIX):
            return SENDER
        return self.current or "-"

    def _before_sql(self, *_args: Any) -> None:
        self.statements[self._actor()] += 1
        self._sql_started.at = time.perf_counter()

    def _after_sql(self, *_args: Any) -> None:
        elapsed = time.perf_counter() - self._sql_started.at
        with self._lock:
            self.seconds[f"{self._actor()}/sql statements"] += elapsed

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        now = time.perf_counter()
        if self.last_end is not None:
            self.gaps.append(now - self.last_end)
        self.current = message.actor_name
        self.messages[message.actor_name] += 1
        self.started = now
        self.cpu_started = time.thread_time()
        if self.profiler:
            self.profiler.enable()

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if self.profiler:
            self.profiler.disable()
        self.last_end = time.perf_counter()
        self.seconds[message.actor_name] += self.last_end - self.started
        self.cpu_seconds[message.actor_name] += time.thread_time() - self.cpu_started
        self.current = ""

    def before_worker_shutdown(self, broker: dramatiq.Broker, _worker: Any) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        if self.profiler:
            self.profiler.dump_stats(OUT / f"worker-{os.getpid()}.prof")
        summary = {
            "messages": dict(self.messages),
            "seconds": {k: round(v, 4) for k, v in sorted(self.seconds.items())},
            "cpu_seconds": {k: round(v, 4) for k, v in sorted(self.cpu_seconds.items())},
            "process_cpu_seconds_since_boot": round(time.process_time() - self.process_cpu_at_boot, 3),
            "sql_statements": dict(self.statements),
            "gc": {k: {"collections": self.gc_counts[k], "seconds": round(v, 3)} for k, v in self.gc_seconds.items()},
            "gc_tracked_objects_at_shutdown": len(gc.get_objects()),
            "gc_frozen_objects": gc.get_freeze_count(),
            "gap_seconds_between_messages": round(sum(self.gaps), 4),
            "gaps_ms": {
                "median": round(1000 * statistics.median(self.gaps), 2) if self.gaps else None,
                "p90": round(1000 * sorted(self.gaps)[int(0.9 * len(self.gaps))], 2) if self.gaps else None,
                "max": round(1000 * max(self.gaps), 2) if self.gaps else None,
                "over_5_ms": sum(g > 0.005 for g in self.gaps),
                "seconds_in_gaps_over_5_ms": round(sum(g for g in self.gaps if g > 0.005), 3),
            },
        }
        (OUT / f"worker-{os.getpid()}.json").write_text(json.dumps(summary, indent=2))


timings = Timings()
dramatiq.get_broker().add_middleware(timings)

# The stages: names looked up at call time in advocacy.letters.delivery, so wrapping them there is enough.
delivery._load = timings.timed("load letter (DB)", delivery._load)
delivery.deliveries_of = timings.timed("load deliveries (DB)", delivery.deliveries_of)
delivery._claim = timings.timed("claim (DB)", delivery._claim)
delivery._send_or_hand_off = timings.timed("hand off (no sender threads: the calls)", delivery._send_or_hand_off)
delivery._send = timings.sender_job(delivery._send)
delivery.letter_document = timings.timed("build document (DB)", delivery.letter_document)
delivery.render_letter_pdf = timings.timed("render_letter_pdf", delivery.render_letter_pdf)  # type: ignore[attr-defined]
delivery._write_atomically = timings.timed("write PDF file", delivery._write_atomically)
delivery.letter_email = timings.timed("build e-mail (DB, templates, PDF read)", delivery.letter_email)
mail.SendGridMailer.send = timings.timed("SendGrid call (payload, HTTP)", mail.SendGridMailer.send)  # type: ignore[method-assign]
Session.commit = timings.timed("commit", Session.commit)  # type: ignore[method-assign]
