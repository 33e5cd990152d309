"""Participation dashboard benchmark: a league-scale history on PostgreSQL, then the division and league views timed
as the app serves them.

Seeds a scratch PostgreSQL database (migrated, the shipped California data: 482 cities in 16 divisions) with
``--officials`` fictional officials, ``--campaigns`` campaigns (``--active`` of them active), ``--letters`` letters
spread over every (campaign, city) pair at several stages (all but the newest superseded, as the letters service
leaves them) and two deliveries per letter. Seeding is plain ``INSERT … SELECT generate_series`` (the schema is the
app's migrated one; the rows bypass the services, which is what makes a million letters take a minute).

Then, through the real app (litestar TestClient, a logged-in regional manager and a staff member), it requests
``--requests`` times each: the division view (``/participation``, the manager's home), the league view
(``/participation/league``) and the staff list of the busiest active campaign across every city
(``/participation/campaigns/{id}``), after two warm-up requests each. Reports p50, p95 and max in milliseconds.
Goal (issue 7): p95 < 150 ms each. Nothing is summarised in a table: every request recomputes from the letters.

Usage::

    .venv/bin/python bench/dashboard.py                       # full scale: 1,000,000 letters
    .venv/bin/python bench/dashboard.py --letters 100000 --officials 2000 --campaigns 40   # a smoke run

The scratch database is dropped at the end (also on error or Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("ADVOCACY_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
GOAL_P95_MS = 150.0


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def seed(conn: Any, *, officials: int, campaigns: int, active: int, letters: int) -> dict[str, float]:
    """Bulk rows in SQL; returns how long each part took (seconds)."""
    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: tuple[Any, ...] | None = None) -> None:
        # Without params psycopg sends the text as is (a single % is SQL's modulo); with params, %% is one %.
        started = time.perf_counter()
        conn.execute(sql, params)
        timings[name] = round(time.perf_counter() - started, 2)
        print(f"  {name}: {timings[name]} s", flush=True)

    step(
        "officials",
        """
        INSERT INTO "user" (email, name, role, title, city_id, may_sign, is_treasurer, active, created_at)
        SELECT 'bench-official-' || g || '@bench.example', 'Bench Official ' || g, 'OFFICIAL', 'Council Member',
               (SELECT id FROM city ORDER BY id OFFSET (g %% (SELECT count(*) FROM city)) LIMIT 1),
               g %% 3 = 0, false, true, now()
        FROM generate_series(1, %s) AS g""",
        (officials,),
    )
    step(
        "campaigns",
        """
        INSERT INTO campaign (title, bill_id, position, talking_points, letter_kind, target_groups, status, created_at)
        SELECT 'Bench campaign ' || g, (SELECT id FROM bill ORDER BY id OFFSET (g %% (SELECT count(*) FROM bill))
               LIMIT 1), 'OPPOSE', '', 'oppose', 'committee,author,own_legislators',
               (CASE WHEN g <= %s THEN 'ACTIVE' ELSE 'CLOSED' END)::campaignstatus, now() - (g || ' days')::interval
        FROM generate_series(1, %s) AS g""",
        (active, campaigns),
    )
    # Every (campaign, city) pair gets letters at stages 0..k; only the newest stage is live, the rest superseded.
    step(
        "letters",
        """
        WITH c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM campaign WHERE title LIKE 'Bench %%'),
             t AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM city),
             sizes AS (SELECT (SELECT count(*) FROM c) AS nc, (SELECT count(*) FROM t) AS nt),
             o AS (SELECT min(id) AS first_id FROM "user" WHERE email LIKE 'bench-official-%%'),
             g AS (SELECT g, (g %% (sizes.nc * sizes.nt)) AS pair, g / (sizes.nc * sizes.nt) AS stage
                   FROM generate_series(0, %s - 1) AS g, sizes)
        INSERT INTO letter (campaign_id, city_id, stage, status, status_changed_at, local_note, prepared_by_id,
                            subject, created_at, queued_at, send_attempts, error, version)
        SELECT c.id, t.id, 'bench:' || g.stage,
               (CASE WHEN g.g + sizes.nc * sizes.nt < %s THEN 'SUPERSEDED'
                     ELSE (ARRAY['DRAFT','SENT','SENT','SENT','PARTIALLY_SENT','FAILED','QUEUED'])[1 + g.g %% 7]
                END)::letterstatus,
               now() - ((g.g %% 90) || ' days')::interval, '', o.first_id + (g.g %% %s), '',
               now() - ((g.g %% 90) || ' days')::interval, now() - ((g.g %% 90) || ' days')::interval, 1, '', 1
        FROM g JOIN sizes ON true JOIN o ON true
        JOIN c ON c.n = g.pair / sizes.nt JOIN t ON t.n = g.pair %% sizes.nt""",
        (letters, letters, officials),
    )
    step(
        "deliveries",
        """
        INSERT INTO delivery (letter_id, channel, recipient_key, name, email, reason, cc_note, sort_order, status,
                              status_changed_at, message_id, error, attempts, receipt_number, document)
        SELECT l.id, CASE WHEN k = 0 THEN 'EMAIL' ELSE 'PORTAL' END::channel, 'bench:' || k, 'Recipient', '',
               'bench', '', k,
               (CASE WHEN k = 0 THEN (ARRAY['ACCEPTED','DELIVERED','DELIVERED','BOUNCED'])[1 + l.id % 4]
                     ELSE (ARRAY['PORTAL_PENDING','PORTAL_SUBMITTED'])[1 + l.id % 2] END)::deliverystatus,
               l.status_changed_at, '', '', 1, '', ''
        FROM letter l CROSS JOIN generate_series(0, 1) AS k WHERE l.status <> 'DRAFT'""",
    )
    step("analyze", "ANALYZE")
    return timings


VIEWS = ("division view", "league view", "campaign list (all cities)")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officials", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--active", type=int, default=12, help="how many campaigns are active")
    parser.add_argument("--letters", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    import psycopg

    name = f"advocacy_bench_dash_{uuid.uuid4().hex[:8]}"
    base = ADMIN_URL.rpartition("/")[0]
    os.environ["ADVOCACY_DATABASE_URL"] = f"{base}/{name}"
    os.environ.setdefault("ADVOCACY_BROKER_URL", "")
    os.environ["ADVOCACY_EMBEDDED_WORKER_THREADS"] = "0"
    os.environ.setdefault("ADVOCACY_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    sys.path.insert(0, str(PROJECT_DIR))
    with psycopg.connect(_psycopg_url(ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        from advocacy.accounts import service as accounts
        from advocacy.accounts.models import Role
        from advocacy.db import get_engine, session_scope
        from advocacy.directory.importer import load_shipped_data
        from advocacy.migrate import upgrade

        print(f"scratch database {name}: migrating, loading the California data", flush=True)
        upgrade("head")
        with session_scope() as session:
            load_shipped_data(session)
        print("seeding", flush=True)
        with psycopg.connect(_psycopg_url(os.environ["ADVOCACY_DATABASE_URL"]), autocommit=True) as conn:
            seed_times = seed(
                conn, officials=args.officials, campaigns=args.campaigns, active=args.active, letters=args.letters
            )
            counts = {
                t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
                for t in ("city", "user", "campaign", "letter", "delivery")
            }
        print(f"rows: {counts}", flush=True)

        from litestar.testing import TestClient
        from sqlmodel import select

        from advocacy.accounts.auth import SESSION_COOKIE
        from advocacy.app import create_app
        from advocacy.directory.models import City

        with session_scope() as session:
            # The manager of the division with the most member cities: the largest division view.
            rows = session.exec(select(City.division_id)).all()
            biggest = max(set(rows), key=lambda d: sum(1 for r in rows if r == d))
            manager = accounts.create_user(
                session,
                email="bench-manager@bench.example",
                name="Bench Manager",
                role=Role.REGIONAL_MANAGER,
                division_id=biggest,
            )
            staff = accounts.create_user(
                session, email="bench-staff@bench.example", name="Bench Staff", role=Role.STAFF
            )
            manager_cookie = accounts.start_session(session, manager)
            staff_cookie = accounts.start_session(session, staff)
            # The staff list of one campaign across every city: the active campaign with the most letters.
            from sqlalchemy import func
            from sqlmodel import col

            from advocacy.campaigns.models import Campaign, CampaignStatus
            from advocacy.letters.models import Letter

            busiest = session.exec(
                select(Letter.campaign_id)
                .join(Campaign, col(Campaign.id) == Letter.campaign_id)
                .where(Campaign.status == CampaignStatus.ACTIVE)
                .group_by(col(Letter.campaign_id))
                .order_by(func.count().desc())
            ).first()

        results: dict[str, Any] = {"rows": counts, "seed_seconds": seed_times, "requests": args.requests}
        with TestClient(create_app()) as client:
            for label, path, cookie in (
                ("division view", "/participation", manager_cookie),
                ("league view", "/participation/league", staff_cookie),
                ("campaign list (all cities)", f"/participation/campaigns/{busiest}", staff_cookie),
            ):
                client.cookies.set(SESSION_COOKIE, cookie)
                for _ in range(2):
                    assert client.get(path).status_code == 200
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text[:300]
                figures = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(percentile(times, 0.95), 1),
                    "max_ms": round(max(times), 1),
                    "goal_p95_ms": GOAL_P95_MS,
                    "met": percentile(times, 0.95) < GOAL_P95_MS,
                }
                results[label] = figures
                print(f"{label} {path}: {figures}", flush=True)
        get_engine().dispose()
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return (
            0 if all(results[k]["met"] for k in ("division view", "league view", "campaign list (all cities)")) else 1
        )
    finally:
        with psycopg.connect(_psycopg_url(ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped {name}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
