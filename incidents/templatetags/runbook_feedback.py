"""Responders' feedback on the runbook page (a fixed number of queries whatever the history)."""

from typing import Any

from django import template

from incidents.feedback import Feedback, runbook_feedback
from incidents.models import RunPurpose

register = template.Library()


@register.simple_tag(takes_context=True)
def runbook_feedback_for(context: Any, runbook: Any) -> Feedback:
    context["run_purposes"] = RunPurpose.choices
    return runbook_feedback(runbook)
