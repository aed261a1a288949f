"""The runbook page, served whole from one cache entry.

The entry is keyed by the slug and the alert-label digest, so it can be asked
for before the runbook row is read: its read is sent to Redis, the row is read
from the database meanwhile, and the answer is taken after (one round trip's
wait instead of two in a row). It holds, per set of the viewer's role flags,
the complete HTML document, site header included, with the
`Runbook.page_cache_key()` it was rendered for: a variant whose stamp is not
the row's own (any write changes it) is never served. A warm view runs no
template: it swaps the per-request holes in the stored document.

Stored with each variant, and checked on every view:
- the contacts version (contacts writers bump it), read in the same round
  trip as the entry, so a contacts change shows on the next view;
- the review state the page was rendered in: the badge and the review panel
  move with the clock, not only with writes, so another state renders afresh
  (state only moves forward in time, so a state read before the render never
  vouches for a later one).

Per-request holes (`{% perrequest %}` in the templates): the CSRF token, the
viewer's name, the watch button (both variants are stored) and messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from django.contrib.messages import get_messages
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape

from alerting.fill import AlertLabels
from contacts.models import CACHE_VERSION_KEY as CONTACTS_VERSION_KEY

from .models import Runbook
from .roles import ADMIN, EDITOR, REVIEWER, has_role
from .templatetags.runbook_cache import FILLING, csrf_standin, hole_marker

PAGE_TIMEOUT = 60 * 60
TEMPLATE = "runbooks/detail.html"
WATCH_TEMPLATE = "notifications/_watch_button.html"
MESSAGES_TEMPLATE = "_messages.html"
# Entries that other writers bump: stored with the page, read with it.
VERSION_KEYS = (CONTACTS_VERSION_KEY,)


def entry_key(slug: str, labels: AlertLabels) -> str:
    return ":".join(["runbook-page", slug, "page", labels.cache_part])


def _start_get_many(keys: list[str]) -> Callable[[], dict[str, Any]]:
    """Send a read of `keys` now; the returned function waits for the answer.

    With Redis, the MGET is written to a pooled connection at once and its
    answer read when asked for, so the server works while the caller does.
    Any other cache (or a Redis connection that fails) reads when asked for.
    """
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return lambda: backend.get_many(keys)
    client_side: Any = backend._cache  # type: ignore[attr-defined]  # Django's own Redis client wrapper
    made = [backend.make_and_validate_key(key) for key in keys]
    pool = client_side.get_client(None).connection_pool
    conn = pool.get_connection()
    try:
        conn.send_command("MGET", *made)
    except Exception:
        conn.disconnect()
        pool.release(conn)
        return lambda: backend.get_many(keys)

    def finish() -> dict[str, Any]:
        try:
            values = conn.read_response()
        except Exception:
            # Nothing half-read stays on a pooled connection; Django's client retries.
            conn.disconnect()
            return backend.get_many(keys)
        finally:
            pool.release(conn)
        loads = client_side._serializer.loads
        return {key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None}

    return finish


class PageRead:
    """The page's cache entry and the versions, asked for before the runbook row is read.

    Use as a context manager around the row's read: leaving it reads the
    answer if nobody did (a 403 or 404 page), so the connection goes back clean.
    """

    def __init__(self, request: HttpRequest, slug: str):
        # The labels `{% alert_labels %}` reads for the page (QueryDict.items(): last value per name).
        query: Any = request.GET
        self.key = entry_key(slug, AlertLabels.from_pairs(query.items()))
        self._finish: Callable[[], dict[str, Any]] | None = _start_get_many([self.key, *VERSION_KEYS])
        self._found: dict[str, Any] = {}

    def _collect(self) -> None:
        """Take Redis's answer, once."""
        if self._finish is not None:
            finish, self._finish = self._finish, None
            self._found = finish()

    def result(self) -> tuple[Any, list[Any]]:
        """The entry and the current versions."""
        self._collect()
        found = self._found
        missing = [name for name in VERSION_KEYS if found.get(name) is None]
        if missing:
            # A missing version starts at a fresh value (as its owner would), never an old one.
            for name in missing:
                cache.add(name, time.time_ns(), None)
            found.update(cache.get_many(missing))
        return found.get(self.key), [found.get(name) for name in VERSION_KEYS]

    def __enter__(self) -> PageRead:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._collect()
        except Exception:
            if kind is None:
                raise


def render_page(
    request: HttpRequest,
    runbook: Runbook,
    read: PageRead,
    fill_context: Callable[[], dict[str, Any]],
) -> str:
    """The runbook page for this request; `fill_context` is called only when the entry is cold.

    `runbook` is the page row (`with_page_stamp`, `with_watched_by` the viewer),
    `read` the page's entry asked for by its slug.
    """
    user: Any = request.user
    flags = (has_role(user, EDITOR), has_role(user, REVIEWER), has_role(user, ADMIN))
    stamp = runbook.page_cache_key()
    state = runbook.review_state()
    entry, versions = read.result()
    variants = entry if isinstance(entry, dict) else {}
    variant = variants.get(flags)
    if (
        isinstance(variant, tuple)
        and len(variant) == 5
        and variant[0] == stamp
        and variant[1] == versions
        and variant[2] == state
    ):
        html, watch = variant[3], variant[4]
    else:
        # Versions and state read before rendering: a change meanwhile leaves a mismatch.
        html, watch = _render_for_cache(request, runbook, flags, fill_context)
        # Other roles' variants of this same row stay; older rows' go. Two views
        # storing at once may drop each other's variant: it renders again, never stale.
        kept = {
            other: value
            for other, value in variants.items()
            if other != flags and isinstance(value, tuple) and value[:1] == (stamp,)
        }
        kept[flags] = (stamp, versions, state, html, watch)
        cache.set(read.key, kept, PAGE_TIMEOUT)
    return _fill_holes(request, html, watch[bool(getattr(runbook, "watched_by_viewer", False))])


def _render_for_cache(
    request: HttpRequest,
    runbook: Runbook,
    flags: tuple[bool, ...],
    fill_context: Callable[[], dict[str, Any]],
) -> tuple[str, tuple[str, str]]:
    can_edit, can_review, is_admin = flags
    context = {
        **fill_context(),
        "page_cache_key": runbook.page_cache_key(),
        # The role flags the key was made with, whatever the context processor reads.
        "can_edit": can_edit,
        "can_review": can_review,
        "is_admin": is_admin,
        "csrf_token": csrf_standin(),
        FILLING: True,
    }
    html = render_to_string(TEMPLATE, context, request)
    watch = tuple(
        render_to_string(
            WATCH_TEMPLATE,
            {"runbook": runbook, "watching": watching, "csrf_token": csrf_standin()},
        )
        for watching in (False, True)
    )
    return html, (watch[0], watch[1])


def _fill_holes(request: HttpRequest, html: str, watch_button: str) -> str:
    user: Any = request.user
    storage = get_messages(request)
    holes = {
        "watch": watch_button,
        "username": escape(user.get_username()),
        # Rendering the messages marks them shown; with none, nothing to render.
        "messages": render_to_string(MESSAGES_TEMPLATE, {"messages": storage}) if storage else "",
    }
    for name, part in holes.items():
        html = html.replace(hole_marker(name), part, 1)
    return html.replace(csrf_standin(), get_token(request))
