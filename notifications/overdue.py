""" "Review overdue" for watchers and team channels, from the daily review scan.

Only runbooks someone follows are considered: those with watchers (of the
runbook or one of its services) and those whose team, or every team, has a
channel listening for the event. Each is claimed for the day (an
`OverdueNotice` row) before anything goes out.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from runbooks.models import Runbook

from . import watching
from .models import Channel, Event, OverdueNotice, WatchNewsKind
from .services import queue_event

logger = logging.getLogger(__name__)


def followed_overdue(now: dt.datetime) -> list[Runbook]:
    listening = [
        c for c in Channel.objects.filter(paused_at__isnull=True) if c.wants(Event.REVIEW_OVERDUE)
    ]
    overdue = Runbook.objects.active().overdue(now)
    if not any(c.team_id is None for c in listening):
        followed = Q(watches__isnull=False) | Q(services__watches__isnull=False)
        team_ids = {c.team_id for c in listening}
        if team_ids:
            followed |= Q(team_id__in=team_ids)
        overdue = overdue.filter(pk__in=Runbook.objects.filter(followed).values("pk"))
    return list(
        overdue.only("pk", "title", "slug", "next_review_due", "review_cadence").order_by("pk")
    )


def _claim(runbook: Runbook, day: dt.date) -> bool:
    try:
        with transaction.atomic():
            OverdueNotice.objects.create(runbook=runbook, day=day)
    except IntegrityError:
        return False
    return True


def announce_overdue(now: dt.datetime | None = None, day: dt.date | None = None) -> int:
    """Tell watchers (in their digest) and channels about each followed overdue runbook; returns how many."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    announced = 0
    for runbook in followed_overdue(now):
        if not _claim(runbook, day):
            continue
        days = runbook.days_overdue(now)
        text = f"Review overdue by {days} day{'s' if days != 1 else ''}: {runbook.title}"
        users = watching.watchers_of(runbook.pk)
        if users:
            watching.add_news(users, runbook, WatchNewsKind.OVERDUE, text, "")
        queue_event(Event.REVIEW_OVERDUE, text=text, runbook=runbook)
        announced += 1
    if announced:
        logger.info("review overdue announced for %s runbook(s)", announced)
    return announced
