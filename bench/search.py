"""Search latency, server-side: `search()` and `GET /api/search/` in-process.

    .venv/bin/python bench/search.py [--runbooks 10000] [--engine postgresql|sqlite] [--rounds 10] [--fresh]

Seeds the demo library with `seed_demo --runbooks N` once per engine and size
into a database kept for the next run (PostgreSQL `fixit_search_bench_<N>`,
SQLite `var/bench/search-<N>.sqlite3`; `--fresh` seeds again), then times a
fixed list of queries: incident words, broad queries that match more than half
the library, typos, and zero-hit queries that take the "did you mean" path,
once with semantic re-ranking (search.semantic) and once without it.
Targets (DESIGN.md): p95 ≤ 20 ms at 10,000 runbooks and ≤ 50 ms at 100,000 on
PostgreSQL, ≤ 20 ms at 10,000 on SQLite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_common import (  # noqa: E402
    POSTGRES_SERVER,
    REPO,
    percentile,
    psql_admin,
    seed_library,
    setup_django,
)

QUERIES = [
    # Incident words.
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
    "OrdersDbReplicationLag",
    "CheckoutApiHighLatency",
    "fail over standby region",
    "restore from backup",
    '"error pages" -checkout',
    # Broad: each matches more than half of the demo library.
    "rate limit exceeded",
    "cache hit rate",
    "rollback deployment",
    "service error",
    # Typos and half-typed words.
    "lantency spike",
    "replic",
    "etdc",
    "kubelt down",
    # No hit as typed; the spelling path runs.
    "zqxjv",
    "certficate expirng",
]


def worker(engine: str, runbooks: int, rounds: int, fresh: bool) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from runbooks.models import Runbook
    from search.engine import search

    count = Runbook.objects.count()
    if fresh or count < runbooks:
        started = time.perf_counter()
        seed_library(runbooks)
        print(f"{engine}: seeded {runbooks} runbooks in {time.perf_counter() - started:.0f} s")
        count = Runbook.objects.count()

    client = Client()
    client.force_login(get_user_model().objects.get(username="vera.viewer"))
    matched = {}
    for q in QUERIES:  # warm caches and plans
        matched[q] = search(q).total
        client.get("/api/search/", {"q": q})

    broad = [q for q, total in matched.items() if total >= 1000]
    print(
        f"{engine:<10} {count} runbooks, {len(QUERIES)} queries x {rounds} rounds ({len(broad)} broad, total ≥ 1,000)"
    )
    # Timed with semantic re-ranking as configured, then without it: the difference is its cost.
    for semantic in (True, False):
        with override_settings(SEARCH_SEMANTIC_RERANK=semantic):
            engine_ms, api_ms = _time_queries(client, rounds)
        for label, values in (("search()", engine_ms), ("GET /api/search/", api_ms)):
            print(
                f"  {label:<17} {'semantic on ' if semantic else 'semantic off'}"
                f"  p50 {percentile(values, 0.5):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
                f"   max {max(values):6.1f} ms"
            )
    sys.stdout.flush()


def _time_queries(client: Any, rounds: int) -> tuple[list[float], list[float]]:
    from search.engine import search

    engine_ms: list[float] = []
    api_ms: list[float] = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            search(q)
            engine_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            response = client.get("/api/search/", {"q": q})
            api_ms.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (q, response.status_code)
    return engine_ms, api_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbooks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument(
        "--fresh", action="store_true", help="drop the kept database and seed again"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.runbooks, args.rounds, args.fresh)
        return 0
    status = 0
    for engine in args.engine or ["postgresql", "sqlite"]:
        var = REPO / "var" / "bench"
        var.mkdir(parents=True, exist_ok=True)
        if engine == "postgresql":
            name = f"fixit_search_bench_{args.runbooks}"
            if args.fresh:
                psql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            psql_admin(f'CREATE DATABASE "{name}"', missing_ok=True)
            url = f"{POSTGRES_SERVER}/{name}"
        else:
            path = var / f"search-{args.runbooks}.sqlite3"
            if args.fresh:
                path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "fixit_runbooks.test_settings",
            "FIXIT_VAR_DIR": str(var),
            "LOG_LEVEL": "WARNING",
        }
        extra = ["--runbooks", str(args.runbooks), "--rounds", str(args.rounds)] + (
            ["--fresh"] if args.fresh else []
        )
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", engine, *extra],
            cwd=REPO,
            env=env,
            check=False,
        )
        status = max(status, result.returncode)
    return status


if __name__ == "__main__":
    sys.exit(main())
