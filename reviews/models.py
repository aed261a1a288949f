"""Reminder preferences, the digest claims and the weekly compliance snapshots.

These tables were created by the runbooks app and keep their names
(`db_table`): moving the models here changed only Django's bookkeeping, so no
row was copied and nothing could be lost on the way (see migration 0001).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class DigestFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (on Mondays)"


class ReminderPreference(models.Model):
    """How a user wants their review digests; users without a row get the daily default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preference"
    )
    frequency = models.CharField(
        max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.DAILY
    )
    on_leave = models.BooleanField("pause while on leave", default=False)
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Receives your digests while you are on leave.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "runbooks_reminderpreference"

    def __str__(self) -> str:
        return f"{self.user} · {self.frequency}{' · on leave' if self.on_leave else ''}"

    def wants_digest_on(self, day: dt.date) -> bool:
        return self.frequency == DigestFrequency.DAILY or day.weekday() == 0


class DigestKind(models.TextChoices):
    OWNER = "owner", "Runbooks you own"
    ESCALATION = "escalation", "Team escalation"
    UNOWNED = "unowned", "Runbooks without an owner"


class DigestStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class ReminderDigest(models.Model):
    """One digest email per recipient, kind and day: the unique row is the claim.

    The scan inserts this row (committed) before it talks to SMTP; whoever
    holds it in "sending" with a live lease is the only one sending it. A send
    that fails leaves it "retrying" with the reason; a holder that died leaves
    it "sending" past its lease; either way the next scan or retry claims it
    again with a conditional update. See reviews.reminders for the semantics.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_digests"
    )
    kind = models.CharField(max_length=12, choices=DigestKind.choices)
    day = models.DateField()
    status = models.CharField(
        max_length=10, choices=DigestStatus.choices, default=DigestStatus.SENDING
    )
    # The same on every attempt, so a duplicate caused by an ambiguous SMTP answer is recognisable.
    message_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    runbook_count = models.PositiveIntegerField(default=0)
    overdue_count = models.PositiveIntegerField(default=0)
    # Runbook ids and titles as they were when sent, for the "My reminders" page.
    items = models.JSONField(default=list, blank=True)
    on_behalf_of = models.JSONField(
        default=list, blank=True, help_text="Usernames whose digests were delegated here."
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "runbooks_reminderdigest"
        ordering = ["-day", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "day"], name="one_digest_per_recipient_kind_day"
            )
        ]
        indexes = [
            # The retry sweep (reviews.reminders.days_to_retry) reads only unfinished claims.
            models.Index(
                fields=["day"],
                name="reminder_digest_unfinished",
                condition=models.Q(status__in=["sending", "retrying"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} → {self.recipient}"


class ComplianceSnapshot(models.Model):
    """Review-state counts for one week, rewritten by each daily reminder scan.

    The last write of a week is its week-end state, so the dashboard's 12-week
    trend is 12 rows instead of a replay of every review ever recorded.
    """

    week_ending = models.DateField(unique=True, help_text="The Sunday that ends the week.")
    total = models.PositiveIntegerField(default=0)
    current = models.PositiveIntegerField(default=0)
    due_soon = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    requested = models.PositiveIntegerField(default=0)
    never_reviewed = models.PositiveIntegerField(default=0)
    changes_requested = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "runbooks_compliancesnapshot"
        ordering = ["-week_ending"]

    def __str__(self) -> str:
        return f"week ending {self.week_ending}: {self.overdue}/{self.total} overdue"

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.total if self.total else 0.0
