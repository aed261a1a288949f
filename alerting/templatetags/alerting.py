"""Alert values on runbook pages, and the alert panel of an incident page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident, IncidentRunbook
from runbooks.models import AlertName

from ..fill import AlertLabels, fill_commands, fill_text, placeholders_in
from ..models import AlertGroup, IncidentAlert

register = template.Library()


@register.simple_tag(takes_context=True)
def alert_labels(context: Any) -> AlertLabels:
    """Labels carried in the query string (`?namespace=shop&pod=api-7d9`) by /alerts/<name>/ or an incident."""
    request = context.get("request")
    if request is None:
        return AlertLabels()
    return AlertLabels.from_pairs(request.GET.items())


@register.filter
def filled_from(html: str, labels: AlertLabels) -> SafeString:
    if not labels:
        return mark_safe(html)  # noqa: S308 -- stored sanitised revision HTML
    return fill_commands(html, labels.values)


@register.filter
def filled_command(command: str, labels: AlertLabels | None) -> SafeString:
    """A checklist step's command, escaped, with the incident's alert labels filled in."""
    if not labels:
        return escape(command)
    return fill_text(command, labels.values)


@register.simple_tag
def attachment_alert_labels(attachment: IncidentRunbook) -> AlertLabels:
    """The labels of the alert that brought this runbook into the incident (none if it came by hand)."""
    alerts = list(IncidentAlert.objects.filter(incident_id=attachment.incident_id))
    if not alerts:
        return AlertLabels()
    names = list(
        AlertName.objects.filter(
            runbook_id=attachment.runbook_id, name_lower__in={a.alertname.lower() for a in alerts}
        ).values_list("name_lower", flat=True)
    )
    source = _label_source(alerts, names)
    return AlertLabels.from_pairs(source.labels.items()) if source is not None else AlertLabels()


@register.inclusion_tag("alerting/_alert_values.html")
def alert_values_notice(html: str, labels: AlertLabels) -> dict[str, Any]:
    names = placeholders_in(html) if labels else []
    return {
        "labels": labels,
        "filled": [name for name in names if name in labels.values],
        "missing": [name for name in names if name not in labels.values],
    }


@register.inclusion_tag("alerting/_incident_panel.html")
def incident_alert_panel(incident: Incident) -> dict[str, Any]:
    alerts = list(IncidentAlert.objects.filter(incident=incident).select_related("group"))
    if not alerts:
        return {"alerts": []}
    attachments = list(incident.attachments.select_related("runbook"))
    names_by_runbook: dict[int, list[str]] = {}
    for runbook_id, name_lower in AlertName.objects.filter(
        runbook__in=[a.runbook_id for a in attachments],
        name_lower__in={a.alertname.lower() for a in alerts},
    ).values_list("runbook_id", "name_lower"):
        names_by_runbook.setdefault(runbook_id, []).append(name_lower)
    links = []
    for attachment in attachments:
        source = _label_source(alerts, names_by_runbook.get(attachment.runbook_id, []))
        if source is not None:
            url = (
                attachment.runbook.get_absolute_url()
                + "?"
                + urlencode(sorted(source.labels.items()))
            )
            links.append({"runbook": attachment.runbook, "url": url, "alert": source})
    group: AlertGroup = alerts[0].group
    firing = [a for a in alerts if a.is_firing]
    return {
        "alerts": alerts,
        "group": group,
        "firing_count": len(firing),
        "all_resolved": not firing,
        "links": links,
    }


def _label_source(alerts: list[IncidentAlert], names: list[str]) -> IncidentAlert | None:
    """The newest firing alert of the runbook's names, else the newest of them."""
    matching = [a for a in alerts if a.alertname.lower() in names]
    matching.sort(key=lambda a: (a.is_firing, a.last_seen_at, a.pk), reverse=True)
    return matching[0] if matching else None
