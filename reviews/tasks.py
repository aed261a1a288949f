"""Celery tasks of the reviews app: the daily scan and the retry sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.utils import timezone

from . import reminders


@shared_task(
    bind=True, name="reviews.tasks.send_review_reminders", max_retries=reminders.MAX_ATTEMPTS
)
def send_review_reminders(self: Any, day: str | None = None) -> dict[str, Any]:
    """The daily beat job; safe to run twice (see reviews.reminders for why).

    The scan's day is fixed on the first run and handed to each retry, so a
    retry after midnight finishes yesterday's digests instead of sending today's.
    """
    scan_day = dt.date.fromisoformat(day) if day else timezone.localdate()
    report = reminders.send_review_reminders(day=scan_day)
    if report.retry_in is not None:
        raise self.retry(kwargs={"day": scan_day.isoformat()}, countdown=report.retry_in)
    return {
        "day": report.day.isoformat(),
        "sent": len(report.sent),
        "already_sent": report.already_sent,
    }


@shared_task(name="reviews.tasks.retry_review_reminders")
def retry_review_reminders() -> list[dict[str, Any]]:
    """Beat runs this every lease period: digests left "retrying" or "sending" by a dead worker go out."""
    return [
        {"day": report.day.isoformat(), "sent": len(report.sent), "failed": len(report.failed)}
        for report in reminders.retry_unfinished()
    ]
