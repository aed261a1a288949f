"""Notification channels (Slack-compatible chat or signed JSON webhooks) and their delivery log.

A channel belongs to a team (or to everyone when it has none) and chooses the
events it wants. Each event makes one `Delivery` per channel; a Celery task
sends it with retries. Ten failures in a row pause the channel and tell its
owner, so a dead endpoint stops costing worker time.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from fixit_runbooks.constraints import exactly_one_of
from runbooks.models import Team

PAUSE_AFTER_FAILURES = 10
MAX_ATTEMPTS = 5


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Chat (Slack-compatible incoming webhook)"
    WEBHOOK = "webhook", "JSON webhook signed with HMAC-SHA256"


class Event(models.TextChoices):
    DECLARED = "incident.declared", "Incident declared"
    STATUS_CHANGED = "incident.status_changed", "Status changed"
    STEP_RECORDED = "incident.step_recorded", "Checklist step done, skipped or deviated"
    STATUS_UPDATE = "incident.status_update", "Status update posted"
    RESOLVED = "incident.resolved", "Incident resolved"
    REVIEW_COMPLETED = "incident.review_completed", "Post-incident review done"
    RUNBOOK_CHANGED = "runbook.changed", "Runbook changed"
    REVIEW_OVERDUE = "runbook.review_overdue", "Runbook review overdue"
    TEST = "channel.test", "Test message"


SUBSCRIBABLE_EVENTS = [choice for choice in Event.choices if choice[0] != Event.TEST]


class Channel(models.Model):
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_channels",
        help_text="Empty: every team's incidents and runbooks.",
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # Chat webhook URLs are bearer secrets too: shown masked once saved.
    url = models.URLField(max_length=1000)
    signing_secret = models.CharField(max_length=100, blank=True, editable=False)
    events = models.JSONField(default=list)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("notifications:detail", args=[self.pk])

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def masked_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/…"

    @staticmethod
    def new_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)

    def wants(self, event: str) -> bool:
        return event == Event.TEST or event in self.events

    def event_labels(self) -> list[str]:
        labels = dict(Event.choices)
        return [labels.get(e, e) for e in self.events]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (channel paused)"


class Delivery(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The channel page's delivery log, newest first.
        indexes = [models.Index(fields=["channel", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel_id} ({self.status})"

    def event_label(self) -> str:
        return dict(Event.choices).get(self.event, self.event)

    @property
    def summary(self) -> Any:
        return self.payload.get("text", "")


class Watch(models.Model):
    """Someone follows a runbook, or every runbook of a service."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    runbook = models.ForeignKey(
        "runbooks.Runbook", null=True, blank=True, on_delete=models.CASCADE, related_name="watches"
    )
    service = models.ForeignKey(
        "runbooks.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="watches"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "runbook"], name="unique_runbook_watch"),
            models.UniqueConstraint(fields=["user", "service"], name="unique_service_watch"),
            exactly_one_of("runbook", "service", name="watch_has_one_target"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.runbook_id or self.service_id}"


class WatchNewsKind(models.TextChoices):
    CHANGED = "changed", "Changed"
    REVIEWED = "reviewed", "Reviewed"
    OVERDUE = "overdue", "Review overdue"


class WatchNews(models.Model):
    """One thing a watcher has not been emailed about yet; a digest sends them in batches."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=WatchNewsKind.choices)
    summary = models.CharField(max_length=500)
    diff = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The digest scan: unsent news, oldest first.
        indexes = [models.Index(fields=["sent_at", "user"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.runbook_id} for {self.user_id}"


class OverdueNotice(models.Model):
    """The daily review scan told watchers and channels that this runbook's review is overdue.

    Inserted before anything is sent, so a second scan the same day (a retry,
    a second worker) finds the row and stays quiet: one notice per runbook per day.
    """

    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["runbook", "day"], name="one_overdue_notice_per_day")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"review of {self.runbook_id} overdue on {self.day}"
