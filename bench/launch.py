"""Launch benchmark: one campaign launched to N generated officials (default 20,000), its action alert sent by a
dramatiq worker through the real ``SendGridMailer`` to the fake SendGrid (tests/fakes/sendgrid.py, in a process of
its own so that its JSON parsing does not share our interpreter).

Set-up, not timed: a scratch database (SQLite by default, or ``--database-url`` for PostgreSQL), migrated, the shipped
California data loaded, N plainly fictional officials spread over every member city, a staff user, a draft campaign
on a real bill with a deadline. Timed: from ``wizard.launch`` (the staff press: checks, first stage, run queued) to
the run's last batch accepted, through a worker thread on the configured broker (in-process by default, or
``--broker-url redis://…``). Printed: SendGrid API calls, personalizations per call, wall time, alerts per second,
and the time the worker spent choosing and recording recipients versus sending.

Goal (issue 4): at most 20 calls and under 60 seconds for 20,000 officials on a 2-core machine.

Usage::

    .venv/bin/python bench/launch.py                       # 20,000 officials, SQLite, in-process broker
    .venv/bin/python bench/launch.py --officials 2000      # a smoke run
    .venv/bin/python bench/launch.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        --broker-url redis://127.0.0.1:6379/7 --json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
FAKE_API_KEY = "SG.bench-launch-key"
GOALS = {"max_calls": 20, "max_seconds": 60.0}


def serve_fake(urls: Any, stop: Any, counts: Any) -> None:
    """Child process: the fake SendGrid until ``stop`` is set; then report what it accepted."""
    sys.path.insert(0, str(PROJECT_DIR))
    from tests.fakes.sendgrid import FakeSendGrid

    with FakeSendGrid(api_key=FAKE_API_KEY) as fake:
        urls.put(fake.url)
        stop.wait()
        counts.put(
            {
                "calls": sum(1 for r in fake.requests if r.path == "/v3/mail/send"),
                "accepted": len(fake.accepted),
                "personalizations": [len(p["personalizations"]) for p in fake.accepted],
                "bytes": [len(r.body) for r in fake.requests],
            }
        )


def scratch_database(url: str | None, work_dir: Path) -> tuple[str, str | None]:
    """(the database URL to use, the PostgreSQL database to drop afterwards)."""
    if not url:
        return f"sqlite:///{work_dir / 'bench.db'}", None
    import psycopg

    name = f"advocacy_bench_{uuid.uuid4().hex[:8]}"
    base, _, _ = url.rpartition("/")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", name


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    from advocacy.db import get_engine

    get_engine().dispose()
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generate_officials(count: int) -> int:
    """N officials over every member city, inserted at once; returns how many cities they cover."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from advocacy.accounts.models import Role, User
    from advocacy.db import session_scope, utcnow
    from advocacy.directory.models import City

    titles = ("Mayor", "Council Member", "Council Member", "City Manager")
    with session_scope() as session:
        cities = list(session.exec(select(City.id).where(col(City.is_member).is_(True)).order_by(col(City.id))))
        now = utcnow()
        rows = [
            {
                "email": f"official-{i}@bench.example",
                "name": f"Bench Example {i}",
                "role": Role.OFFICIAL,
                "title": titles[i % len(titles)],
                "city_id": cities[i % len(cities)],
                "may_sign": i % 4 == 0,
                "is_treasurer": False,
                "active": True,
                "created_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(User), rows[start : start + 5000])
        session.commit()
    return min(count, len(cities))


def prepare_campaign() -> tuple[int, Any]:
    from sqlmodel import select

    from advocacy.accounts import service as accounts
    from advocacy.accounts.models import Role
    from advocacy.campaigns import wizard
    from advocacy.db import session_scope, utcnow
    from advocacy.directory.models import Bill

    with session_scope() as session:
        staff = accounts.create_user(session, email="bench-staff@bench.example", name="Bench Staff", role=Role.STAFF)
        bill = session.exec(select(Bill).where(Bill.measure_type == "SB", Bill.number == 1256)).one()
        campaign = wizard.start_campaign(
            session, wizard.BillStep(bill_id=bill.id or 0, position="Support", talking_points="Local control."), staff
        )
        wizard.update_deadline(
            session, campaign.id or 0, wizard.DeadlineStep(override_date=(utcnow() + timedelta(days=10)).date())
        )
        return campaign.id or 0, staff


def run(args: argparse.Namespace) -> dict[str, Any]:
    work_dir = Path(tempfile.mkdtemp(prefix="advocacy-bench-launch-"))
    context = multiprocessing.get_context("spawn")
    urls, counts, stop = context.Queue(), context.Queue(), context.Event()
    fake = context.Process(target=serve_fake, args=(urls, stop, counts), daemon=True)
    fake.start()
    database_url, pg_name = scratch_database(args.database_url, work_dir)
    # Settings are read once, at first use: the environment is complete before advocacy is imported.
    os.environ.update(
        {
            "ADVOCACY_DATABASE_URL": database_url,
            "ADVOCACY_BROKER_URL": args.broker_url,
            "ADVOCACY_SENDGRID_API_KEY": FAKE_API_KEY,
            "ADVOCACY_SENDGRID_API_HOST": urls.get(timeout=30),
            "ADVOCACY_STORAGE_DIR": str(work_dir / "files"),
            "ADVOCACY_OUTBOX_DIR": str(work_dir / "outbox"),
            "ADVOCACY_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "ADVOCACY_ENV": "bench",
            "ADVOCACY_LOG_JSON": "false",
        }
    )
    sys.path.insert(0, str(PROJECT_DIR))
    try:
        return measure(args, work_dir)
    finally:
        stop.set()
        fake.join(timeout=10)
        if pg_name and args.database_url:
            drop_database(args.database_url, pg_name)
        shutil.rmtree(work_dir, ignore_errors=True)
        report_counts.update(counts.get(timeout=10) if not counts.empty() else {})


report_counts: dict[str, Any] = {}


def measure(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    import dramatiq

    from advocacy.campaigns import wizard
    from advocacy.campaigns.console_models import AlertRun
    from advocacy.db import session_scope
    from advocacy.directory.importer import load_shipped_data
    from advocacy.jobs import import_actors
    from advocacy.migrate import upgrade

    setup_started = time.perf_counter()
    upgrade("head")
    with session_scope() as session:
        load_shipped_data(session)
    cities = generate_officials(args.officials)
    campaign_id, staff = prepare_campaign()
    setup_seconds = time.perf_counter() - setup_started
    import_actors()
    broker = dramatiq.get_broker()
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        started = time.perf_counter()
        with session_scope() as session:
            run_id = wizard.launch(session, campaign_id, staff).id
        launched = time.perf_counter()
        broker.join("alerts", timeout=int(args.timeout * 1000))
        worker.join()
        finished = time.perf_counter()
    finally:
        worker.stop()
    with session_scope() as session:
        alert_run = session.get(AlertRun, run_id)
        assert alert_run is not None
        prepare_seconds = (
            (alert_run.started_at - alert_run.created_at).total_seconds() if alert_run.started_at else None
        )
        send_seconds = (
            (alert_run.finished_at - alert_run.started_at).total_seconds()
            if alert_run.finished_at and alert_run.started_at
            else None
        )
        return {
            "officials": args.officials,
            "cities": cities,
            "database": "postgresql" if args.database_url else "sqlite",
            "broker": args.broker_url.split("://")[0] if args.broker_url else "in-process",
            "status": alert_run.status,
            "sent": alert_run.sent,
            "failed": alert_run.failed,
            "mail_calls": alert_run.mail_calls,
            "launch_request_seconds": round(launched - started, 3),
            "wall_seconds": round(finished - started, 3),
            "worker_prepare_seconds": round(prepare_seconds, 3) if prepare_seconds is not None else None,
            "worker_send_seconds": round(send_seconds, 3) if send_seconds is not None else None,
            "alerts_per_second": round(alert_run.sent / (finished - started), 1),
            "setup_seconds": round(setup_seconds, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officials", type=int, default=20_000)
    parser.add_argument("--database-url", default="", help="PostgreSQL admin URL (a scratch database is made)")
    parser.add_argument("--broker-url", default="", help="redis://… or amqp://… (default: in-process)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args)
    result["fake_sendgrid_calls"] = report_counts.get("calls")
    result["personalizations_per_call"] = report_counts.get("personalizations")
    result["largest_request_kib"] = round(max(report_counts.get("bytes") or [0]) / 1024, 1)
    result["goal_met"] = bool(
        result["status"] == "done"
        and result["sent"] == args.officials
        and (result["fake_sendgrid_calls"] or 0) <= GOALS["max_calls"]
        and result["wall_seconds"] < GOALS["max_seconds"]
    )
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"Launch to {result['officials']:,} officials in {result['cities']} cities "
        f"({result['database']}, broker {result['broker']}):"
    )
    print(f"  run {result['status']}: {result['sent']:,} sent, {result['failed']} failed")
    print(
        f"  SendGrid API calls: {result['fake_sendgrid_calls']} "
        f"(personalizations per call: {result['personalizations_per_call']}; "
        f"largest request {result['largest_request_kib']} KiB)"
    )
    print(
        f"  wall time, press to last batch accepted: {result['wall_seconds']} s "
        f"(launch request {result['launch_request_seconds']} s; worker: recipients "
        f"{result['worker_prepare_seconds']} s, sending {result['worker_send_seconds']} s)"
    )
    print(f"  alerts per second: {result['alerts_per_second']:,}")
    print(
        f"  goal (<= {GOALS['max_calls']} calls, < {GOALS['max_seconds']:.0f} s): "
        f"{'met' if result['goal_met'] else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
