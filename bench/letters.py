"""Letters benchmark: N position letters through the real pipeline, against WeasyPrint rendering them alone.

The pipeline is the production one: a scratch PostgreSQL database (migrated, the shipped California data loaded,
demo-like fictional mayors, campaigns on the demo's real bills), Redis as the broker (a dedicated db number),
``python -m dramatiq worker --processes P --threads 1`` worker processes, and the real ``SendGridMailer`` talking
to the fake SendGrid (tests/fakes/sendgrid.py) in a process of its own. Letters are prepared with
``letters.service.send_letter`` before the clock starts (the web request's part); the clock runs from the first
``render_letter`` message enqueued to the last letter's ``sent_at`` (worker part: render, store, deliver, settle).

Side by side with each pipeline run, the bare rendering: ``render_letter_pdf`` of the same letters' documents
(what the worker's render step calls, nothing else) in as many freshly spawned processes, warmed up. The two
alternate in stretches of ``--stretch`` letters (default 50): bare then pipeline on the first stretch, pipeline
then bare on the second, and so on, so that the machine's drift (15 % and more within minutes on a shared 2-core
machine) moves both sides alike. Each round runs the pipeline with 1 worker process, then with 2 (each on warm
workers, each on letters of its own); ``--rounds K`` repeats them and the ratios pool every round.

Each worker process's RSS (``/proc/<pid>/status``) is sampled during the runs: at letter ~100, at the end, and its
peak (``VmHWM``); the CPU time of every part of the pipeline and of the whole machine is recorded, so a run
disturbed by other work shows it. Goals (issue 3): pipeline >= 0.85 x bare rendering per process, 2 processes
>= 1.7 x one, worker RSS growth < 10 % from letter 100 to the last. ``--profile DIR`` runs the workers with
bench/profiled_worker.py and prints where the time goes inside them.

Usage::

    .venv/bin/python bench/letters.py                 # 300 letters
    .venv/bin/python bench/letters.py --quick         # 40 letters, a smoke run
    .venv/bin/python bench/letters.py --rounds 3 --json result.json
    .venv/bin/python bench/letters.py --processes 1 --profile /tmp/prof

Everything it makes is removed at the end (scratch database dropped, Redis db flushed, workers stopped, files
deleted), also on Ctrl-C or when the ``--timeout`` runs out. See docs/benchmarks.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

PROJECT_DIR = Path(__file__).resolve().parent.parent
GOALS = {"pipeline_vs_bare": 0.85, "two_vs_one": 1.7, "rss_growth_pct": 10.0}
RSS_MARK_LETTER = 100  # "RSS at letter ~100": the first sample once this many letters of the run are rendered
FAKE_API_KEY = "SG.bench-fake-key"
SURNAMES = ("Example", "Sample", "Demo")
FIRST_NAMES = (
    "Alex", "Avery", "Blake", "Cameron", "Casey", "Charlie", "Dakota", "Drew", "Eden", "Emerson", "Finley", "Gray",
    "Harper", "Hayden", "Jamie", "Jordan", "Kendall", "Morgan", "Noel", "Parker", "Quinn", "Reese", "Riley", "Robin",
    "Rowan", "Sage", "Skyler", "Tatum", "Taylor",
)  # fmt: skip


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# --------------------------------------------------------------------------------------------------------------
# /proc sampling (Linux)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB; (0, 0) once the process is gone."""
    values = {"VmRSS": 0, "VmHWM": 0}
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (0 once it is gone)."""
    with suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return 0.0


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


# --------------------------------------------------------------------------------------------------------------
# The fake SendGrid, in a process of its own (``--serve-fake-sendgrid``)


def serve_fake_sendgrid(latency_ms: int) -> None:
    """Run tests/fakes/sendgrid.py until stdin closes; print its URL first and a summary of requests last."""
    sys.path.insert(0, str(PROJECT_DIR))
    from tests.fakes.sendgrid import FakeSendGrid

    with FakeSendGrid(api_key=FAKE_API_KEY, latency=latency_ms / 1000) as fake:
        print(json.dumps({"url": fake.url}), flush=True)
        sys.stdin.read()
        statuses = Counter(str(r.status) for r in fake.requests)
    print(json.dumps({"requests": sum(statuses.values()), "statuses": dict(statuses)}), flush=True)


class FakeSendGridProcess:
    def __init__(self, latency_ms: int = 0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake-sendgrid", "--sendgrid-latency-ms", str(latency_ms)],
            cwd=PROJECT_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fake SendGrid did not start")
        self.url: str = json.loads(line)["url"]
        self.summary: dict[str, Any] = {}

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                out, _ = self.process.communicate(timeout=20)  # closes stdin: the fake prints its summary
                lines = [line for line in out.splitlines() if line.strip()]
                self.summary = json.loads(lines[-1]) if lines else {}
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


# --------------------------------------------------------------------------------------------------------------
# Worker processes


class Workers:
    """``python -m dramatiq worker --processes P --threads T`` in its own process group, logging to a file."""

    def __init__(
        self, processes: int, log_path: Path, ready_timeout: float, module: str = "worker", threads: int = 1
    ) -> None:
        self.processes = processes
        self.log_path = log_path
        self.stopped = False
        self.pids: list[int] = []
        started = time.monotonic()
        with log_path.open("wb") as log_file:
            self.master = subprocess.Popen(
                [sys.executable, "-m", "dramatiq", module, "--processes", str(processes), "--threads", str(threads)],
                cwd=PROJECT_DIR,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = started + ready_timeout
            while self._ready_count() < processes:
                if self.master.poll() is not None:
                    raise RuntimeError(f"the dramatiq master exited ({self.master.returncode}); see {log_path}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{processes} worker process(es) not ready after {ready_timeout:.0f} s")
                time.sleep(0.1)
            self.ready_seconds = time.monotonic() - started
            self.pids = children_of(self.master.pid)
            if len(self.pids) != processes:
                raise RuntimeError(f"expected {processes} worker processes, found {self.pids}")
        except BaseException:
            self.stop()
            raise

    def _ready_count(self) -> int:
        return self.log_path.read_bytes().count(b"Worker process is ready for action.")

    def cpu_seconds(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in self.pids}

    def stop(self) -> None:
        """Stop the master and its workers (idempotent). Signals go only to processes still in the master's
        process group, so a process id reused by the system after they exited is never touched."""
        if self.stopped:
            return
        self.stopped = True
        if self.master.poll() is None:
            with suppress(ProcessLookupError):
                # To the master only: it forwards TERM to its workers, which stop gracefully; a worker that gets a
                # second TERM (from a signal to the whole group) exits at once instead.
                os.kill(self.master.pid, signal.SIGTERM)
            try:
                self.master.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.master.pid, signal.SIGKILL)  # the master is not reaped yet: the group is ours
                self.master.wait(timeout=10)
        for pid in self.pids:  # a worker that outlived its master (still in its process group)
            with suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                if int(fields[2]) == self.master.pid:
                    os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------------------------
# Set-up: database, data, campaigns, mayors, letters (all untimed)


@dataclass
class Batch:
    """N letters, queued by send_letter, on a campaign set of their own (so each run renders fresh letters)."""

    name: str
    campaign_ids: list[int]
    letter_ids: list[int] = field(default_factory=list)


def create_scratch_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_scratch_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_reference_data() -> dict[str, int]:
    from advocacy.db import session_scope
    from advocacy.directory.importer import load_shipped_data
    from advocacy.migrate import upgrade

    upgrade("head")
    with session_scope() as session:
        return load_shipped_data(session)


def create_regional_managers() -> None:
    """One plainly fictional regional manager per division, as the demo has: they are on every letter's cc."""
    from sqlmodel import col, select

    from advocacy.accounts import service as accounts
    from advocacy.accounts.models import Role
    from advocacy.db import session_scope
    from advocacy.directory.models import Division

    with session_scope() as session:
        for index, division in enumerate(session.exec(select(Division).order_by(col(Division.slug))).all()):
            accounts.create_user(
                session,
                email=f"rpam.{division.slug}@demo.example",
                name=f"{FIRST_NAMES[index % len(FIRST_NAMES)]} Sample",
                role=Role.REGIONAL_MANAGER,
                division_id=division.id,
            )


