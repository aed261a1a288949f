"""The runbook page, served whole from one cache entry.

The entry is the complete HTML document, site header included, keyed by
`Runbook.page_cache_key()` (any write makes a new key, so a stale page is never
read), the viewer's role flags and the alert-label digest. A warm view runs no
template: it swaps the per-request holes in the stored document.

Stored with the entry, and checked on every view:
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
from typing import Any

from django.contrib.messages import get_messages
from django.core.cache import cache
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


def page_key(runbook: Runbook, flags: tuple[bool, ...], labels: AlertLabels) -> str:
    return ":".join([runbook.page_cache_key(), "page", *map(str, flags), labels.cache_part])


def _read(key: str) -> tuple[Any, list[Any]]:
    """The entry and the current versions, in one round trip when the versions exist."""
    found = cache.get_many([key, *VERSION_KEYS])
    missing = [name for name in VERSION_KEYS if found.get(name) is None]
    if missing:
        # A missing version starts at a fresh value (as its owner would), never an old one.
        for name in missing:
            cache.add(name, time.time_ns(), None)
        found.update(cache.get_many(missing))
    return found.get(key), [found.get(name) for name in VERSION_KEYS]


def render_page(
    request: HttpRequest, runbook: Runbook, fill_context: Callable[[], dict[str, Any]]
) -> str:
    """The runbook page for this request; `fill_context` is called only when the entry is cold.

    `runbook` is the page row (`with_page_stamp`, `with_watched_by` the viewer).
    """
    user: Any = request.user
    flags = (has_role(user, EDITOR), has_role(user, REVIEWER), has_role(user, ADMIN))
    # The labels `{% alert_labels %}` reads for the page (QueryDict.items(): last value per name).
    query: Any = request.GET
    labels = AlertLabels.from_pairs(query.items())
    key = page_key(runbook, flags, labels)
    state = runbook.review_state()
    entry, versions = _read(key)
    if isinstance(entry, tuple) and len(entry) == 4 and entry[0] == versions and entry[1] == state:
        html, watch = entry[2], entry[3]
    else:
        # Versions and state read before rendering: a change meanwhile leaves a mismatch.
        html, watch = _render_for_cache(request, runbook, flags, fill_context)
        cache.set(key, (versions, state, html, watch), PAGE_TIMEOUT)
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
