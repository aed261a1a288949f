"""Alert groups from Alertmanager and Grafana, and the alerts each incident saw.

One `AlertGroup` row per (source, group key), unique: it is the row every
notification of that group locks, so a burst of parallel notifications
serialises on it and opens at most one incident. It points at the group's
current incident while that incident is open.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from incidents.models import Incident

from .payloads import FIRING, RESOLVED


class AlertSource(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Alertmanager"
    GRAFANA = "grafana", "Grafana"


class AlertGroup(models.Model):
    source = models.CharField(max_length=20, choices=AlertSource.choices)
    # The key can be kilobytes long; its digest is what the unique index holds.
    key_hash = models.CharField(max_length=64)
    group_key = models.TextField()
    receiver = models.CharField(max_length=200, blank=True)
    external_url = models.CharField(max_length=500, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "key_hash"], name="unique_alert_group_key")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.group_key[:80]}"


class AlertStatus(models.TextChoices):
    FIRING = FIRING, "Firing"
    RESOLVED = RESOLVED, "Resolved"


class IncidentAlert(models.Model):
    """One alert (by fingerprint) as an incident saw it; its labels fill runbook commands."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    group = models.ForeignKey(AlertGroup, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=64)
    alertname = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=AlertStatus.choices)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    generator_url = models.CharField(max_length=1000, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "fingerprint"], name="unique_alert_per_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.alertname} ({self.status})"

    @property
    def is_firing(self) -> bool:
        return self.status == AlertStatus.FIRING

    @property
    def label_summary(self) -> str:
        """The labels that tell two alerts of one name apart, e.g. "namespace=shop pod=api-7d9"."""
        return " ".join(
            f"{k}={v}" for k, v in sorted(self.labels.items()) if k not in ("alertname", "severity")
        )
