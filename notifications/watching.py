"""Watchers: who follows what, the news they have coming, and the batched digest.

News is written when a revision is saved or a review signed off (after
commit). The digest claims a user's unsent news with a conditional update
before sending, so two runs never send the same item twice: at most once.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fixit_runbooks import emails
from runbooks.models import Revision, Runbook

from .models import Watch, WatchNews, WatchNewsKind

logger = logging.getLogger(__name__)
MAX_DIFF_CHARS = 20_000
MAX_ITEMS_PER_DIGEST = 50


def watchers_of(runbook_id: int) -> list[int]:
    watches = Watch.objects.filter(Q(runbook_id=runbook_id) | Q(service__runbooks=runbook_id))
    return sorted(set(watches.values_list("user_id", flat=True)))


def toggle(user: Any, *, runbook: Runbook | None = None, service: Any = None) -> bool:
    """Watch if not watching, else stop; True when now watching."""
    target: dict[str, Any] = {"runbook": runbook} if runbook is not None else {"service": service}
    with transaction.atomic():
        deleted, _ = Watch.objects.filter(user=user, **target).delete()
        if deleted:
            return False
        Watch.objects.get_or_create(user=user, **target)
        return True


def unified_diff(old: str, new: str, *, old_label: str, new_label: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, lineterm="", n=2
    )
    text = "\n".join(lines)
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + "\n… (diff cut; see the runbook's history for all of it)"
    return text


def record_revision(revision_id: int, runbook_id: int) -> int:
    # Watchers first: one query when nobody watches, as during imports.
    users = watchers_of(runbook_id)
    revision = (
        Revision.objects.select_related("runbook", "author").filter(pk=revision_id).first()
        if users
        else None
    )
    if revision is None:
        return 0
    # The author knows what they changed.
    users = [u for u in users if u != revision.author_id]
    if not users:
        return 0
    previous = (
        Revision.objects.filter(runbook=revision.runbook, number__lt=revision.number)
        .order_by("-number")
        .first()
    )
    diff = unified_diff(
        previous.body if previous else "",
        revision.body,
        old_label=f"version {previous.version}" if previous else "(new)",
        new_label=f"version {revision.version}",
    )
    author = revision.author.get_username() if revision.author else "someone"
    summary = f"Version {revision.version} by {author}: {revision.change_summary or 'no summary'}"[
        :500
    ]
    return add_news(users, revision.runbook, WatchNewsKind.CHANGED, summary, diff)


def record_review(runbook_id: int, summary: str, reviewer: str) -> int:
    users = watchers_of(runbook_id)
    runbook = Runbook.objects.filter(pk=runbook_id).first() if users else None
    if runbook is None:
        return 0
    return add_news(users, runbook, WatchNewsKind.REVIEWED, f"{summary} (by {reviewer})"[:500], "")


def add_news(users: list[int], runbook: Runbook, kind: str, summary: str, diff: str) -> int:
    WatchNews.objects.bulk_create(
        [
            WatchNews(user_id=u, runbook=runbook, kind=kind, summary=summary, diff=diff)
            for u in users
        ]
    )
    return len(users)


def send_watch_digests() -> int:
    """One email per watcher with everything new since the last one; returns emails sent."""
    sent = 0
    unsent = WatchNews.objects.filter(sent_at__isnull=True).order_by()
    user_ids = list(unsent.values_list("user_id", flat=True).distinct())
    users = get_user_model().objects.in_bulk(user_ids)
    for user_id in user_ids:
        user = users.get(user_id)
        pending = list(
            WatchNews.objects.filter(user_id=user_id, sent_at__isnull=True).values_list(
                "pk", flat=True
            )[:MAX_ITEMS_PER_DIGEST]
        )
        now = timezone.now()
        # Claim first: another run that got here meanwhile updates zero rows and skips.
        claimed = WatchNews.objects.filter(pk__in=pending, sent_at__isnull=True).update(sent_at=now)
        if claimed != len(pending) or user is None or not user.email:
            continue
        items = list(
            WatchNews.objects.filter(pk__in=pending)
            .select_related("runbook")
            .order_by("runbook__title", "id")
        )
        try:
            emails.build("watch_digest", [user.email], {"recipient": user, "items": items}).send()
            sent += 1
        except OSError:
            logger.exception("Could not send the watch digest to user %s", user_id)
    return sent
