from typing import Any

from django import template

from ..models import Watch

register = template.Library()


@register.inclusion_tag("notifications/_watch_button.html", takes_context=True)
def watch_button(
    context: Any, runbook: Any = None, service: Any = None, watching: bool | None = None
) -> dict[str, Any]:
    """`watching`, when the page already knows it (an annotation), saves the query."""
    if watching is None:
        user = context["request"].user
        target = {"runbook": runbook} if runbook is not None else {"service": service}
        watching = Watch.objects.filter(user=user, **target).exists()
    return {
        "runbook": runbook,
        "service": service,
        "watching": watching,
        "csrf_token": context.get("csrf_token"),
    }
