"""The "Who to call" panel of runbook and incident pages, cached until any contact changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from ..models import Contact, EscalationStep, cache_version

register = template.Library()

PANEL_TIMEOUT = 60 * 60


def _panel(key: str, owners: Callable[[], tuple[list[int], list[int]]]) -> SafeString:
    key = f"contacts:panel:{cache_version()}:{key}"
    html = cache.get(key)
    if html is None:
        services, teams = owners()
        contacts = list(Contact.objects.for_owners(services, teams))
        steps = list(EscalationStep.objects.for_owners(services, teams))
        groups: dict[tuple[str, int], dict[str, Any]] = {}
        for row in [*contacts, *steps]:
            owner = row.service or row.team
            kind = "service" if row.service_id else "team"
            group = groups.setdefault(
                (kind, owner.pk), {"owner": owner, "kind": kind, "contacts": [], "steps": []}
            )
            group["contacts" if isinstance(row, Contact) else "steps"].append(row)
        html = render_to_string("contacts/_panel.html", {"groups": list(groups.values())})
        cache.set(key, html, PANEL_TIMEOUT)
    return mark_safe(html)  # noqa: S308 -- rendered (and escaped) by our template


@register.simple_tag
def runbook_contacts(runbook: Any, page_cache_key: str) -> SafeString:
    """Keyed by the runbook page's own cache key (it changes with the runbook's services and team)."""

    def owners() -> tuple[list[int], list[int]]:
        return list(runbook.services.values_list("pk", flat=True)), [
            runbook.team_id
        ] if runbook.team_id else []

    return _panel(page_cache_key, owners)


@register.simple_tag
def incident_contacts(incident: Any) -> SafeString:
    from runbooks.models import Runbook

    services = list(incident.services.values_list("pk", flat=True))
    teams = sorted(
        {
            t
            for t in Runbook.objects.filter(incident_links__incident=incident).values_list(
                "team_id", flat=True
            )
            if t
        }
    )
    return _panel(
        f"incident:{','.join(map(str, sorted(services)))}:{','.join(map(str, teams))}",
        lambda: (services, teams),
    )
