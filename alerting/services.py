"""Turn an alert group notification into an incident: the one write path for both webhooks.

At-least-once in, idempotent here: Alertmanager repeats a group until it is
resolved and may retry a notification we already stored, so every step is an
upsert (alerts by fingerprint, runbooks attached once) and a repeat only
writes what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import OPEN_STATUSES, Incident, InvalidTransition, TimelineKind
from runbooks.models import AuditEvent, Runbook, Severity

from .models import AlertGroup, AlertStatus, IncidentAlert
from .payloads import FIRING, Alert, Notification

# Title context, most telling first, when the group has no summary annotation.
TITLE_LABELS = ("service", "namespace", "job", "instance", "cluster")
SEVERITY_RANK = {value: i for i, value in enumerate(Severity.values)}


@dataclass
class Outcome:
    incident: Incident | None
    created: bool = False
    runbook_slugs: list[str] = field(default_factory=list)


def severity_for(alerts: list[Alert]) -> str:
    """The most severe mapping among the alerts' `severity` labels."""
    mapping: dict[str, str] = settings.ALERT_SEVERITY_MAP
    found = [
        mapping[a.labels["severity"].lower()]
        for a in alerts
        if a.labels.get("severity", "").lower() in mapping
    ]
    return min(found, key=SEVERITY_RANK.__getitem__, default=settings.ALERT_DEFAULT_SEVERITY)


def incident_title(note: Notification) -> str:
    labels = note.common_labels or (note.alerts[0].labels if len(note.alerts) == 1 else {})
    annotations = note.common_annotations or (
        note.alerts[0].annotations if len(note.alerts) == 1 else {}
    )
    name = labels.get("alertname") or ", ".join(note.alertnames)
    summary = annotations.get("summary") or annotations.get("title") or ""
    if summary:
        title = f"{name}: {summary}"
    else:
        context = [labels[key] for key in TITLE_LABELS if labels.get(key)]
        title = f"{name} ({', '.join(context)})" if context else name
    return " ".join(title.split())[:200]


def describe(alert: Alert | IncidentAlert) -> str:
    labels = " ".join(
        f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in ("alertname", "severity")
    )
    return f"{alert.alertname} {labels}".strip()


def receive(note: Notification, *, by: Any) -> Outcome:
    """Open or update the incident of this alert group; attach the runbooks of its alert names."""
    with transaction.atomic():
        # A concurrent first insert of the same group makes get_or_create re-read the winner's row.
        group, _ = AlertGroup.objects.get_or_create(
            source=note.source, key_hash=note.key_hash, defaults={"group_key": note.group_key}
        )
        group = AlertGroup.objects.select_for_update().get(pk=group.pk)
        incident = (
            Incident.objects.filter(pk=group.incident_id, status__in=OPEN_STATUSES).first()
            if group.incident_id
            else None
        )
        created = False
        if incident is None:
            if not note.firing:
                # Resolved alerts of an incident people already closed: nothing to open.
                return Outcome(incident=None)
            starts = [a.starts_at for a in note.firing if a.starts_at is not None]
            now = timezone.now()
            detected_at = min([*starts, now]) if starts else now
            incident = Incident.open_incident(
                by=by,
                title=incident_title(note),
                severity=severity_for(note.firing),
                detected_at=detected_at,
            )
            incident.add_entry(
                by,
                TimelineKind.NOTE,
                f"Opened by {group.get_source_display()} for alert group {note.group_key[:300]}",
            )
            created = True
        group.incident = incident
        group.receiver = note.receiver
        group.external_url = note.external_url
        group.updated_at = timezone.now()
        group.save(update_fields=["incident", "receiver", "external_url", "updated_at"])
        _record_alerts(incident, group, note, by=by, created=created)
        if not created:
            _raise_severity(incident, severity_for(note.firing), by=by)
        slugs = _attach_runbooks(incident, note.alertnames, by=by)
    return Outcome(incident=incident, created=created, runbook_slugs=slugs)


