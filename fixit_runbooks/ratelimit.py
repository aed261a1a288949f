"""Counting requests per person or address in the shared cache.

With REDIS_URL set every web node counts in the same Redis, so a limit holds
for the whole site, not per process. Fixed windows: cheap (one INCR a request)
and good enough to stop a flood; a burst at a window's edge can reach twice
the limit, which is still a bounded amount of work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.response import HttpResponseBase


def client_ip(request: HttpRequest) -> str:
    """The caller's address: from X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies vouch for it.

    Each trusted proxy appends the address it saw, so the entry that many
    places from the right was written by our outermost proxy; anything left of
    it came from the client and can be forged.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(scope: str, ident: str, window: int) -> str:
    return f"ratelimit:{scope}:{ident}:{int(time.time() // window)}"


def hit(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """Count one request; True while the count in this window is within ``limit``."""
    key = _key(scope, ident, window)
    if cache.add(key, 1, window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window + 1)
        count = 1
    return count <= limit


def count(scope: str, ident: str, *, window: int) -> int:
    return int(cache.get(_key(scope, ident, window)) or 0)


def seconds_left(window: int) -> int:
    return window - int(time.time()) % window


def rate_limited(
    scope: str, per_minute: Callable[[], int], what: str, methods: tuple[str, ...] = ("POST",)
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Refuse (429, with a message) a user's ``methods`` requests beyond ``per_minute()`` a minute.

    ``what`` names the action in the message ("previews", "saves").
    """

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in methods:
                ident = (
                    str(request.user.pk)
                    if request.user.is_authenticated
                    else f"ip-{client_ip(request)}"
                )
                limit = per_minute()
                if not hit(scope, ident, limit=limit, window=60):
                    message = f"Too many {what}: at most {limit} a minute. Wait {seconds_left(60)} seconds, then try again."
                    return too_many_requests(request, message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def too_many_requests(
    request: HttpRequest, message: str, retry_after: int | None = None
) -> HttpResponseBase:
    from .errors import error_response

    response = error_response(request, 429, "Slow down", message)
    response["Retry-After"] = str(retry_after if retry_after is not None else seconds_left(60))
    return response
