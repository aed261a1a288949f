"""Mixed load: many concurrent people reading, searching, following checklists and editing.

Target (DESIGN.md): 50 concurrent clients for 60 s, reads and writes mixed, 0
errors on PostgreSQL and on SQLite. The script builds its own stack (see
bench/_server.py) behind gunicorn with gthread workers on a free loopback
port, seeds the demo library, opens an incident with a runbook attached, and
runs the clients for a bounded time:

- viewers: runbook pages, the index and searches, chosen at random;
- on-call engineers: tick checklist steps of the open incident;
- one editor: saves a new revision of a runbook every few seconds.

Every answer other than the expected one (200, or 302 after a save) counts as
an error. It prints the request count, the errors and p50/p95 per kind.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--database sqlite|postgres] [--redis URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import Stack, python, running_stack  # noqa: E402

SEARCHES = (
    "latency",
    "disk full",
    "KubePodCrashLooping",
    "certificate expiry",
    "rollback",
    "queue backlog",
    "zzzz",
)
EDIT_EVERY_SECONDS = 4.0
# Past 2 cores, more processes only queue; threads cover waits on the database and Redis.
GUNICORN = ("--worker-class", "gthread", "--threads", "8")

SETUP = """
import django, json; django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from incidents.models import Incident
from runbooks.models import Runbook
User = get_user_model()
def session(username):
    c = Client(); c.force_login(User.objects.get(username=username)); return c.cookies["sessionid"].value
slugs = list(Runbook.objects.order_by("slug").values_list("slug", flat=True))
from incidents.checklist import parse_steps
with_steps = next(r for r in Runbook.objects.select_related("current_revision") if len(parse_steps(r.current_revision.body)) >= 3)
oncall = User.objects.get(username="omar.oncall")
incident = Incident.open_incident(by=oncall, title="Load test incident", severity="P2")
incident.attach_runbook(with_steps, by=oncall)
print(json.dumps({
    "slugs": slugs, "incident": incident.number, "checklist": with_steps.slug,
    "steps": [step.key for step in parse_steps(with_steps.current_revision.body)], "edited": slugs[0],
    "viewer": session("vera.viewer"), "oncall": session("omar.oncall"), "editor": session("eddie.editor"),
}))
"""


class FormFields(HTMLParser):
    """The fields a browser would post for the first form with a textarea (the editor)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = self.done = self.has_textarea = False
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done:
            self.in_form, self.fields, self.has_textarea = True, {}, False
        if not self.in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.fields[self.textarea or ""] = ""
            self.has_textarea = True
        elif tag == "select":
            self.select = a.get("name")
        elif (
            tag == "option" and self.select and (self.select not in self.fields or "selected" in a)
        ):
            self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "form" and self.in_form:
            self.in_form = False
            self.done = self.has_textarea

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def record(self, kind: str, started: float, ok: bool, detail: str) -> None:
        with self.lock:
            self.latencies[kind].append(time.perf_counter() - started)
            if not ok:
                self.errors.append(f"{kind}: {detail}")


