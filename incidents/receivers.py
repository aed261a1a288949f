"""Keep cached runbook pages honest: their "Used in" and "Follow it" panels show incidents, drills and steps.

Drill links and history rows are bulk-created (no signals); the history rows
already change the page's cache key, so only saved rows need a bump here.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from runbooks.models import Runbook

from .models import ChecklistRun, Drill, DrillRunbook, Incident, IncidentRunbook, StepProgress


@receiver(post_save, sender=Incident)
def incident_saved(sender: type, instance: Incident, **kwargs: Any) -> None:
    Runbook.objects.filter(incident_links__incident=instance).bump_page_version()


@receiver(post_save, sender=Drill)
def drill_saved(sender: type, instance: Drill, **kwargs: Any) -> None:
    Runbook.objects.filter(drill_links__drill=instance).bump_page_version()


@receiver([post_save, post_delete], sender=IncidentRunbook)
@receiver([post_save, post_delete], sender=DrillRunbook)
def usage_link_changed(
    sender: type, instance: IncidentRunbook | DrillRunbook, **kwargs: Any
) -> None:
    Runbook.objects.filter(pk=instance.runbook_id).bump_page_version()


@receiver([post_save, post_delete], sender=StepProgress)
def step_progress_changed(sender: type, instance: StepProgress, **kwargs: Any) -> None:
    """The page's "Follow it" panel sums the steps responders recorded."""
    runbooks = Runbook.objects.filter(
        pk__in=IncidentRunbook.objects.filter(pk=instance.attachment_id).values("runbook_id")
        if instance.attachment_id is not None
        else ChecklistRun.objects.filter(pk=instance.run_id or 0).values("runbook_id")
    )
    runbooks.bump_page_version()
