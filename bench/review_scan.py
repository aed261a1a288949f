"""Review scan at 100,000 runbooks: time and query count of one reminder run.

    .venv/bin/python bench/review_scan.py             # PostgreSQL (fixit_bench_reviews, created and dropped)
    .venv/bin/python bench/review_scan.py --sqlite    # a temporary SQLite file instead
    .venv/bin/python bench/review_scan.py --runbooks 20000

Emails go to Django's locmem backend, so the figure is the scan itself: the
queries, building the digests and rendering the templates. Target (DESIGN.md):
under 5 s with a constant number of queries.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "fixit_bench_reviews"


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbooks", type=int, default=100_000)
    parser.add_argument(
        "--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL"
    )
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="fixit-bench-reviews-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="fixit_runbooks.settings",
        SECRET_KEY="bench-only-secret-key-long-enough-for-the-start-up-check-x7Qm2Lp9",
        FIXIT_VAR_DIR=workdir.name,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    if args.sqlite:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir.name}/bench.sqlite3"
    else:
        _admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        _admin_execute(f"CREATE DATABASE {DB_NAME}")
        os.environ["DATABASE_URL"] = f"{PG_ADMIN_URL}/{DB_NAME}"
    try:
        run(args.runbooks, "SQLite" if args.sqlite else "PostgreSQL")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.sqlite:
            _admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        workdir.cleanup()


def run(count: int, engine: str) -> None:
    import django

    django.setup()
    from django.core import mail
    from django.core.management import call_command
    from django.db import connection
    from django.db.models.functions import Mod
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from reviews import reminders
    from runbooks.demo import ensure_users
    from runbooks.models import Runbook, Team

    setup_test_environment()  # locmem outbox, whatever EMAIL_BACKEND says
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", runbooks=count, stdout=open(os.devnull, "w"))  # noqa: SIM115
    seeded = time.perf_counter() - started
    users = list(ensure_users().values())
    # Team leads, so the escalation digests are part of the measured run.
    for n, team in enumerate(Team.objects.order_by("pk")):
        team.lead = users[n % len(users)]
        team.save(update_fields=["lead"])
    # Every tenth runbook without an owner, and one team without a lead, so the digests to
    # team leads and to the admins for unowned runbooks are measured too.
    Runbook.objects.alias(tenth=Mod("pk", 10)).filter(tenth=0).update(owner=None)
    Team.objects.filter(pk=Team.objects.order_by("pk").values("pk")[:1]).update(lead=None)
    total = Runbook.objects.count()
    print(f"engine: {engine}; runbooks: {total:,} (seeded in {seeded:.1f} s)")

    for label in ("first run", "second run, same day"):
        mail.outbox = []
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            report = reminders.send_review_reminders()
            elapsed = time.perf_counter() - started
        print(
            f"{label}: {elapsed:.2f} s, {len(queries)} queries, {len(mail.outbox)} digests sent "
            f"({report.summary()})"
        )
    snapshot = report.snapshot
    print(
        f"snapshot: {snapshot.overdue:,} overdue, {snapshot.due_soon:,} due soon, "
        f"{snapshot.never_reviewed:,} never reviewed, {snapshot.requested:,} requested, "
        f"{snapshot.changes_requested:,} changes requested, {snapshot.current:,} current "
        f"of {snapshot.total:,}"
    )


if __name__ == "__main__":
    main()
