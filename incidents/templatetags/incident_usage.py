"""Where a runbook was used: for the usage panel on the runbook page.

Each tag runs exactly one query whatever the number of incidents or drills, so
the runbook page keeps a constant query count.
"""

from typing import Any

from django import template

from incidents.models import DrillRunbook, IncidentRunbook

register = template.Library()

USAGE_LIMIT = 10


@register.simple_tag
def runbook_incidents(runbook: Any, limit: int = USAGE_LIMIT) -> list[IncidentRunbook]:
    """The incidents that used this runbook, newest first, with the version each one pinned."""
    return list(
        IncidentRunbook.objects.filter(runbook=runbook)
        .select_related("incident", "revision")
        .only(
            "incident",
            "revision",
            "runbook_id",
            "attached_at",
            "incident__number",
            "incident__title",
            "incident__status",
            "incident__severity",
            "incident__detected_at",
            "revision__version",
        )
        .order_by("-incident__detected_at", "-id")[:limit]
    )


@register.simple_tag
def runbook_drills(runbook: Any, limit: int = USAGE_LIMIT) -> list[DrillRunbook]:
    """The drills that exercised this runbook, newest first."""
    return list(
        DrillRunbook.objects.filter(runbook=runbook)
        .select_related("drill")
        .only("drill", "runbook_id", "drill__number", "drill__date", "drill__outcome")
        .order_by("-drill__date", "-drill__id")[:limit]
    )
