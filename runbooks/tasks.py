"""Celery tasks of the runbooks app."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import reminders


@shared_task(
    name="runbooks.tasks.send_review_reminders",
    autoretry_for=reminders.SEND_ERRORS,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def send_review_reminders() -> dict[str, Any]:
    """The daily beat job; safe to run twice (see runbooks.reminders for why)."""
    report = reminders.send_review_reminders()
    return {"day": report.day.isoformat(), "sent": len(report.sent), "already_sent": report.already_sent}
