"""Status-update messages filled from an incident, ready to paste into chat or a status page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class StatusUpdate:
    key: str
    label: str
    text: str


def _when(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


def status_updates(incident: Any, services: list[Any]) -> list[StatusUpdate]:
    service_names = ", ".join(s.name for s in services) or "to be confirmed"
    impact = incident.user_impact.strip() or "We are assessing the impact on users."
    commander = incident.commander.get_username() if incident.commander else "the on-call team"
    head = f"[{incident.number}] {incident.title} — {incident.get_severity_display()}"
    updates = [
        (
            "investigating",
            "Investigating",
            f"{head}\nStatus: Investigating\nStarted: {_when(incident.detected_at)}\n"
            f"Affected services: {service_names}\nImpact: {impact}\n"
            f"We are investigating and will post the next update within 30 minutes. Incident commander: {commander}.",
        ),
        (
            "identified",
            "Identified",
            f"{head}\nStatus: Identified\nAffected services: {service_names}\nImpact: {impact}\n"
            f"We have identified the cause"
            + (f": {incident.root_cause.strip()}" if incident.root_cause.strip() else "")
            + " and are working on a fix. Next update within 30 minutes.",
        ),
        (
            "monitoring",
            "Monitoring",
            f"{head}\nStatus: Monitoring\nAffected services: {service_names}\n"
            "A fix has been applied"
            + (f" at {_when(incident.mitigated_at)}" if incident.mitigated_at else "")
            + ". We are monitoring to make sure the problem does not come back.",
        ),
        (
            "resolved",
            "Resolved",
            f"{head}\nStatus: Resolved\nStarted: {_when(incident.detected_at)}\n"
            f"Resolved: {_when(incident.resolved_at or timezone.now())}\nAffected services: {service_names}\n"
            + (f"Resolution: {incident.resolution.strip()}\n" if incident.resolution.strip() else "")
            + "The incident is resolved. A post-incident review will follow.",
        ),
    ]
    return [StatusUpdate(key, label, text) for key, label, text in updates]
