"""/healthz: is each part of the stack reachable, answered within a second whatever is down.

Each component is checked in a worker thread with a short timeout, at most one
check per component at a time, and the answer is kept for HEALTH_CACHE_SECONDS
in this process (not in Redis, which may be the thing that is down). A check
that has not answered in time counts as degraded; a hung one is not started
again until it returns. Anonymous callers learn ok/degraded per component;
only admins see vendors, transports and error messages, which name hosts.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from runbooks.roles import ADMIN, has_role

from .celery import app as celery_app

_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")
_lock = threading.Lock()
_running: dict[str, Future[dict[str, Any]]] = {}
_answer: tuple[float, dict[str, Any]] | None = None


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down" for a health check
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)[:200]}
    finally:
        # This runs in a pool thread: never keep a connection open there.
        connections.close_all()
    return {"ok": True, "vendor": connection.vendor}


def broker_url() -> str:
    return str(celery_app.conf.broker_url)


def check_broker() -> dict[str, Any]:
    url = broker_url()
    transport = url.split("://", 1)[0]
    timeout = settings.HEALTH_CHECK_TIMEOUT
    try:
        if transport == "filesystem":
            folder = celery_app.conf.broker_transport_options.get("data_folder_in", "")
            if not os.access(folder, os.W_OK):
                raise OSError(f"broker folder {folder} is not writable")
        elif transport in ("redis", "rediss"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
        else:
            with celery_app.connection_for_write(connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu and redis raise many types; all mean unreachable
        return {"ok": False, "transport": transport, "error": str(exc)[:200]}
    return {"ok": True, "transport": transport}


def check_cache() -> dict[str, Any]:
    location = urlsplit(str(settings.CACHES["default"].get("LOCATION", "")))
    backend = "redis" if settings.SHARED_CACHE else "local memory"
    try:
        cache.set("healthz", "ok", 10)
        if cache.get("healthz") != "ok":
            raise RuntimeError("a value written to the cache could not be read back")
    except Exception as exc:  # the Redis client raises many types; all mean unreachable
        return {"ok": False, "backend": backend, "error": f"{location.hostname}: {str(exc)[:200]}"}
    return {"ok": True, "backend": backend}


def _checks() -> dict[str, Callable[[], dict[str, Any]]]:
    # Looked up at call time, so a test can replace one check.
    checks = {"database": check_database, "broker": check_broker}
    if settings.SHARED_CACHE:
        checks["cache"] = check_cache
    return checks


def check_all() -> dict[str, Any]:
    """Every component's result, waiting at most HEALTH_CHECK_TIMEOUT (plus a little) in all."""
    global _answer
    now = time.monotonic()
    with _lock:
        if _answer is not None and now - _answer[0] < settings.HEALTH_CACHE_SECONDS:
            return _answer[1]
        futures = {}
        for name, check in _checks().items():
            running = _running.get(name)
            if running is None or running.done():
                running = _running[name] = _executor.submit(check)
            futures[name] = running
    deadline = now + settings.HEALTH_CHECK_TIMEOUT + 0.1
    results: dict[str, Any] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(deadline - time.monotonic(), 0))
        except FutureTimeout:
            results[name] = {
                "ok": False,
                "error": f"no answer within {settings.HEALTH_CHECK_TIMEOUT} s",
            }
    # The broker and cache only delay background work or slow pages: the site is up without them.
    answer = {"ok": all(result["ok"] for result in results.values()), **results}
    with _lock:
        _answer = (time.monotonic(), answer)
    return answer


def forget() -> None:
    """Drop the kept answer (tests, and after a deploy step that fixed something)."""
    global _answer
    with _lock:
        _answer = None


def public_view(status: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: ok or degraded per component, no hosts, ports or messages."""
    components = {
        name: {"ok": result["ok"], "status": "ok" if result["ok"] else "degraded"}
        for name, result in status.items()
        if isinstance(result, dict)
    }
    return {"ok": status["ok"], "status": "ok" if status["ok"] else "degraded", **components}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    status = check_all()
    body = public_view(status)
    if request.user.is_authenticated and (request.user.is_staff or has_role(request.user, ADMIN)):
        body = {
            **body,
            "details": {
                name: result for name, result in status.items() if isinstance(result, dict)
            },
        }
    # The web app serves pages without the broker or a cache; without the database it cannot.
    return JsonResponse(body, status=200 if status["database"]["ok"] else 503)
