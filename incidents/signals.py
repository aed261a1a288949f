"""Signals other apps (notifications) listen to, so incidents never imports them.

Sent inside the writing transaction; a receiver that talks to the outside
world defers that work with `transaction.on_commit`.
"""

from django.dispatch import Signal

# Something happened to an incident. kwargs: incident, event (one of EVENTS), by, detail (dict)
incident_event = Signal()

DECLARED = "incident.declared"
STATUS_CHANGED = "incident.status_changed"
STEP_RECORDED = "incident.step_recorded"
NOTE_ADDED = "incident.note_added"
RESOLVED = "incident.resolved"
REVIEW_COMPLETED = "incident.review_completed"
EVENTS = (DECLARED, STATUS_CHANGED, STEP_RECORDED, NOTE_ADDED, RESOLVED, REVIEW_COMPLETED)


def announce(incident: object, event: str, by: object, **detail: object) -> None:
    incident_event.send(sender=type(incident), incident=incident, event=event, by=by, detail=detail)
