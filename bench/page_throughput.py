"""Runbook page throughput against a bare Django view, both under the same gunicorn.

Target (DESIGN.md): the runbook page within 2x of a bare view. The script
builds its own stack (temporary SQLite file, or PostgreSQL database
`fixit_bench_page` with --database postgres), seeds `seed_demo --runbooks 50`,
starts gunicorn (2 workers) on a free loopback port, logs a viewer in, sends a
bounded number of requests to each URL from concurrent client processes, and
removes everything afterwards.

    .venv/bin/python bench/page_throughput.py [--requests 2000] [--concurrency 8] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from multiprocessing import Pool
from multiprocessing.pool import Pool as ProcessPool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import running_stack  # noqa: E402

TARGET_RATIO = 2.0


def _hammer(job: tuple[str, int, str, list[str], int]) -> tuple[list[float], int]:
    """One client: `count` sequential requests over `paths`; returns latencies and failures."""
    host, port, cookie, paths, count = job
    latencies, failures = [], 0
    for i in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", paths[i % len(paths)], headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            response.read()
            failures += response.status != 200
        except OSError:
            failures += 1
        finally:
            conn.close()
        latencies.append(time.perf_counter() - started)
    return latencies, failures


def measure(
    pool: ProcessPool, stack, paths: list[str], requests: int, concurrency: int
) -> dict[str, float]:
    share = [
        requests // concurrency + (1 if n < requests % concurrency else 0)
        for n in range(concurrency)
    ]
    jobs = [
        (stack.host, stack.port, stack.session_cookie, paths[n:] + paths[:n], share[n])
        for n in range(concurrency)
    ]
    started = time.perf_counter()
    results = pool.map(_hammer, jobs)
    elapsed = time.perf_counter() - started
    latencies = sorted(lat for lats, _ in results for lat in lats)
    failures = sum(f for _, f in results)
    return {
        "rps": requests / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per URL (default 2000)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--runbooks", type=int, default=50)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if not (1 <= args.concurrency <= 64 and args.concurrency <= args.requests <= 100_000):
        parser.error("need 1 <= concurrency <= 64 and concurrency <= requests <= 100000")

    print(
        f"Setting up: {args.database}, seed_demo --runbooks {args.runbooks}, gunicorn 2 workers …",
        flush=True,
    )
    with running_stack(
        runbooks=args.runbooks, database=args.database, db_name="fixit_bench_page"
    ) as stack:
        slugs = _runbook_slugs(stack)
        pages = [f"/runbooks/{slug}/" for slug in slugs]
        status, body = stack.get(pages[0])
        if status != 200 or b"Document history" not in body:
            print(
                f"Runbook page did not render for the logged-in viewer (HTTP {status}).",
                file=sys.stderr,
            )
            return 1
        with Pool(args.concurrency) as pool:
            warm = max(args.concurrency * 5, 40)
            for urls in (["/bare/"], ["/bare-logged-in/"], pages):
                measure(pool, stack, urls, warm, args.concurrency)
            bare = measure(pool, stack, ["/bare/"], args.requests, args.concurrency)
            bare_login = measure(pool, stack, ["/bare-logged-in/"], args.requests, args.concurrency)
            page = measure(pool, stack, pages, args.requests, args.concurrency)

    rows = (("bare view", bare), ("bare + login", bare_login), ("runbook page", page))
    print(f"{'':14}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'failed':>8}")
    for name, row in rows:
        print(
            f"{name:14}{row['rps']:>10.1f}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['failures']:>8}"
        )
    for name, row in rows[:2]:
        ratio = row["rps"] / page["rps"]
        verdict = "within" if ratio <= TARGET_RATIO else "OUTSIDE"
        print(f"ratio {name}/runbook page: {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target)")
    print(
        f"{args.requests} requests each, {args.concurrency} concurrent clients, {len(pages)} runbook pages rotated"
    )
    return 0 if all(row["failures"] == 0 for _, row in rows) else 1


def _runbook_slugs(stack) -> list[str]:  # type: ignore[no-untyped-def]
    from bench._server import python

    out = python(
        stack.env,
        "import django; django.setup(); from runbooks.models import Runbook; "
        "print(' '.join(Runbook.objects.order_by('pk').values_list('slug', flat=True)))",
    )
    return out.split()


if __name__ == "__main__":
    raise SystemExit(main())
