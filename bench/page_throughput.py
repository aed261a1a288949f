"""Runbook page throughput against a bare Django view, both under the same gunicorn.

Target: the runbook page, for a logged-in viewer, within 1.5x of a bare view
behind the same login. The script builds its own stack (temporary SQLite file,
or PostgreSQL database `fixit_bench_page` with --database postgres), seeds
`seed_demo --runbooks 10000`, starts gunicorn (2 workers) on a free loopback
port with Redis as the cache (--redis-url, default $REDIS_URL or the local
Redis; a fresh key prefix per run, so the cache starts cold), logs a viewer in
and sends a bounded number of requests to each URL from concurrent client
processes, each with the session and CSRF cookies a logged-in browser has
(the page's forms reuse the CSRF cookie's secret). Runbook pages are drawn at random from the whole library. The first
pass (cold cache) is reported separately; the page figure that counts is the
warm rounds over new random draws, each round timing the bare views and
the page in turn (medians printed). The warm pages are drawn before the
cold pass, which visits each of them once (`--cold-pass all`: the whole
library, as before; the warm figures are the same, the run five times longer).
On PostgreSQL the server runs with DATABASE_PREPARED_STATEMENTS on (the page
row prepared once per connection), as a deployment without a transaction-mode
pooler would; `--prepared-statements off` measures Django's default.
Everything is removed afterwards.

    .venv/bin/python bench/page_throughput.py [--requests 2000] [--concurrency 8]
        [--runbooks 10000] [--database sqlite|postgres] [--redis-url redis://HOST:PORT/DB]
        [--seed N] [--cold-pass drawn|all] [--prepared-statements on|off]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import statistics
import string
import sys
import time
from multiprocessing import Pool
from multiprocessing.pool import Pool as ProcessPool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import running_stack  # noqa: E402

TARGET_RATIO = 1.5
# A CSRF cookie's secret (32 letters and digits), sent with every request as a browser would.
CSRF_SECRET = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
ROW_NAMES = ("bare view", "bare + login", "runbook page")


def _hammer(job: tuple[str, int, str, list[str], int]) -> tuple[list[float], int]:
    """One client: `count` sequential requests over `paths`; returns latencies and failures."""
    host, port, cookies, paths, count = job
    latencies, failures = [], 0
    for i in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", paths[i % len(paths)], headers={"Cookie": cookies})
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
    # As a logged-in browser: the session, and the CSRF cookie the login form set.
    cookies = f"sessionid={stack.session_cookie}; csrftoken={CSRF_SECRET}"
    # Client n takes every n-th path, so a list of random draws is shared out without repeats.
    jobs = [
        (stack.host, stack.port, cookies, paths[n::concurrency] or paths, share[n])
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
        "--requests",
        type=int,
        default=2000,
        help="warm requests per URL, over all rounds (default 2000)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--runbooks", type=int, default=10_000, help="library size (default 10000)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis for the cache (default $REDIS_URL or the local Redis, database 0)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="warm rounds (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the page draws")
    parser.add_argument(
        "--cold-pass",
        choices=["drawn", "all"],
        default="drawn",
        help="cold pass over the pages the warm rounds draw (default; same warm figures, "
        "a fifth of the time at 10,000 runbooks) or over the whole library",
    )
    parser.add_argument(
        "--prepared-statements",
        choices=["on", "off"],
        default="on",
        help="DATABASE_PREPARED_STATEMENTS for the server (PostgreSQL only; default on)",
    )
    args = parser.parse_args()
    if not (1 <= args.rounds <= 50):
        parser.error("need 1 <= rounds <= 50")
    if not (1 <= args.concurrency <= 64 and args.concurrency <= args.requests <= 100_000):
        parser.error("need 1 <= concurrency <= 64 and concurrency <= requests <= 100000")

    prepared = args.database == "postgres" and args.prepared_statements == "on"
    print(
        f"Setting up: {args.database}"
        f"{', prepared statements' if prepared else ''}, seed_demo --runbooks {args.runbooks}, "
        "gunicorn 2 workers, Redis cache …",
        flush=True,
    )
    draw = random.Random(args.seed)
    cache_env = {
        "REDIS_URL": args.redis_url,
        "CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        "DATABASE_PREPARED_STATEMENTS": "1" if prepared else "0",
    }
    with running_stack(
        runbooks=args.runbooks,
        database=args.database,
        db_name="fixit_bench_page",
        extra_env=cache_env,
    ) as stack:
        slugs = _runbook_slugs(stack)
        library = [f"/runbooks/{slug}/" for slug in slugs]
        status, body = stack.get(library[0])
        if status != 200 or b"Document history" not in body:
            print(
                f"Runbook page did not render for the logged-in viewer (HTTP {status}).",
                file=sys.stderr,
            )
            return 1
        with Pool(args.concurrency) as pool:
            warm = max(args.concurrency * 5, 40)
            for urls in (["/bare/"], ["/bare-logged-in/"]):
                measure(pool, stack, urls, warm, args.concurrency)
            # The warm rounds' pages, drawn at random from the whole library up front.
            per_round = max(args.requests // args.rounds, args.concurrency)
            draws = [[draw.choice(library) for _ in range(per_round)] for _ in range(args.rounds)]
            drawn = {page for pages in draws for page in pages}
            # Cold: every page the warm rounds will draw, once, in random order (fills
            # the shared cache); with --cold-pass all, every page of the library.
            cold_pages = list(library) if args.cold_pass == "all" else sorted(drawn)
            draw.shuffle(cold_pages)
            cold = measure(pool, stack, cold_pages, len(cold_pages), args.concurrency)
            # Warm: rounds that alternate the three URLs, so a load spike from
            # whatever else runs on the machine hits them alike; medians reported.
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in ROW_NAMES}
            ratios: list[float] = []
            for pages in draws:
                for name, urls in zip(
                    ROW_NAMES, (["/bare/"], ["/bare-logged-in/"], pages), strict=True
                ):
                    rounds[name].append(measure(pool, stack, urls, per_round, args.concurrency))
                ratios.append(rounds["bare + login"][-1]["rps"] / rounds["runbook page"][-1]["rps"])

    rows = [(name, _median_row(results)) for name, results in rounds.items()]
    rows.insert(2, ("page, cold", cold))
    print(f"{'':14}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'failed':>8}")
    for name, row in rows:
        print(
            f"{name:14}{row['rps']:>10.1f}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['failures']:>8}"
        )
    page = dict(rows)["runbook page"]
    ratio = statistics.median(ratios)
    verdict = "within" if ratio <= TARGET_RATIO else "OUTSIDE"
    print(
        f"ratio bare + login/runbook page: {ratio:.2f}x, median of {args.rounds} rounds "
        f"({', '.join(f'{r:.2f}' for r in ratios)}) ({verdict} the {TARGET_RATIO:g}x target)"
    )
    print(f"ratio bare view/runbook page: {dict(rows)['bare view']['rps'] / page['rps']:.2f}x")
    print(
        f"ratio bare + login/page, cold: {dict(rows)['bare + login']['rps'] / cold['rps']:.2f}x "
        "(first view of each page)"
    )
    print(
        f"{per_round} requests per URL per round, {args.concurrency} concurrent clients; runbook pages "
        f"drawn at random from {len(library)} ({len(drawn)} distinct), after one cold pass over "
        f"{len(cold_pages)} pages"
    )
    return 0 if all(row["failures"] == 0 for _, row in rows) else 1


def _median_row(results: list[dict[str, float]]) -> dict[str, float]:
    return {
        "rps": statistics.median(r["rps"] for r in results),
        "p50_ms": statistics.median(r["p50_ms"] for r in results),
        "p95_ms": statistics.median(r["p95_ms"] for r in results),
        "failures": sum(r["failures"] for r in results),
    }


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
