"""Search quality on the real third-party corpus, on PostgreSQL and SQLite.

    .venv/bin/python bench/search_quality.py [--engine postgresql|sqlite] [--misses] [--tuning-only]

Imports ../shared/corpus as one folder (so no runbook overwrites another) into
a throw-away database per engine, runs the query sets in search/quality.py
(fresh held-out, fresh tuning, old held-out, old tuning, the earlier 34) and
prints, per set, the hit rate (a right runbook in the top 3) and the mean
reciprocal rank. `--misses` lists the misses of the tuning material only: the
fresh held-out half prints its totals and nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_common import REPO, run_per_engine, setup_django  # noqa: E402

CORPUS = REPO / ".." / "shared" / "corpus"


def worker(engine: str, show_misses: bool, tuning_only: bool) -> None:
    setup_django()
    from search.quality import QUERY_SETS, REPORT_ONLY, evaluate, load_corpus, search_ranked

    count = load_corpus(CORPUS)
    print(f"{engine:<10} {count} corpus runbooks")
    for name, queries in QUERY_SETS.items():
        if tuning_only and name in REPORT_ONLY:
            continue
        report = evaluate(search_ranked, queries)
        print(f"  {name:<14} {len(queries):>3} queries: {report.summary()}")
        # The fresh held-out half is for reporting only: its misses are never shown, so they cannot steer tuning.
        if show_misses and name not in REPORT_ONLY:
            for query, top in report.misses:
                print(f"      miss: {query!r} → top 3 {top}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument(
        "--misses",
        action="store_true",
        help="list the misses of every set but the fresh held-out half",
    )
    parser.add_argument(
        "--tuning-only",
        action="store_true",
        help="leave out the fresh held-out half altogether (while tuning, not even its totals)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.misses, args.tuning_only)
        return 0
    extra = [
        flag for flag, on in (("--misses", args.misses), ("--tuning-only", args.tuning_only)) if on
    ]
    return run_per_engine(
        Path(__file__).resolve(),
        # Its own database name when several checkouts measure on one server.
        os.environ.get("SEARCH_QUALITY_DB", "fixit_search_quality"),
        args.engine or ["postgresql", "sqlite"],
        extra,
    )


if __name__ == "__main__":
    sys.exit(main())
