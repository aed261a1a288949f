"""Import benchmark: 1,000 generated markdown runbooks into a fresh database (target: under 30 s).

    .venv/bin/python bench/import.py                # temp SQLite file
    .venv/bin/python bench/import.py --postgres     # PostgreSQL database fixit_bench_import (created, then dropped)

Prints the import time, files per second, and the time of a second (no-op) import.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "fixit_bench_import"

SECTIONS = (
    "Symptoms",
    "Impact",
    "Detection",
    "Diagnosis",
    "Resolution",
    "Verification",
    "Rollback",
    "Escalation",
)
SERVICES = (
    "checkout-api",
    "orders-db",
    "search-index",
    "auth-service",
    "edge-proxy",
    "kafka-cluster",
)


def write_library(folder: Path, count: int) -> None:
    rng = random.Random(1000)
    for n in range(count):
        team_dir = folder / f"team-{n % 10}"
        team_dir.mkdir(exist_ok=True)
        service = SERVICES[n % len(SERVICES)]
        alert = f"Bench{service.title().replace('-', '')}Alert{n}"
        parts = []
        if n % 2 == 0:
            parts.append(
                f"---\ntitle: {service} problem {n}\nseverity: P{n % 4}\ncategory: service\n"
                f"services: [{service}]\ntags: [bench, {service.split('-')[0]}]\nalerts: [{alert}Extra]\n---\n\n"
            )
        parts.append(
            f"# {alert}\n\n**Owner:** Team {n % 10}\n**Last Updated:** 2025-0{1 + n % 9}-1{n % 10}\n\n"
        )
        for section in SECTIONS:
            parts.append(f"## {section}\n\n")
            words = " ".join(
                rng.choice(("latency", "errors", "restart", "scale", "verify", "disk", "pods"))
                for _ in range(40)
            )
            parts.append(
                f"{words.capitalize()}.\n\n```bash\nkubectl -n {service} get pods | grep -v Running\n```\n\n"
            )
        if n > 0:
            parts.append(
                f"See also [the previous runbook](../team-{(n - 1) % 10}/runbook-{n - 1}.md).\n\n"
            )
        parts.append(
            "## Document history\n\n| Date | Trigger | Change summary | Reviewer |\n| --- | --- | --- | --- |\n"
            f"| 2024-05-0{1 + n % 9} | INC-2024-{n:04d} | Added the restart step | rhea |\n"
            f"| 2025-01-1{n % 10} | DR-{n:03d} | Drill passed | vera |\n"
        )
        (team_dir / f"runbook-{n}.md").write_text("".join(parts), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fixit-bench-import-") as tmp:
        tmp_path = Path(tmp)
        if args.postgres:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
                conn.execute(f"CREATE DATABASE {PG_DB}")
            os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
        os.environ["FIXIT_VAR_DIR"] = str(tmp_path / "var")
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-long-enough-for-the-start-up-check-x7Qm2Lp9")
        os.environ["DJANGO_SETTINGS_MODULE"] = "fixit_runbooks.settings"
        sys.path.insert(0, str(REPO))
        try:
            import django

            django.setup()
            from django.core.management import call_command
            from django.db import connections

            from runbooks.importing import import_directory
            from runbooks.models import HistoryEntry, Runbook

            call_command("migrate", verbosity=0)
            library = tmp_path / "library"
            library.mkdir()
            write_library(library, args.files)

            started = time.perf_counter()
            report = import_directory(library, progress=True)
            elapsed = time.perf_counter() - started
            started = time.perf_counter()
            again = import_directory(library)
            again_elapsed = time.perf_counter() - started

            engine = "PostgreSQL" if args.postgres else "SQLite"
            print(f"engine: {engine}")
            print(f"files: {args.files}  result: {report.summary_line()}")
            print(
                f"runbooks: {Runbook.objects.count()}  history entries: {HistoryEntry.objects.count()}"
            )
            print(
                f"import: {elapsed:.2f} s ({args.files / elapsed:.0f} files/s; target under 30 s)"
            )
            print(f"re-import (no changes): {again_elapsed:.2f} s ({again.summary_line()})")
            connections.close_all()
            return 0 if report.ok and len(report.created) == args.files else 1
        finally:
            if args.postgres:
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
