"""Search page against django-wiki's, on the same 2,000-page library.

    .venv/bin/python bench/wiki_compare.py [--pages 2000] [--engine sqlite|postgresql] [--rounds 5]

django-wiki 0.13 (`pip install wiki==0.13`) is the peer: a Django wiki whose
search page filters every article's current revision with `icontains`. This
script:

1. seeds our demo library with `--pages` runbooks (kept between runs:
   PostgreSQL `fixit_wiki_compare_<N>`, SQLite `var/bench/wiki-compare-<N>.sqlite3`)
   and writes each runbook's title and Markdown to `var/bench/wiki-pages-<N>.json`;
2. times our search page, `GET /search/?q=…`, in-process as a logged-in viewer;
3. installs django-wiki into its own virtualenv (`var/bench/wiki-venv`, once),
   loads the same pages as wiki articles into a database of its own on the
   same engine, and times its search page, `GET /_search/?q=…`, in-process as
   a logged-in reader.

Both sides answer the same queries (bench/search.py's list: incident words,
broad queries, typos, zero-hit queries) after one warm-up pass, and the script
prints each side's p50 and p95 and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_common import (  # noqa: E402
    POSTGRES_SERVER,
    REPO,
    percentile,
    planner_statistics,
    psql_admin,
    seed_library,
    setup_django,
)


def _search_bench_queries() -> list[str]:
    """bench/search.py's query list, loaded by path: `search` is also the project's app."""
    spec = importlib.util.spec_from_file_location(
        "search_bench", Path(__file__).with_name("search.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.QUERIES)


QUERIES = _search_bench_queries()

VAR = REPO / "var" / "bench"
WIKI_VENV = VAR / "wiki-venv"
WIKI_REQUIREMENT = "wiki==0.13"


def timed(get: Any, path: str, rounds: int) -> list[float]:
    """Milliseconds per request, after one warm-up pass over the queries."""
    for q in QUERIES:
        assert get(path, {"q": q}).status_code == 200, q
    samples: list[float] = []
    for _ in range(rounds):
        for q in QUERIES:
            started = time.perf_counter()
            response = get(path, {"q": q})
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (q, response.status_code)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95)}


def ours(pages: int, rounds: int, export: Path) -> None:
    """Worker in this project's environment: seed, export the pages, time /search/."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django.test import Client

    from runbooks.models import Runbook

    if Runbook.objects.count() < pages:
        seed_library(pages)
    library = list(
        Runbook.objects.order_by("id").values("slug", "title", body=F("current_revision__body"))[
            :pages
        ]
    )
    export.write_text(json.dumps(library))
    client = Client()
    client.force_login(get_user_model().objects.get(username="vera.viewer"))
    print(json.dumps({"pages": len(library), **summary(timed(client.get, "/search/", rounds))}))


def wiki(database_url: str, rounds: int, export: Path) -> None:
    """Worker in django-wiki's environment: load the same pages, time its search page."""
    import django
    from django.conf import settings

    urls = types.ModuleType("wiki_bench_urls")
    sys.modules[urls.__name__] = urls
    if database_url.startswith("sqlite:///"):
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": database_url[len("sqlite:///") :],
        }
    else:
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database_url.rsplit("/", 1)[1],
            "HOST": "127.0.0.1",
            "USER": "postgres",
        }
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        SITE_ID=1,
        ROOT_URLCONF=urls.__name__,
        DATABASES={"default": database},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.sites",
            "django.contrib.messages",
            "django.contrib.humanize",
            "django.contrib.staticfiles",
            "django_nyt",
            "mptt",
            "sekizai",
            "sorl.thumbnail",
            "wiki",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.contrib.auth.context_processors.auth",
                        "django.template.context_processors.request",
                        "django.template.context_processors.static",
                        "django.contrib.messages.context_processors.messages",
                        "sekizai.context_processors.sekizai",
                    ]
                },
            }
        ],
        STATIC_URL="/static/",
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client
    from django.urls import include, path
    from wiki.models import URLPath

    urls.urlpatterns = [path("", include("wiki.urls"))]  # type: ignore[attr-defined]
    call_command("migrate", verbosity=0)
    library = json.loads(export.read_text())
    if not URLPath.objects.exists():
        with transaction.atomic():
            root = URLPath.create_root(title="Runbooks", content="All runbooks.")
            for number, page in enumerate(library):
                URLPath.create_urlpath(
                    root, f"page-{number}", title=page["title"], content=page["body"]
                )
        planner_statistics()
    reader, _ = get_user_model().objects.get_or_create(username="reader")
    client = Client()
    client.force_login(reader)
    pages = URLPath.objects.count() - 1
    print(json.dumps({"pages": pages, **summary(timed(client.get, "/_search/", rounds))}))


def ensure_wiki_venv() -> Path:
    python = WIKI_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(WIKI_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", WIKI_REQUIREMENT, "psycopg[binary]"],
            check=True,
        )
    return python


def database(name: str, engine: str) -> str:
    if engine == "postgresql":
        psql_admin(f'CREATE DATABASE "{name}"', missing_ok=True)
        return f"{POSTGRES_SERVER}/{name}"
    return f"sqlite:///{VAR / (name.replace('_', '-') + '.sqlite3')}"


def run_worker(
    python: Path | str, role: str, database_url: str, args: argparse.Namespace
) -> dict[str, float]:
    export = VAR / f"wiki-pages-{args.pages}.json"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "fixit_runbooks.test_settings",
        "FIXIT_VAR_DIR": str(VAR),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--worker",
        role,
        "--export",
        str(export),
    ]
    command += ["--pages", str(args.pages), "--rounds", str(args.rounds)]
    result = subprocess.run(
        command, cwd=REPO, env=env, check=True, stdout=subprocess.PIPE, text=True
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--worker", choices=["ours", "wiki"], help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "ours":
        ours(args.pages, args.rounds, args.export)
        return 0
    if args.worker == "wiki":
        wiki(os.environ["DATABASE_URL"], args.rounds, args.export)
        return 0
    VAR.mkdir(parents=True, exist_ok=True)
    ours_figures = run_worker(
        sys.executable, "ours", database(f"fixit_wiki_compare_{args.pages}", args.engine), args
    )
    wiki_figures = run_worker(
        ensure_wiki_venv(), "wiki", database(f"fixit_wiki_peer_{args.pages}", args.engine), args
    )
    print(f"{args.engine}, {len(QUERIES)} queries x {args.rounds} rounds, logged in, in-process")
    for label, figures in (
        ("FixIt  GET /search/", ours_figures),
        ("django-wiki GET /_search/", wiki_figures),
    ):
        print(
            f"  {label:<26} {int(figures['pages'])} pages  p50 {figures['p50']:7.1f} ms   p95 {figures['p95']:7.1f} ms"
        )
    print(f"  django-wiki p50 / FixIt p50: {wiki_figures['p50'] / ours_figures['p50']:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
