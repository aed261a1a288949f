"""Keep cached runbook pages honest: their "Used in" panel shows incidents and drills.

Drill links and history rows are bulk-created (no signals); the history rows
already change the page's cache key, so only saved rows need a bump here.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from runbooks.models import Runbook

from .models import Drill, DrillRunbook, Incident, IncidentRunbook


@receiver(post_save, sender=Incident)
def incident_saved(sender: type, instance: Incident, **kwargs: Any) -> None:
    Runbook.objects.filter(incident_links__incident=instance).bump_page_version()


@receiver(post_save, sender=Drill)
def drill_saved(sender: type, instance: Drill, **kwargs: Any) -> None:
    Runbook.objects.filter(drill_links__drill=instance).bump_page_version()


@receiver([post_save, post_delete], sender=IncidentRunbook)
@receiver([post_save, post_delete], sender=DrillRunbook)
def usage_link_changed(sender: type, instance: IncidentRunbook | DrillRunbook, **kwargs: Any) -> None:
    Runbook.objects.filter(pk=instance.runbook_id).bump_page_version()
