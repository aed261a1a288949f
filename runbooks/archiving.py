"""Retiring runbooks: archive (and restore), or delete one that was never used.

Archiving keeps the runbook, its revisions and its history; it leaves the
index, search and reminders, and its page stays reachable so old incident
links keep working. Deleting is for mistakes only: a runbook used in an
incident or drill is evidence and can only be archived.

Each action runs in one transaction with the runbook row locked, writes its
document-history row (except a deletion, which has nothing left to write it
on) and its audit event with old and new values.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from . import signals
from .models import AuditEvent, HistoryEntry, HistoryTrigger, Runbook, saved_user
from .roles import ADMIN, EDITOR, has_role


class ArchiveRefused(Exception):
    """The action does not fit the runbook's state or the user's role; the message says why."""


def _locked(runbook: Runbook) -> Runbook:
    return (
        Runbook.objects.select_for_update(of=("self",))
        .select_related("current_revision")
        .get(pk=runbook.pk)
    )


def _history_row(runbook: Runbook, by: Any, summary: str) -> HistoryEntry:
    return HistoryEntry.objects.create(
        runbook=runbook,
        revision=runbook.current_revision,
        date=timezone.localdate(),
        trigger=HistoryTrigger.CHANGE,
        summary=summary,
        version=runbook.version,
        created_by=saved_user(by),
    )


def _set_archived_at(runbook: Runbook, value: Any, *, by: Any, action: str, summary: str) -> None:
    old = runbook.archived_at
    now = timezone.now()
    runbook.archived_at = value
    # updated_at is part of the page cache key: the banner must appear at once.
    runbook.updated_at = now
    runbook.save(update_fields=["archived_at", "updated_at"])
    _history_row(runbook, by, summary)
    AuditEvent.record(
        by,
        action,
        runbook,
        {"archived_at": {"old": old and old.isoformat(), "new": value and value.isoformat()}},
    )
    # Search drops or restores it; related runbooks' pages list it.
    signals.runbook_changed.send(sender=Runbook, runbook=runbook)
    Runbook.objects.filter(related=runbook).bump_page_version()


def archive(runbook: Runbook, *, by: Any, reason: str = "") -> None:
    """Hide the runbook from the index, search and reminders, keeping everything it has."""
    if not has_role(by, EDITOR):
        raise ArchiveRefused("Archiving a runbook needs the editor role.")
    reason = reason.strip()[:200]
    with transaction.atomic():
        locked = _locked(runbook)
        if locked.archived_at is not None:
            raise ArchiveRefused(f"“{locked.title}” is already archived.")
        summary = "Archived" + (f": {reason}" if reason else "")
        _set_archived_at(locked, timezone.now(), by=by, action="runbook.archived", summary=summary)
    runbook.archived_at, runbook.updated_at = locked.archived_at, locked.updated_at


def unarchive(runbook: Runbook, *, by: Any) -> None:
    """Bring an archived runbook back into the index, search and reminders."""
    if not has_role(by, EDITOR):
        raise ArchiveRefused("Restoring an archived runbook needs the editor role.")
    with transaction.atomic():
        locked = _locked(runbook)
        if locked.archived_at is None:
            raise ArchiveRefused(f"“{locked.title}” is not archived.")
        _set_archived_at(
            locked, None, by=by, action="runbook.unarchived", summary="Restored from the archive"
        )
    runbook.archived_at, runbook.updated_at = None, locked.updated_at


def usage(runbook: Runbook) -> list[str]:
    """Incident and drill numbers this runbook was used in (from links and its document history)."""
    incidents = runbook.incident_links.values_list("incident__number", flat=True)  # type: ignore[attr-defined]
    drills = runbook.drill_links.values_list("drill__number", flat=True)  # type: ignore[attr-defined]
    recorded = runbook.history.filter(
        trigger__in=[HistoryTrigger.INCIDENT, HistoryTrigger.DRILL]
    ).values_list("reference", flat=True)
    found = [*incidents, *drills, *(ref or "an incident or drill" for ref in recorded)]
    return sorted(set(found))


def delete_if_unused(runbook: Runbook, *, by: Any) -> None:
    """Delete a runbook created by mistake, with its revisions and history; refuse if it was ever used."""
    if not has_role(by, ADMIN):
        raise ArchiveRefused("Deleting a runbook needs the admin role; editors can archive it.")
    with transaction.atomic():
        locked = _locked(runbook)
        used_in = usage(locked)
        if used_in:
            shown = ", ".join(used_in[:5]) + (
                f" and {len(used_in) - 5} more" if len(used_in) > 5 else ""
            )
            raise ArchiveRefused(
                f"“{locked.title}” was used in {shown}, so it is part of their record and cannot be deleted. "
                "Archive it instead: it leaves the index and search but keeps its history."
            )
        pk, title, slug = locked.pk, locked.title, locked.slug
        revisions = locked.revisions.count()
        Runbook.objects.filter(related=locked).bump_page_version()
        # current_revision protects the revisions; clear it so the cascade can remove them.
        Runbook.objects.filter(pk=pk).update(current_revision=None)
        # The one deliberate bypass of the append-only guards: Django's cascade
        # deletes this runbook's revisions and history rows through their plain
        # base managers, and its earlier audit events keep their text but lose
        # the link (SET_NULL). Runbook.delete() itself refuses; this calls the
        # model's own delete on purpose.
        models.Model.delete(locked)
        AuditEvent.objects.create(
            actor=saved_user(by),
            action="runbook.deleted",
            object_type=Runbook._meta.label_lower,
            object_id=str(pk),
            object_repr=title[:300],
            detail={
                "title": {"old": title, "new": None},
                "slug": {"old": slug, "new": None},
                "revisions": revisions,
            },
        )
