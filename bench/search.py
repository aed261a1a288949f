"""Search latency at 10,000 runbooks, server-side, on PostgreSQL and SQLite.

    .venv/bin/python bench/search.py [--runbooks 10000] [--rounds 20] [--engine postgresql|sqlite]

Seeds the demo library through `seed_demo` (its bulk path fills the index via
runbooks_bulk_changed) in a throw-away database per engine, then times a
fixed list of incident queries: the search function alone, and the whole
/search/ page through Django's test client in-process. Target (DESIGN.md):
p95 under 50 ms on PostgreSQL at 10,000 runbooks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_common import percentile, run_per_engine, setup_django  # noqa: E402

QUERIES = [
    "checkout latency",
    "payments gateway error rate",
    "disk almost full",
    "no space left on device",
    "replication lag orders-db",
    "certificate expiry",
    "tls handshake failures",
    "CrashLoopBackOff",
    "pods restarting OOMKilled",
    "connection pool exhausted",
    "kafka consumer lag",
    "memory leak heap profile",
    "failed logins credential stuffing",
    "OrdersDbReplicationLag",
    "CheckoutApiHighLatency",
    "roll back the last deploy",
    "p99 latency timeouts",
    "stale dashboards warehouse",
    "rotate credentials",
    "fail over standby region",
    "restore from backup",
    "redis-cache",
    "lantency spike",  # misspelt
    "replic",  # half-typed
    '"error pages" -checkout',
]


def worker(engine: str, runbooks: int, rounds: int) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from runbooks.models import Runbook
    from search.engine import search

    started = time.perf_counter()
    call_command("seed_demo", runbooks=runbooks, verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    seeded = time.perf_counter() - started
    count = Runbook.objects.count()
    # Planner statistics as a running server has them (autovacuum would gather
    # them a minute later, competing with the timings for the CPU).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    client = Client()
    client.force_login(get_user_model().objects.get(username="vera.viewer"))
    for q in QUERIES:  # warm caches and plans
        search(q)
        client.get("/search/", {"q": q})

    engine_ms: list[float] = []
    page_ms: list[float] = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            search(q)
            engine_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            response = client.get("/search/", {"q": q})
            page_ms.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (q, response.status_code)

    print(
        f"{engine:<10} {count} runbooks (seeded + indexed in {seeded:.1f} s), "
        f"{len(QUERIES)} queries x {rounds} rounds"
    )
    for label, values in (("search()", engine_ms), ("GET /search/", page_ms)):
        print(
            f"  {label:<13} p50 {percentile(values, 0.5):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
            f"   max {max(values):6.1f} ms"
        )
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbooks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.runbooks, args.rounds)
        return 0
    engines = args.engine or ["postgresql", "sqlite"]
    return run_per_engine(
        Path(__file__).resolve(),
        "fixit_bench_search",
        engines,
        ["--runbooks", str(args.runbooks), "--rounds", str(args.rounds)],
    )


if __name__ == "__main__":
    sys.exit(main())