def _record_alerts(
    incident: Incident, group: AlertGroup, note: Notification, *, by: Any, created: bool
) -> None:
    existing = {a.fingerprint: a for a in IncidentAlert.objects.filter(incident=incident)}
    was_firing = any(a.is_firing for a in existing.values())
    now = timezone.now()
    for alert in note.alerts:
        row = existing.get(alert.fingerprint)
        if row is None:
            row = IncidentAlert.objects.create(
                incident=incident,
                group=group,
                fingerprint=alert.fingerprint,
                alertname=alert.alertname[:200],
                status=alert.status,
                labels=alert.labels,
                annotations=alert.annotations,
                starts_at=alert.starts_at,
                ends_at=alert.ends_at,
                generator_url=alert.generator_url,
                first_seen_at=now,
                last_seen_at=now,
            )
            existing[row.fingerprint] = row
            verb = "firing" if alert.status == FIRING else "resolved"
            incident.add_entry(by, TimelineKind.STATUS, f"Alert {verb}: {describe(alert)}")
            continue
        changed = row.status != alert.status
        if changed:
            verb = "firing again" if alert.status == FIRING else "resolved"
            incident.add_entry(by, TimelineKind.STATUS, f"Alert {verb}: {describe(alert)}")
        row.status = alert.status
        row.labels, row.annotations = alert.labels, alert.annotations
        row.starts_at, row.ends_at = alert.starts_at, alert.ends_at
        row.last_seen_at = now
        row.save(
            update_fields=[
                "status",
                "labels",
                "annotations",
                "starts_at",
                "ends_at",
                "last_seen_at",
            ]
        )
    firing_now = any(a.is_firing for a in existing.values())
    if (was_firing or created) and not firing_now:
        incident.add_entry(
            by,
            TimelineKind.STATUS,
            f"All {len(existing)} alert{'s' if len(existing) != 1 else ''} of the group resolved; "
            "resolve the incident once the service is verified.",
        )
    Incident.objects.filter(pk=incident.pk).update(updated_at=now)


def _raise_severity(incident: Incident, severity: str, *, by: Any) -> None:
    """A repeat may carry a more severe alert; it raises the incident's severity, never lowers it."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if SEVERITY_RANK[severity] >= SEVERITY_RANK[locked.severity]:
        return
    previous = locked.severity
    # A row-version bump makes an edit form opened before this change report a conflict.
    Incident.objects.filter(pk=locked.pk).update(
        severity=severity, row_version=F("row_version") + 1, updated_at=timezone.now()
    )
    incident.severity = severity
    locked.add_entry(
        by, TimelineKind.STATUS, f"Severity raised by a new alert: {previous} → {severity}"
    )
    AuditEvent.record(by, "incident.severity_raised", locked, {"from": previous, "to": severity})


def _attach_runbooks(incident: Incident, alertnames: list[str], *, by: Any) -> list[str]:
    """The same lookup as /alerts/<name>/, archived runbooks left out; each pinned to its current revision."""
    slugs: list[str] = []
    for name in alertnames:
        for runbook in Runbook.objects.active().with_alert(name).order_by("title"):
            try:
                incident.attach_runbook(runbook, by=by)
            except InvalidTransition:
                # No text yet, or the incident closed meanwhile: nothing to follow.
                continue
            if runbook.slug not in slugs:
                slugs.append(runbook.slug)
                incident.services.add(*runbook.services.all())
    return slugs


def label_alert(incident: Incident, alertname: str) -> IncidentAlert | None:
    """The alert whose labels fill a runbook's commands: the newest still firing, else the newest."""
    alerts = IncidentAlert.objects.filter(incident=incident, alertname__iexact=alertname)
    return (
        alerts.filter(status=AlertStatus.FIRING).order_by("-last_seen_at", "-id").first()
        or alerts.order_by("-last_seen_at", "-id").first()
    )
