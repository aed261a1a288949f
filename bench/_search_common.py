"""Shared by the search benchmarks: run a worker function once per database engine.

Each engine gets its own throw-away database (a PostgreSQL database named for
the benchmark, created and dropped here; a temporary SQLite file) and its own
process, because Django reads DATABASE_URL once at start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def psql_admin(sql: str, *, missing_ok: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        try:
            conn.execute(sql)
        except psycopg.errors.DuplicateDatabase:
            if not missing_ok:
                raise


def run_per_engine(script: Path, db_name: str, engines: list[str], extra_args: list[str]) -> int:
    """Re-run `script --worker` once per engine against a fresh database; returns the worst exit code."""
    status = 0
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix=f"{db_name}-") as tmp:
            if engine == "postgresql":
                psql_admin(f'DROP DATABASE IF EXISTS "{db_name}"')
                psql_admin(f'CREATE DATABASE "{db_name}"')
                url = f"{POSTGRES_SERVER}/{db_name}"
            else:
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "DJANGO_SETTINGS_MODULE": "fixit_runbooks.test_settings",
                "FIXIT_VAR_DIR": tmp,
                "LOG_LEVEL": "WARNING",
            }
            try:
                result = subprocess.run(
                    [sys.executable, str(script), "--worker", engine, *extra_args],
                    cwd=REPO,
                    env=env,
                    check=False,
                )
                status = max(status, result.returncode)
            finally:
                if engine == "postgresql":
                    psql_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    return status


def setup_django() -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def planner_statistics() -> None:
    """Planner statistics as a running server has them, after a bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def seed_library(runbooks: int) -> None:
    """The demo library with `runbooks` runbooks, then fresh planner statistics."""
    from django.core.management import call_command

    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", runbooks=runbooks, verbosity=0, stdout=quiet)
    planner_statistics()
