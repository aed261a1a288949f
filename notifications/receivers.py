"""Incidents and runbooks announce events by signal; this turns them into deliveries."""

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save

from incidents import signals as incident_signals
from runbooks.models import HistoryEntry, HistoryTrigger, Revision
from runbooks.signals import runbook_changed

from . import watching
from .models import Event
from .services import queue_event

STATUS_UPDATE_KIND = "communication"


def _incident_text(event: str, incident: Any, detail: dict[str, Any]) -> str | None:
    ref = f"{incident.number} ({incident.severity}) {incident.title}"
    if event == incident_signals.DECLARED:
        return f"Incident declared: {ref}"
    if event == incident_signals.STATUS_CHANGED:
        return f"{ref}: status {detail.get('previous', '')} → {incident.get_status_display()}"
    if event == incident_signals.STEP_RECORDED:
        return f"{incident.number}: {detail.get('text', '')}"
    if event == incident_signals.NOTE_ADDED:
        if detail.get("kind") != STATUS_UPDATE_KIND:
            return None
        return f"Status update on {ref}:\n{detail.get('text', '')}"
    if event == incident_signals.RESOLVED:
        return f"Resolved: {ref}"
    if event == incident_signals.REVIEW_COMPLETED:
        return (
            f"Post-incident review done for {ref} ({detail.get('actions', 0)} corrective actions)"
        )
    return None


EVENT_FOR_SIGNAL = {
    incident_signals.DECLARED: Event.DECLARED,
    incident_signals.STATUS_CHANGED: Event.STATUS_CHANGED,
    incident_signals.STEP_RECORDED: Event.STEP_RECORDED,
    incident_signals.NOTE_ADDED: Event.STATUS_UPDATE,
    incident_signals.RESOLVED: Event.RESOLVED,
    incident_signals.REVIEW_COMPLETED: Event.REVIEW_COMPLETED,
}


def incident_event(
    sender: Any, incident: Any, event: str, by: Any, detail: dict[str, Any], **kwargs: Any
) -> None:
    text = _incident_text(event, incident, detail)
    if text is not None and event in EVENT_FOR_SIGNAL:
        queue_event(EVENT_FOR_SIGNAL[event], text=text, incident=incident, actor=by)


def runbook_event(sender: Any, runbook: Any, **kwargs: Any) -> None:
    queue_event(Event.RUNBOOK_CHANGED, text=f"Runbook changed: {runbook.title}", runbook=runbook)


incident_signals.incident_event.connect(incident_event, dispatch_uid="notifications.incident_event")
runbook_changed.connect(runbook_event, dispatch_uid="notifications.runbook_event")


def revision_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        transaction.on_commit(
            partial(watching.record_revision, instance.pk, instance.runbook_id), robust=True
        )


def history_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created and instance.trigger == HistoryTrigger.REVIEW:
        record = partial(
            watching.record_review, instance.runbook_id, instance.summary, instance.reviewer
        )
        transaction.on_commit(record, robust=True)


post_save.connect(revision_saved, sender=Revision, dispatch_uid="notifications.revision_saved")
post_save.connect(history_saved, sender=HistoryEntry, dispatch_uid="notifications.history_saved")