# The demo's bills and positions (advocacy/campaigns/demo.py): three committee stages and a request to the Governor.
CAMPAIGNS = [("SB 1256", "Support"), ("AB 1573", "Oppose Unless Amended"), ("SB 1117", "Oppose"),
             ("SB 1426", "Request for Signature")]  # fmt: skip
NOT_A_HEARING = ("Rules", "Appropriations")  # committees that hear no letters (as in the demo)
TALKING_POINTS = [
    "Decisions about local services are best made by the councils that answer to local residents.",
    "The bill as it stands would change what our city can offer residents and what it costs to provide.",
    "The league and its member cities have worked with the author's office and will continue to.",
]


def campaign_specs() -> list[tuple[int, Any, str]]:
    """(bill id, position, talking points) of the benchmark's campaigns whose bill can take letters in the data."""
    from sqlmodel import select

    from advocacy.campaigns.models import Position
    from advocacy.db import session_scope
    from advocacy.directory.models import Bill, CommitteeMembership

    specs = []
    with session_scope() as session:
        for label, position_name in CAMPAIGNS:
            position = Position(position_name)
            measure, _, number = label.partition(" ")
            bill = session.exec(select(Bill).where(Bill.measure_type == measure, Bill.number == int(number))).first()
            if bill is None or bill.id is None:
                continue
            if not position.to_governor and (
                bill.committee_id is None
                or any(word in bill.pending_committee_name for word in NOT_A_HEARING)
                or session.exec(
                    select(CommitteeMembership).where(CommitteeMembership.committee_id == bill.committee_id)
                ).first()
                is None
            ):
                continue
            specs.append((bill.id, position, "\n".join(TALKING_POINTS)))
    if not specs:
        raise RuntimeError("none of the benchmark's bills can take letters in the shipped data")
    return specs


