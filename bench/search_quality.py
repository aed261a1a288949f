"""Search quality on the real third-party corpus, on PostgreSQL and SQLite.

    .venv/bin/python bench/search_quality.py [--engine postgresql|sqlite]

Imports ../shared/corpus with the library's importer into a throw-away
database per engine, runs the query set in search/quality.py and prints the
hit rate (expected runbook in the top 3) and the mean reciprocal rank.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_common import REPO, run_per_engine, setup_django  # noqa: E402

CORPUS = REPO / ".." / "shared" / "corpus"


def worker(engine: str) -> None:
    setup_django()
    from search.engine import search
    from search.quality import QUERIES, evaluate, load_corpus

    count = load_corpus(CORPUS)
    report = evaluate(lambda q: [hit.runbook.slug for hit in search(q).hits])
    print(f"{engine:<10} {count} corpus runbooks, {len(QUERIES)} queries: {report.summary()}")
    for query, top in report.misses:
        print(f"  miss: {query!r} → top 3 {top}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    return run_per_engine(Path(__file__).resolve(), "fixit_bench_search_quality", args.engine or ["postgresql", "sqlite"], [])


if __name__ == "__main__":
    sys.exit(main())
