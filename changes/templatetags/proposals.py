from typing import Any

from django import template

from changes.models import Proposal

register = template.Library()


@register.inclusion_tag("changes/_runbook_proposals.html")
def open_proposals(runbook: Any) -> dict[str, Any]:
    """The runbook page's list of proposals still waiting for a decision."""
    rows = list(Proposal.objects.active().filter(runbook=runbook).select_related("author")[:20])
    return {"proposals": rows, "runbook": runbook}


@register.simple_tag
def edits_are_proposals(runbook: Any) -> bool:
    from changes import proposals

    return proposals.edits_are_proposals(runbook)