class Mayors:
    """One plainly fictional mayor per city, created when a letter first needs one."""

    def __init__(self) -> None:
        self.by_city: dict[int, Any] = {}

    def of(self, session: Any, city: Any) -> Any:
        from advocacy.accounts import service as accounts
        from advocacy.accounts.models import Role

        if city.id not in self.by_city:
            n = len(self.by_city)
            self.by_city[city.id] = accounts.create_user(
                session,
                email=f"mayor.{city.geoid}@demo.example",
                name=f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {SURNAMES[(n // len(FIRST_NAMES)) % len(SURNAMES)]}",
                role=Role.OFFICIAL,
                title="Mayor",
                city_id=city.id,
                may_sign=True,
            )
        return self.by_city[city.id]


def make_batch(name: str, count: int, specs: list[tuple[int, Any, str]], mayors: Mayors) -> Batch:
    """``count`` letters queued with ``send_letter``: letter i is city i (in geoid order) on campaign i mod K, moving
    to the next campaign once every city has one. Cities whose letter cannot be sent are skipped."""
    from sqlmodel import col, select

    from advocacy.campaigns.models import CampaignStatus
    from advocacy.campaigns.service import create_campaign
    from advocacy.db import session_scope
    from advocacy.directory.models import City
    from advocacy.letters import service as letters
    from advocacy.letters.service import LetterError

    with session_scope() as session:
        campaigns = [
            create_campaign(
                session,
                bill_id=bill_id,
                position=position,
                talking_points=points,
                title=f"Benchmark {name}: {position.value}",
                status=CampaignStatus.ACTIVE,
            )
            for bill_id, position, points in specs
        ]
        cities = list(session.exec(select(City).order_by(col(City.geoid))).all())
        batch = Batch(name, [c.id or 0 for c in campaigns])
        pairs = len(cities) * len(campaigns)
        if count > pairs:
            raise ValueError(f"at most {pairs} letters per run ({len(cities)} cities x {len(campaigns)} campaigns)")
        for i in range(pairs):
            if len(batch.letter_ids) == count:
                break
            city = cities[i % len(cities)]
            campaign = campaigns[(i % len(campaigns) + i // len(cities)) % len(campaigns)]
            try:
                letter = letters.send_letter(session, campaign.id or 0, mayors.of(session, city))
            except LetterError:
                session.rollback()
                continue
            batch.letter_ids.append(letter.id or 0)
        if len(batch.letter_ids) < count:
            raise RuntimeError(f"only {len(batch.letter_ids)} of {count} letters could be queued")
    return batch


def documents_of(batch: Batch) -> list[Any]:
    """The letters' documents exactly as ``render_letter`` builds them, in the batch's order."""
    from advocacy.db import session_scope
    from advocacy.letters.delivery import letter_document
    from advocacy.letters.models import Letter

    with session_scope() as session:
        docs = []
        for letter_id in batch.letter_ids:
            letter = session.get(Letter, letter_id)
            if letter is None:
                raise LookupError(f"letter {letter_id} of {batch.name} is gone")
            docs.append(letter_document(session, letter))
        return docs


# --------------------------------------------------------------------------------------------------------------
# Bare rendering


def _render_document(doc: Any) -> tuple[int, float, float]:
    """PDF size, CPU seconds of ``render_letter_pdf`` for one letter (run in a pool process), and when it was done
    (``time.monotonic()``: one clock for every process of the machine)."""
    from advocacy.letters.document import render_letter_pdf

    started = time.process_time()
    size = len(render_letter_pdf(doc))
    return size, time.process_time() - started, time.monotonic()


def span_of(done: list[float]) -> float:
    """Seconds from the first letter done to the last: the steady part of a stretch of letters, without what comes
    before the first letter is done (handing work to a pool; an idle worker's next poll of the broker)."""
    return max(done) - min(done)


def _render_html(page: str) -> tuple[int, float]:
    """The same for the generic path: ``render_pdf`` of the self-contained HTML (inline CSS, seal as data: URI)."""
    from advocacy.pdf import render_pdf

    started = time.process_time()
    size = len(render_pdf(page))
    return size, time.process_time() - started


def _warm_up_renderer() -> None:
    from advocacy.letters.document import example_document, render_letter_pdf

    for kind in ("support", "request_signature"):
        render_letter_pdf(example_document(kind))


@dataclass
class BareStretch:
    letters: int
    span: float  # first PDF done to the last
    wall: float  # from handing the first document to the pool to the last PDF done
    cpu: float  # CPU seconds of render_letter_pdf, all letters
    pdf_bytes: int
    machine_busy: float  # CPU seconds of the whole machine meanwhile


class BareRendering:
    """WeasyPrint alone: ``render_letter_pdf`` of letters' documents (what the worker's render step calls, nothing
    else) in ``processes`` freshly spawned processes (so they carry only what rendering needs), warmed up once.

    The pool lives as long as a pipeline run, so each stretch of the run is compared with the bare rendering of
    the very same letters right before or after it, on the machine as it is at that moment."""

    def __init__(self, processes: int, warm_docs: list[Any]) -> None:
        self.processes = processes
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_warm_up_renderer)
        list(self.pool.map(_render_document, warm_docs[: 4 * processes]))

    def render(self, docs: list[Any]) -> BareStretch:
        machine_before = machine_busy()[0]
        started = time.monotonic()
        rendered = list(self.pool.map(_render_document, docs, chunksize=2))
        done = [moment for _, _, moment in rendered]
        return BareStretch(
            letters=len(docs),
            span=span_of(done),
            wall=max(done) - started,
            cpu=sum(cpu for _, cpu, _ in rendered),
            pdf_bytes=sum(size for size, _, _ in rendered),
            machine_busy=machine_busy()[0] - machine_before,
        )

    def html_path_rate(self, docs: list[Any]) -> float:
        """Letters per second of the generic path on the same letters, for reference."""
        from advocacy.letters.document import render_letter_html

        pages = [render_letter_html(doc) for doc in docs]  # untimed: only WeasyPrint is timed
        list(self.pool.map(_render_html, pages[: 4 * self.processes]))
        started = time.perf_counter()
        list(self.pool.map(_render_html, pages, chunksize=2))
        return len(docs) / (time.perf_counter() - started)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def bare_summary(stretches: list[BareStretch], processes: int, load: str) -> dict[str, Any]:
    letters = sum(s.letters for s in stretches)
    wall = sum(s.wall for s in stretches)
    return {
        "processes": processes,
        "letters": letters,
        "seconds": round(wall, 3),
        "letters_per_second": round(letters / wall, 3),
        "ms_per_letter": round(1000 * wall * processes / letters, 1),
        "steady_letters_per_second": round(steady_of([(s.letters, s.span) for s in stretches]), 3),
        "cpu_ms_per_letter": round(1000 * sum(s.cpu for s in stretches) / letters, 1),
        "mean_pdf_bytes": round(sum(s.pdf_bytes for s in stretches) / letters),
        "machine_busy_cores": round(sum(s.machine_busy for s in stretches) / wall, 2),
        "load": load,
    }


def steady_of(stretches: list[tuple[int, float]]) -> float:
    """Letters per second over stretches of (letters, first done to last): each stretch counts its letters but
    the first, whose time is before its span starts."""
    return sum(n - 1 for n, _ in stretches) / sum(span for _, span in stretches)


# --------------------------------------------------------------------------------------------------------------
# The pipeline


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def letter_counts(campaign_ids: list[int]) -> Counter[str]:
    from sqlalchemy import func
    from sqlmodel import col, select

    from advocacy.db import session_scope
    from advocacy.letters.models import Letter

    with session_scope() as session:
        rows = session.exec(
            select(Letter.status, func.count()).where(col(Letter.campaign_id).in_(campaign_ids)).group_by(Letter.status)
        ).all()
    return Counter({str(status): int(n) for status, n in rows})


FINAL = ("sent", "partially_sent", "failed")


def finished(counts: Counter[str]) -> int:
    return sum(counts[s] for s in FINAL)


def enqueue_renders(letter_ids: list[int]) -> None:
    from advocacy.letters import actors

    for letter_id in letter_ids:
        actors.render_letter.send(letter_id)


def wait_until_finished(
    batch: Batch, timeout: float, target: int | None = None, on_poll: Callable[[Counter[str]], None] | None = None
) -> None:
    """Until ``target`` letters of the batch (default: all) are sent or failed. Polled four times a second: the
    rates come from the letters' own timestamps, so polling faster would only take CPU from the workers."""
    target = len(batch.letter_ids) if target is None else target
    deadline = time.monotonic() + timeout
    while True:
        counts = letter_counts(batch.campaign_ids)
        if on_poll:
            on_poll(counts)
        if finished(counts) >= target:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{batch.name}: only {dict(counts)} after {timeout:.0f} s")
        time.sleep(0.25)


def sent_times(letter_ids: list[int]) -> list[datetime]:
    """When each of these letters was sent (the workers' clock, which is this machine's)."""
    from sqlmodel import col, select

    from advocacy.db import session_scope
    from advocacy.letters.models import Letter

    with session_scope() as session:
        moments = session.exec(
            select(Letter.sent_at).where(col(Letter.id).in_(letter_ids), col(Letter.sent_at).is_not(None))
        ).all()
    return [moment for moment in moments if moment is not None]


def postgres_backends(db_name: str) -> list[int]:
    """Server processes of every connection to the scratch database (the workers' and this process's poller)."""
    from sqlalchemy import text

    from advocacy.db import get_engine

    with get_engine().connect() as conn:
        return [
            int(pid)
            for (pid,) in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": db_name})
        ]


def redis_server_pid(url: str) -> int | None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    except Exception:
        return None
    finally:
        client.close()


class CpuLedger:
    """CPU seconds spent by each part of the pipeline between ``start()`` and ``stop()``, and by the whole machine;
    ``total`` sums every such span."""

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.total: dict[str, float] = {}  # summed over every start/stop

    def start(self) -> None:
        self.before = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in self.groups().items()}
        self.machine_before = machine_busy()[0]
        self.own_before = time.process_time()

    def stop(self) -> dict[str, float]:
        spent: dict[str, float] = {}
        for name, pids in self.groups().items():
            known = self.before.get(name, {})
            # A process that appeared during the run (a new database connection) counts from its start.
            spent[name] = sum(max(0.0, cpu_seconds(pid) - known.get(pid, 0.0)) for pid in set(pids) | set(known))
        spent["bench process (poller)"] = time.process_time() - self.own_before
        spent["machine, all processes"] = machine_busy()[0] - self.machine_before
        for name, seconds in spent.items():
            self.total[name] = self.total.get(name, 0.0) + seconds
        return spent


def run_pipeline(
    processes: int,
    warm: Batch,
    batch: Batch,
    settings: dict[str, str],
    work_dir: Path,
    fake: FakeSendGridProcess,
    timeout: float,
    stretch: int,
    profile_dir: Path | None = None,
    cprofile: bool = False,
) -> dict[str, Any]:
    """The batch through ``processes`` worker processes, in stretches of ``stretch`` letters, each next to the bare
    rendering of the same letters in as many processes (see ``_measure_pipeline``)."""
    redis_url = settings["redis"]
    flush_redis(redis_url)
    docs = documents_of(batch)
    log(f"pipeline, {processes} worker process(es): starting workers and {processes} bare rendering process(es)")
    module = settings.get("worker_module", "worker")
    if profile_dir is not None:
        module = "bench.profiled_worker"
        os.environ["ADVOCACY_BENCH_PROFILE_DIR"] = str(profile_dir / f"{processes}p")
        os.environ["ADVOCACY_BENCH_CPROFILE"] = "1" if cprofile else ""
    log_name = "worker-" + "-".join(batch.name.replace(",", "").split()) + ".log"
    bare = BareRendering(processes, docs)
    try:
        threads = int(settings.get("threads", "1"))
        workers = Workers(processes, work_dir / log_name, ready_timeout=120, module=module, threads=threads)
        try:
            return _measure_pipeline(workers, bare, warm, batch, docs, settings, fake, timeout, stretch)
        except BaseException:
            tail = workers.log_path.read_text(errors="replace").splitlines()[-15:]
            log("worker log, last lines:\n    " + "\n    ".join(tail))
            log(f"Redis queues: {redis_queue_lengths(redis_url)}")
            raise
        finally:
            workers.stop()
    finally:
        bare.close()


def redis_queue_lengths(url: str) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = [key for key in client.scan_iter("dramatiq:*") if client.type(key) == b"list"]
        return {key.decode(): int(client.llen(key)) for key in keys}
    finally:
        client.close()


def _measure_pipeline(
    workers: Workers,
    bare: BareRendering,
    warm: Batch,
    batch: Batch,
    docs: list[Any],
    settings: dict[str, str],
    fake: FakeSendGridProcess,
    timeout: float,
    stretch: int,
) -> dict[str, Any]:
    """The batch in stretches of ``stretch`` letters. Each stretch is timed twice, back to back: the bare
    rendering of its letters' documents, and the pipeline on the letters themselves, in alternating order (bare
    first, then pipeline first, ...), so a machine that speeds up or slows down during the run (it does, by 15 %
    and more) moves both sides alike. The workers and the bare processes wait idle while the other side runs."""
    from advocacy.db import utcnow

    processes = workers.processes
    redis_url, db_name = settings["redis"], settings["db_name"]
    redis_pid = redis_server_pid(redis_url)
    ledger = CpuLedger(
        lambda: {
            "worker processes": workers.pids,
            "dramatiq master (log relay)": [workers.master.pid],
            "PostgreSQL backends of this DB": postgres_backends(db_name),
            "redis-server (shared)": [redis_pid] if redis_pid else [],
            "fake SendGrid": [fake.process.pid],
        }
    )
    enqueue_renders(warm.letter_ids)  # warm-up: imports, font discovery, first layouts, DB connections
    wait_until_finished(warm, timeout=180)
    log(f"  {len(workers.pids)} worker(s) {workers.pids} warm; {len(batch.letter_ids)} letters go")

    samples: list[dict[str, Any]] = []
    worker_cpu = dict.fromkeys(workers.pids, 0.0)
    load_before = load_average()
    pipeline_stretches: list[tuple[int, float, float]] = []  # letters, first sent to last, enqueue to last sent
    bare_stretches: list[BareStretch] = []
    pipeline_wall = 0.0

    def sample(counts: Counter[str]) -> None:
        rendered = sum(n for status, n in counts.items() if status != "queued")
        samples.append({"rendered": rendered, "rss_kb": {pid: memory_kb(pid)[0] for pid in workers.pids}})

    def run_stretch(ids: list[int], done_before: int) -> None:
        nonlocal pipeline_wall
        cpu_before = workers.cpu_seconds()
        ledger.start()
        started_utc, started = utcnow(), time.monotonic()
        enqueue_renders(ids)
        wait_until_finished(batch, timeout=timeout, target=done_before + len(ids), on_poll=sample)
        wall = time.monotonic() - started
        pipeline_wall += wall
        ledger.stop()
        for pid, seconds in workers.cpu_seconds().items():
            worker_cpu[pid] += seconds - cpu_before[pid]
        sent = [(moment - started_utc).total_seconds() for moment in sent_times(ids)]
        # A stretch with fewer than two letters sent has no span (the statuses in the result tell why).
        pipeline_stretches.append((len(sent), span_of(sent), max(sent)) if len(sent) > 1 else (0, 0.0, wall))

    for number, first in enumerate(range(0, len(batch.letter_ids), stretch)):
        ids, stretch_docs = batch.letter_ids[first : first + stretch], docs[first : first + stretch]
        if number % 2 == 0:
            bare_stretches.append(bare.render(stretch_docs))
            run_stretch(ids, first)
        else:
            run_stretch(ids, first)
            bare_stretches.append(bare.render(stretch_docs))

    peaks = {pid: memory_kb(pid)[1] for pid in workers.pids}
    workers.stop()
    counts = letter_counts(batch.campaign_ids)
    letters = len(batch.letter_ids)
    mark = next((s for s in samples if s["rendered"] >= min(RSS_MARK_LETTER, letters)), samples[0])
    last = samples[-1]
    per_worker = []
    for pid in workers.pids:
        at_mark, at_end = mark["rss_kb"][pid], last["rss_kb"][pid]
        per_worker.append(
            {
                "pid": pid,
                "cpu_seconds": round(worker_cpu[pid], 2),
                "rss_mb_at_letter_100": round(at_mark / 1024, 1),
                "rss_mb_at_end": round(at_end / 1024, 1),
                "rss_mb_peak": round(max(peaks[pid], *(s["rss_kb"][pid] for s in samples)) / 1024, 1),
                "rss_growth_pct": round(100 * (at_end - at_mark) / at_mark, 1) if at_mark else None,
            }
        )
    cpu_spent = ledger.total
    all_worker_cpu = sum(worker_cpu.values())
    ours = sum(v for k, v in cpu_spent.items() if k != "machine, all processes")
    cpu_ms = {k: round(1000 * v / letters, 1) for k, v in cpu_spent.items()}
    cpu_ms["rest of the machine (other work)"] = round(1000 * (cpu_spent["machine, all processes"] - ours) / letters, 1)
    seconds = sum(until_last for _, _, until_last in pipeline_stretches) or pipeline_wall
    spans = [(n, span) for n, span, _ in pipeline_stretches if n > 1]
    steady = steady_of(spans) if spans else 0.0
    return {
        "processes": processes,
        "letters": letters,
        "statuses": dict(counts),
        "stretch": stretch,
        "seconds": round(seconds, 3),
        "letters_per_second": round(letters / seconds, 3),
        "steady_letters_per_second": round(steady, 3),
        "per_process_letters_per_second": round(letters / seconds / processes, 3),
        "poll_wall_seconds": round(pipeline_wall, 3),
        "worker_cpu_ms_per_letter": round(1000 * all_worker_cpu / letters, 1),
        "worker_cpu_utilisation": round(all_worker_cpu / seconds / processes, 3),
        "cpu_ms_per_letter": cpu_ms,
        "machine_busy_cores": round(cpu_spent["machine, all processes"] / pipeline_wall, 2),
        "other_work_cores": round((cpu_spent["machine, all processes"] - ours) / pipeline_wall, 2),
        "worker_ready_seconds": round(workers.ready_seconds, 2),
        "load_before": load_before,
        "load_after": load_average(),
        "rss_mark_at_rendered": mark["rendered"],
        "workers": per_worker,
        # Side by side, stretch by stretch: (letters, pipeline span, bare span), for the paired ratios.
        "pairs": [
            (n, round(span, 4), round(b.span, 4))
            for (n, span, _), b in zip(pipeline_stretches, bare_stretches, strict=True)
            if n == b.letters
        ],
        "bare": bare_summary(bare_stretches, processes, load_before),
    }


# --------------------------------------------------------------------------------------------------------------
# Report


def verdict(ok: bool) -> str:
    return "goal met" if ok else "GOAL MISSED"


def report(result: dict[str, Any], out: TextIO) -> None:
    ratios = result["ratios"]
    w = out.write
    w(f"\nLetters benchmark, {result['date']}, {result['machine']}, {result['letters']} letters per run")
    w(f" in stretches of {result['stretch']}")
    w(f", prefetch {result['prefetch']}" if "prefetch" in result else "")
    w(f", fake SendGrid answers after {result.get('sendgrid_latency_ms', 0)} ms\n")
    w(f"load average (1/5/15 min): {result['load_start']} at the start, {result['load_end']} at the end\n")
    for this in result["rounds"]:
        if len(result["rounds"]) > 1:
            w(f"\nround {this['round']}\n")
        w("\n")
        for key, pipe in this["pipeline"].items():
            run = pipe["bare"]
            plural = "es" if key != "1" else "  "
            w(
                f"bare rendering, {key} process{plural} : {run['steady_letters_per_second']:6.2f} letters/s steady, "
                f"{run['letters_per_second']:6.2f} on the wall clock  ({run['ms_per_letter']} ms, "
                f"{run['cpu_ms_per_letter']} ms CPU per letter)  machine {run['machine_busy_cores']} of 2 cores busy\n"
            )
            w(
                f"pipeline, {key} worker process{plural}: {pipe['steady_letters_per_second']:6.2f} letters/s steady, "
                f"{pipe['letters_per_second']:6.2f} on the wall clock"
            )
            w(
                f"  (worker CPU {pipe['worker_cpu_ms_per_letter']} ms per letter, workers "
                f"{100 * pipe['worker_cpu_utilisation']:.0f}% busy)  machine {pipe['machine_busy_cores']} of 2 cores "
                f"busy, {pipe['other_work_cores']} by other work, load {pipe['load_before']}\n"
            )
            stretches = " ".join(f"{bare_span / span:.2f}" for _, span, bare_span in pipe["pairs"])
            w(f"    pipeline / bare rendering, stretch by stretch: {stretches}\n")
            for worker in pipe["workers"]:
                w(
                    f"    worker {worker['pid']}: RSS {worker['rss_mb_at_letter_100']} MB at letter ~"
                    f"{pipe['rss_mark_at_rendered']}, {worker['rss_mb_at_end']} MB at the last "
                    f"({worker['rss_growth_pct']:+}%), peak {worker['rss_mb_peak']} MB\n"
                )
            ledger = ", ".join(f"{k} {v}" for k, v in pipe["cpu_ms_per_letter"].items())
            w(f"    CPU ms per letter: {ledger}\n")
            bad = {s: n for s, n in pipe["statuses"].items() if s != "sent"}
            if bad:
                w(f"    NOT SENT: {bad}\n")
    if "html_path_letters_per_second" in result:
        w(f"generic HTML path (render_pdf of inline-CSS HTML), 1 process: {result['html_path_letters_per_second']:.2f}")
        w(" letters/s, for reference\n")
    lines = [
        ("pipeline_1_vs_bare_1", "pipeline, 1 process / bare rendering, 1 process", GOALS["pipeline_vs_bare"]),
        ("pipeline_1_vs_bare_1_wall", "  the same on the wall clock (first message enqueued)", None),
        ("pipeline_2_vs_bare_2", "pipeline, 2 processes / bare rendering, 2 processes", None),
        ("cpu_bare_vs_worker", "bare rendering CPU / worker CPU per letter, 1 process", None),
        ("pipeline_2_vs_pipeline_1", "pipeline, 2 processes / 1 process", GOALS["two_vs_one"]),
        ("pipeline_2_vs_pipeline_1_wall", "  the same on the wall clock (first message enqueued)", None),
        ("bare_2_vs_bare_1", "bare rendering, 2 processes / 1 process (the machine now)", None),
    ]
    rounds = f"all {len(result['rounds'])} rounds" if len(result["rounds"]) > 1 else "the run"
    w(f"\nratios of steady rates over {rounds} (first letter done to the last of each stretch; docs/benchmarks.md)\n")
    for key, label, goal in lines:
        if key in ratios:
            w(f"  {label:<60} {ratios[key]:5.2f}")
            w(f"  (goal >= {goal}: {verdict(ratios[key] >= goal)})\n" if goal else "\n")
    growth = ratios.get("max_rss_growth_pct")
    if growth is not None:
        label = "largest worker RSS growth, letter ~100 to the last (all runs)"
        limit = GOALS["rss_growth_pct"]
        w(f"  {label:<60} {growth:+4.1f}%  (goal < {limit:g}%: {verdict(growth < limit)})\n")
    updates = result.get("row_updates")
    if updates:
        counts = ", ".join(f"{name} {u['hot']} of {u['updates']}" for name, u in updates.items())
        w(f"  row updates that were HOT (no index touched), all runs: {counts}\n")
    fake = result.get("fake_sendgrid", {})
    w(f"\nfake SendGrid answered {fake.get('requests', '?')} requests: {fake.get('statuses', {})}\n")


def print_profiles(folder: Path, top: int = 25) -> None:
    """Per run and worker: ms per message of each actor and of the stages inside it, SQL statements, gaps between
    messages; with --cprofile, also the functions where the actors spent their time."""
    import pstats

    for run in sorted({summary.parent for summary in folder.rglob("worker-*.json")}):
        name = " ".join(run.relative_to(folder).parts)
        print(f"\nstage timings, {name} (ms per message inside the worker: wall clock / CPU of its thread)")
        for summary_path in sorted(run.glob("worker-*.json")):
            summary = json.loads(summary_path.read_text())
            for actor, n in summary["messages"].items():
                seconds, cpu = summary["seconds"], summary["cpu_seconds"]
                statements = summary["sql_statements"].get(actor, 0)
                print(
                    f"  {summary_path.stem} {actor}: {n} messages, {1000 * seconds.get(actor, 0) / n:.1f} / "
                    f"{1000 * cpu.get(actor, 0) / n:.1f} ms each, {statements / n:.1f} SQL statements each"
                )
                for key, value in seconds.items():
                    if key.startswith(f"{actor}/"):
                        stage = key.partition("/")[2]
                        # SQL time is measured around each statement on the wall clock only.
                        stage_cpu = f"{1000 * cpu[key] / n:5.1f}" if key in cpu else "    -"
                        print(f"      {stage:<42} {1000 * value / n:7.1f} / {stage_cpu} ms")
            total = sum(summary["messages"].values())
            gaps = summary["gap_seconds_between_messages"]
            in_actors = sum(v for k, v in summary["cpu_seconds"].items() if "/" not in k)
            print(
                f"  {summary_path.stem} between messages: {1000 * gaps / max(1, total - 1):.1f} ms wall per message "
                f"({summary['gaps_ms']}); process CPU outside actors "
                f"{summary['process_cpu_seconds_since_boot'] - in_actors:.2f} s in all"
            )
            print(
                f"  {summary_path.stem} garbage collector: {summary.get('gc')}; tracked objects at shutdown "
                f"{summary.get('gc_tracked_objects_at_shutdown')}, frozen {summary.get('gc_frozen_objects')}"
            )
        profiles = sorted(run.glob("worker-*.prof"))
        if profiles:
            stats = pstats.Stats(*(str(p) for p in profiles))
            stats.sort_stats("cumulative").print_stats(top)


def ratios_of(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """The goals' ratios over every round: each side's letters (but each stretch's first) over its summed spans.
    A pipeline run and its bare rendering cover the same letters in alternating stretches, so their ratio is
    paired; the 2-against-1-process ratios compare runs made at different times."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for this in rounds:
        for key, pipe in this["pipeline"].items():
            runs.setdefault(key, []).append(pipe)

    def steady(key: str, side: int) -> float:  # side 1: the pipeline's spans, 2: the bare rendering's
        pairs = [pair for pipe in runs[key] for pair in pipe["pairs"]]
        return steady_of([(pair[0], pair[side]) for pair in pairs])

    def wall(key: str, bare: bool) -> float:
        chosen = [pipe["bare"] if bare else pipe for pipe in runs[key]]
        return float(sum(run["letters"] for run in chosen) / sum(run["seconds"] for run in chosen))

    ratios: dict[str, float] = {}
    for key in runs:
        if all(pipe["pairs"] for pipe in runs[key]):
            ratios[f"pipeline_{key}_vs_bare_{key}"] = round(steady(key, 1) / steady(key, 2), 3)
            ratios[f"pipeline_{key}_vs_bare_{key}_wall"] = round(wall(key, False) / wall(key, True), 3)
    if "1" in runs:
        bare_cpu = statistics.mean(pipe["bare"]["cpu_ms_per_letter"] for pipe in runs["1"])
        worker_cpu = statistics.mean(pipe["worker_cpu_ms_per_letter"] for pipe in runs["1"])
        ratios["cpu_bare_vs_worker"] = round(bare_cpu / worker_cpu, 3)
    if "1" in runs and "2" in runs and all(pipe["pairs"] for key in ("1", "2") for pipe in runs[key]):
        ratios["pipeline_2_vs_pipeline_1"] = round(steady("2", 1) / steady("1", 1), 3)
        ratios["pipeline_2_vs_pipeline_1_wall"] = round(wall("2", False) / wall("1", False), 3)
        ratios["bare_2_vs_bare_1"] = round(steady("2", 2) / steady("1", 2), 3)
    growths = [w["rss_growth_pct"] for pipes in runs.values() for p in pipes for w in p["workers"]]
    if any(g is not None for g in growths):
        ratios["max_rss_growth_pct"] = max(g for g in growths if g is not None)
    return ratios


# --------------------------------------------------------------------------------------------------------------
# Main


class HardTimeout(BaseException):
    """The whole benchmark ran past ``--timeout`` (a BaseException, so nothing on the way swallows it)."""


@contextmanager
def hard_timeout(seconds: int) -> Iterator[None]:
    def expire(_signum: int, _frame: Any) -> None:
        raise HardTimeout(f"the benchmark ran past --timeout {seconds} s")

    def interrupted(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, expire)
    previous_term = signal.signal(signal.SIGTERM, interrupted)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGTERM, previous_term)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--letters", type=int, default=300, help="letters per run (default 300)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 letters")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every run; the ratios pool all rounds")
    parser.add_argument(
        "--stretch",
        type=int,
        default=50,
        help="letters per stretch: the pipeline and the bare rendering alternate every this many letters (default 50)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="dramatiq worker threads per process (default 1, as `advocacy worker`)"
    )
    parser.add_argument("--html-path", action="store_true", help="also time the generic HTML path, for reference")
    parser.add_argument("--processes", default="1,2", help="worker process counts to run, in order (default 1,2)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL admin URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis URL with a db of its own")
    parser.add_argument("--run-timeout", type=float, default=0, help="seconds per pipeline run (default 60 + N)")
    parser.add_argument(
        "--timeout",
        type=int,
        default=0,
        help="hard limit for the whole benchmark, seconds (default 600 per round + 600)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE ('-': stdout)")
    parser.add_argument(
        "--prefetch",
        type=int,
        default=0,
        help="messages each worker prefetches (dramatiq_queue_prefetch; default: what `advocacy worker` sets)",
    )
    parser.add_argument(
        "--worker-module", default="worker", help="module the dramatiq workers load (default worker, i.e. worker.py)"
    )
    parser.add_argument("--profile", metavar="DIR", help="time the stages inside the workers; summaries into DIR")
    parser.add_argument("--cprofile", action="store_true", help="with --profile: cProfile the actors too (slow)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work folder (worker logs, PDFs)")
    parser.add_argument(
        "--sendgrid-latency-ms",
        type=int,
        default=0,
        help="the fake SendGrid answers every request this late, like the real API's round trip (default 0)",
    )
    parser.add_argument("--serve-fake-sendgrid", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.letters = 40
    if args.letters < 1 or args.rounds < 1:
        parser.error("--letters and --rounds must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.stretch < 2:
        parser.error("--stretch must be at least 2 (a stretch's rate needs two letters done)")
    if args.sendgrid_latency_ms < 0:
        parser.error("--sendgrid-latency-ms cannot be negative")
    try:
        args.process_counts = [int(x) for x in args.processes.split(",") if x.strip()]
    except ValueError:
        parser.error("--processes is a comma-separated list of numbers, e.g. 1,2")
    if not args.process_counts or min(args.process_counts) < 1:
        parser.error("--processes needs at least one count of 1 or more")
    db = args.redis.rstrip("/").rpartition("/")[2]
    if not db.isdigit() or int(db) < 10:
        parser.error("--redis must name a db of its own, 10..15 (0..9 belong to the test suites); it is flushed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_fake_sendgrid:
        serve_fake_sendgrid(args.sendgrid_latency_ms)
        return 0
    run_timeout = args.run_timeout or 60 + args.letters
    work_dir = Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    db_name = f"advocacy_bench_{secrets.token_hex(5)}"
    admin_url = args.pg
    db_created = False
    fake: FakeSendGridProcess | None = None
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "letters": args.letters,
        "sendgrid_latency_ms": args.sendgrid_latency_ms,
        "stretch": args.stretch,
        "threads": args.threads,
        "load_start": load_average(),
        "rounds": [],
    }
    log(f"letters benchmark: {args.letters} letters, worker processes {args.process_counts}; load {load_average()}")
    try:
        with hard_timeout(args.timeout or 600 + 600 * args.rounds):
            fake = FakeSendGridProcess(args.sendgrid_latency_ms)
            base = admin_url.rpartition("/")[0].replace("postgresql://", "postgresql+psycopg://", 1)
            # Settings are read once per process, at first use: the environment is complete before advocacy loads,
            # and the worker processes inherit it.
            os.environ.update(
                {
                    "ADVOCACY_ENV": "bench",
                    "ADVOCACY_DATABASE_URL": f"{base}/{db_name}",
                    "ADVOCACY_BROKER_URL": args.redis,
                    "ADVOCACY_STORAGE_DIR": str(work_dir / "files"),
                    "ADVOCACY_OUTBOX_DIR": str(work_dir / "outbox"),
                    "ADVOCACY_SECRET_KEY": secrets.token_hex(32),
                    "ADVOCACY_SENDGRID_API_KEY": FAKE_API_KEY,
                    "ADVOCACY_SENDGRID_API_HOST": fake.url,
                    "ADVOCACY_STAFF_ALERT_ADDRESS": "bench-alerts@demo.example",
                    "ADVOCACY_EMBEDDED_WORKER_THREADS": "0",
                    "ADVOCACY_METRICS_PORT": "0",
                    "ADVOCACY_LOG_JSON": "false",
                }
            )
            # What `advocacy worker` gives its processes, unless --prefetch says otherwise.
            from advocacy.broker import worker_environment

            os.environ.update(worker_environment(threads=args.threads))
            if args.prefetch:
                # dramatiq reads this lower-case name in each worker process (worker.QUEUE_PREFETCH).
                os.environ["dramatiq_queue_prefetch"] = str(args.prefetch)  # noqa: SIM112
            result["prefetch"] = int(os.environ["dramatiq_queue_prefetch"])  # noqa: SIM112
            flush_redis(args.redis)
            create_scratch_database(admin_url, db_name)
            db_created = True
            log(f"scratch database {db_name}: migrating and loading the shipped data")
            started = time.monotonic()
            load_reference_data()
            create_regional_managers()
            specs = campaign_specs()
            mayors = Mayors()
            # Every pipeline run renders letters of its own (a campaign set of its own, the same bills and cities).
            batches: dict[tuple[int, int], tuple[Batch, Batch]] = {}
            for round_number in range(1, args.rounds + 1):
                for processes in args.process_counts:
                    name = f"round {round_number}, {processes}p"
                    warm = make_batch(f"{name} warm-up", 3 * processes, specs, mayors)
                    batches[round_number, processes] = (warm, make_batch(name, args.letters, specs, mayors))
            took = time.monotonic() - started
            log(f"set-up took {took:.1f} s: {len(batches)} runs, {len(specs)} campaigns x {len(mayors.by_city)} cities")
            flush_redis(args.redis)  # send_letter enqueued renders; each run enqueues its own when its clock starts

            profile_dir = Path(args.profile).resolve() if args.profile else None
            for round_number in range(1, args.rounds + 1):
                this: dict[str, Any] = {"round": round_number, "pipeline": {}}
                result["rounds"].append(this)
                for processes in args.process_counts:
                    warm, batch = batches[round_number, processes]
                    run = run_pipeline(
                        processes,
                        warm,
                        batch,
                        {
                            "redis": args.redis,
                            "db_name": db_name,
                            "worker_module": args.worker_module,
                            "threads": str(args.threads),
                        },
                        work_dir,
                        fake,
                        run_timeout,
                        args.stretch,
                        profile_dir / f"round{round_number}" if profile_dir else None,
                        args.cprofile,
                    )
                    this["pipeline"][str(processes)] = run
                    log(
                        f"  {run['steady_letters_per_second']} letters/s steady against "
                        f"{run['bare']['steady_letters_per_second']} for the bare rendering"
                    )
            if args.html_path:
                log("the generic HTML path, 1 process")
                bare = BareRendering(1, [])
                try:
                    rate = bare.html_path_rate(documents_of(batches[1, args.process_counts[0]][1]))
                    result["html_path_letters_per_second"] = round(rate, 3)
                finally:
                    bare.close()
    except (KeyboardInterrupt, HardTimeout, Exception) as exc:
        log(f"benchmark stopped: {type(exc).__name__}: {exc}")
        if isinstance(exc, Exception):
            traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        cleanup(fake, admin_url, db_name if db_created else None, args.redis, work_dir, result, args.keep_logs)

    result["load_end"] = load_average()
    if "error" in result:
        print(f"FAILED: {result['error']}", file=sys.stderr)
        return 1
    result["ratios"] = ratios_of(result["rounds"])
    report(result, sys.stdout)
    if args.json:
        text = json.dumps(result, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    if args.profile:
        print_profiles(Path(args.profile))
    failed = [p for r in result["rounds"] for p in r["pipeline"].values() if set(p["statuses"]) != {"sent"}]
    return 1 if failed else 0


def row_updates() -> dict[str, dict[str, int]]:
    """Row updates of the letter and delivery tables in the scratch database, and how many were HOT (the new row
    version on the same page, no index touched): what the database's CPU per letter hinges on."""
    from sqlalchemy import text

    from advocacy.db import get_engine

    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
                " WHERE relname IN ('letter', 'delivery') ORDER BY relname"
            )
        ).all()
    return {name: {"updates": updates, "hot": hot} for name, updates, hot in rows}


def cleanup(
    fake: FakeSendGridProcess | None,
    admin_url: str,
    db_name: str | None,
    redis_url: str,
    work_dir: Path,
    result: dict[str, Any],
    keep_logs: bool,
) -> None:
    """Undo everything, each step on its own so one failure does not leave the rest behind."""
    steps: list[tuple[str, Callable[[], None]]] = []
    if fake is not None:

        def stop_fake() -> None:
            fake.stop()
            result["fake_sendgrid"] = fake.summary

        steps.append(("stop the fake SendGrid", stop_fake))
    if "advocacy.db" in sys.modules:
        if db_name:
            steps.append(("count the row updates", lambda: result.update(row_updates=row_updates())))
        steps.append(("close database connections", lambda: sys.modules["advocacy.db"].get_engine().dispose()))
    if db_name:
        steps.append((f"drop {db_name}", lambda: drop_scratch_database(admin_url, db_name)))
    steps.append(("flush the Redis db", lambda: flush_redis(redis_url)))
    if keep_logs:
        log(f"logs kept in {work_dir}")
    else:
        steps.append(("remove the work folder", lambda: shutil.rmtree(work_dir, ignore_errors=True)))
    for what, step in steps:
        try:
            step()
        except Exception as exc:
            log(f"cleanup: could not {what}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
