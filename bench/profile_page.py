"""Where a warm runbook page request spends its time, by cProfile, in one process.

Builds a throwaway SQLite library (`seed_demo --runbooks N`, default 300) in a
temporary directory, logs the demo viewer in through Django's test client,
visits every page once (so the cache is warm, as in the throughput bench) and
then profiles `--requests` page views drawn at random. With --redis-url the
cache is Redis (a fresh key prefix), otherwise local memory. With
--database-url the library is that database, already migrated and seeded (a
PostgreSQL library of 10,000 takes minutes to seed; the script writes only
sessions to it) and only the drawn pages are visited before the profile.

    .venv/bin/python bench/profile_page.py [--runbooks 300] [--requests 500] [--redis-url redis://HOST:PORT/DB]
        [--database-url postgres://USER@HOST:PORT/NAME]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runbooks", type=int, default=300)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    parser.add_argument(
        "--database-url", default="", help="an existing, seeded library (default: a new SQLite file)"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="fixit-profile-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "ALLOWED_HOSTS": "testserver",
            "FIXIT_VAR_DIR": str(tmp),
            "LOG_LEVEL": "WARNING",
            "CACHE_KEY_PREFIX": f"profile-{secrets.token_hex(4)}",
        }
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        settings.STORAGES["staticfiles"]["BACKEND"] = (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
        if not args.database_url:
            call_command("migrate", verbosity=0)
            call_command("seed_demo", runbooks=args.runbooks, verbosity=0)
        from runbooks.models import Runbook

        client = Client()
        client.force_login(get_user_model().objects.get(username="vera.viewer"))
        pages = [f"/runbooks/{slug}/" for slug in Runbook.objects.values_list("slug", flat=True)]
        draws = [random.choice(pages) for _ in range(args.requests)]
        for page in sorted(set(draws)) if args.database_url else pages:
            assert client.get(page).status_code == 200, page

        def timed(paths: list[str]) -> float:
            started = time.perf_counter()
            for path in paths:
                client.get(path)
            return (time.perf_counter() - started) / len(paths) * 1000

        bare_ms = timed(["/bare-logged-in/"] * args.requests)
        page_ms = timed(draws)
        profiler = cProfile.Profile()
        profiler.enable()
        for path in draws:
            client.get(path)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        print(
            f"warm, in-process: bare + login {bare_ms:.2f} ms, runbook page {page_ms:.2f} ms "
            f"({page_ms / bare_ms:.2f}x) over {args.requests} random pages of {len(pages)}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
