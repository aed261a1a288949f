"""Celery tasks of change control."""

from celery import shared_task

from . import emergency


@shared_task(name="changes.tasks.send_break_glass_reminders")
def send_break_glass_reminders() -> int:
    """Beat runs this every few minutes; each overdue break-glass invocation is reminded once."""
    return len(emergency.send_due_reminders())