def _session(stack: Stack, sessionid: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set("sessionid", sessionid)
    return session


def _timed(
    results: Results, kind: str, call: Any, expected: tuple[int, ...] = (200,)
) -> requests.Response | None:
    started = time.perf_counter()
    try:
        response = call()
    except requests.RequestException as exc:
        results.record(kind, started, False, f"{type(exc).__name__}: {str(exc)[:150]}")
        return None
    results.record(kind, started, response.status_code in expected, str(response.status_code))
    return response


def viewer(
    base: str, stack: Stack, info: dict[str, Any], deadline: float, results: Results, seed: int
) -> None:
    rng, session = random.Random(seed), _session(stack, info["viewer"])
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.45:
            _timed(
                results,
                "runbook page",
                lambda: session.get(f"{base}/runbooks/{rng.choice(info['slugs'])}/", timeout=30),
            )
        elif roll < 0.80:
            query = rng.choice(SEARCHES)
            _timed(
                results,
                "search",
                lambda query=query: session.get(f"{base}/search/", params={"q": query}, timeout=30),
            )
        else:
            _timed(results, "index", lambda: session.get(f"{base}/", timeout=30))


def _csrf(session: requests.Session, base: str, url: str) -> str:
    session.get(url, timeout=30)
    return session.cookies.get("csrftoken") or ""


def oncall(
    base: str, stack: Stack, info: dict[str, Any], deadline: float, results: Results, seed: int
) -> None:
    rng, session = random.Random(seed), _session(stack, info["oncall"])
    checklist = f"{base}/incidents/{info['incident']}/runbooks/{info['checklist']}/"
    token = _csrf(session, base, checklist)
    while time.monotonic() < deadline:
        data = {
            # Forms send a step's key (its identity in the pinned revision), never its position.
            "step": rng.choice(info["steps"]),
            "state": rng.choice(["done", "skipped"]),
            "csrfmiddlewaretoken": token,
        }
        _timed(
            results,
            "checklist step",
            lambda data=data: session.post(
                f"{checklist}steps/", data, timeout=30, allow_redirects=False
            ),
            expected=(302,),
        )
        time.sleep(rng.uniform(0.5, 1.5))  # a person reads the step before ticking the next


def editor(
    base: str, stack: Stack, info: dict[str, Any], deadline: float, results: Results, seed: int
) -> None:
    session, n = _session(stack, info["editor"]), 0
    url = f"{base}/runbooks/{info['edited']}/edit/"
    while time.monotonic() < deadline:
        page = _timed(results, "edit form", lambda: session.get(url, timeout=30))
        if page is not None and page.ok:
            parser = FormFields()
            parser.feed(page.text)
            fields = parser.fields
            n += 1
            fields["body"] = (
                fields.get("body", "").replace("\r\n", "\n").rstrip() + f"\n\nLoad note {n}.\n"
            )
            fields["change_summary"] = f"Load edit {n}"
            _timed(
                results,
                "save",
                lambda fields=fields: session.post(url, fields, timeout=30, allow_redirects=False),
                expected=(302,),
            )
        time.sleep(EDIT_EVERY_SECONDS)


def run(stack: Stack, clients: int, seconds: float) -> tuple[Results, float]:
    info = json.loads(python(stack.env, SETUP).splitlines()[-1])
    base = f"http://{stack.host}:{stack.port}"
    results = Results()
    deadline = time.monotonic() + seconds
    roles = (
        [editor]
        + [oncall] * max(1, clients // 10)
        + [viewer] * (clients - 1 - max(1, clients // 10))
    )
    threads = [
        threading.Thread(
            target=role, args=(base, stack, info, deadline, results, seed), daemon=True
        )
        for seed, role in enumerate(roles)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return results, time.perf_counter() - started


def report(results: Results, elapsed: float, label: str) -> None:
    total = sum(len(values) for values in results.latencies.values())
    every = [value for values in results.latencies.values() for value in values]
    print(
        f"\n{label}: {total} requests in {elapsed:.0f} s ({total / elapsed:.0f} req/s), {len(results.errors)} errors"
    )
    for kind, values in sorted(results.latencies.items()):
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1] if len(values) > 1 else values[0]
        print(
            f"  {kind:<15} n={len(values):<6} p50={statistics.median(values) * 1000:7.0f} ms  p95={p95 * 1000:7.0f} ms"
        )
    every.sort()
    print(f"  {'all':<15} n={len(every):<6} p95={every[int(len(every) * 0.95) - 1] * 1000:7.0f} ms")
    for error in results.errors[:10]:
        print(f"  error: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runbooks", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--redis", default="", help="REDIS_URL for the cache (shared-cache deployments)"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # Plain HTTP on loopback: cookies must not be marked Secure or the clients would drop them.
    extra_env = {"CSRF_COOKIE_SECURE": "0", "SESSION_COOKIE_SECURE": "0"}
    if args.redis:
        extra_env.update(REDIS_URL=args.redis, CACHE_KEY_PREFIX="bench-load")
    with running_stack(
        runbooks=args.runbooks,
        database=args.database,
        db_name="fixit_bench_load",
        workers=args.workers,
        gunicorn_args=GUNICORN,
        extra_env=extra_env,
    ) as stack:
        results, elapsed = run(stack, args.clients, args.seconds)
    report(
        results,
        elapsed,
        f"{args.database}, {args.clients} clients, gunicorn {args.workers} workers x 8 threads",
    )
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
