"""The free-form edit of an incident: apply what the form changed, never what it merely carried.

Status and timestamps are not part of it: they change only through the
incident's actions (acknowledge, change_status, resolve, complete_review),
each of which bumps `Incident.row_version`. The edit form carries the row
version it was drawn from and, per field, the value it showed. A stale form
(the row version moved on) still applies a field nobody else changed meanwhile;
a field that someone else changed too is a conflict, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import capfirst

from runbooks.models import AuditEvent, Service

from .models import Incident, InvalidTransition, Status, TimelineKind

# What the free-form edit may change; everything else has its own action.
EDITABLE_FIELDS = ("title", "severity", "commander", "services", "user_impact", "business_impact")
# Long text: the timeline says it changed; the audit row keeps both texts.
LONG_TEXT_FIELDS = ("user_impact", "business_impact")


class IncidentClosed(InvalidTransition):
    """A resolved or reviewed incident's details are part of its record."""


@dataclass(frozen=True)
class FieldConflict:
    name: str
    label: str
    theirs: str
    yours: str


class IncidentEditConflict(Exception):
    """Someone changed the same fields after the form was drawn; nothing was written."""

    def __init__(self, incident: Incident, conflicts: list[FieldConflict]):
        super().__init__(", ".join(c.label for c in conflicts) + " changed meanwhile")
        self.incident = incident
        self.conflicts = conflicts


def closed_message(incident: Incident) -> str:
    """Why a closed incident's details can't be edited, and what can still be done."""
    if incident.status == Status.REVIEWED:
        still = "You can still add timeline notes and update its corrective actions."
    else:
        still = (
            "You can still add timeline notes and corrective actions, "
            "and write the post-incident review, which records impact, root cause and resolution."
        )
    return (
        f"{incident.number} is {incident.get_status_display().lower()}, so its details are part of the record "
        f"and can no longer be edited. {still}"
    )


def comparable(value: Any) -> Any:
    """One form for the value a form carried, the value it posts and the value stored."""
    if value is None:
        return None
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str):
        # Browsers post text areas with CRLF and hidden inputs with LF.
        return value.replace("\r\n", "\n").strip()
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return frozenset(comparable(item) for item in value)
    return value


def _stored(incident: Incident, name: str) -> Any:
    if name == "services":
        return frozenset(incident.services.values_list("pk", flat=True))
    if name == "commander":
        return incident.commander_id
    return comparable(getattr(incident, name))


def _shown(name: str, value: Any) -> Any:
    """A value as the audit log and the conflict page show it."""
    value = comparable(value)
    if name == "services":
        return sorted(Service.objects.filter(pk__in=value or []).values_list("name", flat=True))
    if name == "commander":
        user = get_user_model().objects.filter(pk=value).first() if value is not None else None
        return user.get_username() if user is not None else None
    return value


def _label(name: str) -> str:
    field = Incident._meta.get_field(name)
    return capfirst(str(getattr(field, "verbose_name", name)))


def _timeline_text(name: str, old: Any, new: Any) -> str:
    if name in LONG_TEXT_FIELDS:
        return f"{_label(name).lower()} updated"
    if isinstance(old, list) or isinstance(new, list):
        old, new = ", ".join(old or []) or "none", ", ".join(new or []) or "none"
    return f"{_label(name).lower()}: {old or '—'} → {new or '—'}"


def edit_incident(
    incident: Incident,
    *,
    by: Any,
    base_version: int,
    seen: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> list[str]:
    """Apply `changes` (field → new value) made on a form drawn at `base_version` showing `seen`.

    Returns the names of the fields written (none when the incident already
    holds every new value). Raises IncidentClosed on a resolved or reviewed
    incident and IncidentEditConflict when a changed field was also changed by
    someone else since the form was drawn.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = incident._locked()
        if not locked.is_open:
            raise IncidentClosed(closed_message(locked))
        stale = locked.row_version != base_version
        to_apply: dict[str, Any] = {}
        conflicts: list[FieldConflict] = []
        for name, new in changes.items():
            stored = _stored(locked, name)
            if comparable(new) == stored:
                continue
            # A form without the value it showed cannot prove nobody changed it meanwhile.
            if stale and (name not in seen or comparable(seen[name]) != stored):
                theirs, yours = _shown(name, stored), _shown(name, new)
                conflicts.append(FieldConflict(name, _label(name), _text(theirs), _text(yours)))
                continue
            to_apply[name] = new
        if conflicts:
            raise IncidentEditConflict(locked, conflicts)
        if not to_apply:
            return []
        audit = {
            name: {
                "old": _shown(name, _stored(locked, name)),
                "new": _shown(name, new),
            }
            for name, new in to_apply.items()
        }
        scalar = [name for name in to_apply if name != "services"]
        for name in scalar:
            value = to_apply[name]
            setattr(
                locked,
                name,
                value.replace("\r\n", "\n").strip() if isinstance(value, str) else value,
            )
        locked.row_version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=[*scalar, "row_version", "updated_at"])
        if "services" in to_apply:
            locked.services.set(list(to_apply["services"]))
        locked.add_entry(
            by,
            TimelineKind.STATUS,
            "Details changed — "
            + "; ".join(_timeline_text(n, c["old"], c["new"]) for n, c in audit.items()),
        )
        AuditEvent.record(
            by,
            "incident.details_changed",
            locked,
            {"changes": audit, "row_version": locked.row_version},
        )
    incident.refresh_from_db()
    return list(to_apply)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)
