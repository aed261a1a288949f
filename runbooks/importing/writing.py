"""Writing one file's decision: each file in its own transaction, imported whole or not at all.

The runbook row is locked (select_for_update) before it is compared and
changed, and the "edited here since the last import" check is made again
under that lock, so an edit saved between planning and writing is never
overwritten.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import HistoryEntry, HistoryTrigger, ImportSource, Runbook, Team
from .parsing import HistoryRow, normalise_body
from .planning import Decision, Directory, Plan, TeamRef, library_hash, runbooks_for_hashing
from .report import CONFLICT, THEIRS, UNCHANGED, UPDATED


def _history_entries(
    runbook: Runbook, rows: list[HistoryRow], author: Any, fallback: dt.date
) -> list[HistoryEntry]:
    revision = runbook.current_revision
    return [
        HistoryEntry(
            runbook=runbook,
            date=row.date or fallback,
            trigger=row.trigger,
            reference=row.reference,
            summary=row.summary,
            version=row.version,
            reviewer=row.reviewer,
            revision=revision if revision is not None and row.version == revision.version else None,
            created_by=author if getattr(author, "pk", None) else None,
        )
        for row in rows
    ]


def _entry_key(entry: HistoryEntry) -> tuple[str, ...]:
    return (
        entry.date.isoformat(),
        entry.trigger,
        entry.reference,
        entry.summary,
        entry.version,
        entry.reviewer,
    )


def _resolve(value: Any, directory: Directory) -> Any:
    return directory.team(value.name) if isinstance(value, TeamRef) else value


def _remember(runbook: Runbook | int, decision: Decision, collection: str) -> None:
    """Record the file's hash and the runbook's state now: the base the next import compares against.

    Pass the runbook created a moment ago as is; a pk is re-read (its labels may just have changed).
    """
    current = runbooks_for_hashing().get(pk=runbook) if isinstance(runbook, int) else runbook
    values = {
        "text_hash": decision.text_hash,
        "library_hash": library_hash(current),
        "imported_at": timezone.now(),
    }
    if decision.source is None:
        ImportSource.objects.create(
            runbook=current, collection=collection, path=decision.item.rel, **values
        )
    else:
        ImportSource.objects.filter(pk=decision.source.pk).update(**values)


def create(
    decision: Decision,
    plan: Plan,
    *,
    author: Any,
    owner: Any,
    team: Team | None,
    directory: Directory,
    collection: str,
) -> Runbook:
    item = decision.item
    stated = {name: _resolve(value, directory) for name, value in plan.fields.items()}
    values = {"owner": owner, "team": team, **plan.defaults, **stated, **plan.clock}
    with transaction.atomic():
        # Revisions and history rows are append-only: the exported version and the
        # file's own history table go in as the rows are created, never patched after.
        runbook = Runbook.create_with_revision(
            author=author,
            body=item.body,
            change_summary=f"Imported from {item.rel}"[:300],
            trigger=HistoryTrigger.IMPORT,
            history_date=plan.history_date,
            alert_names=plan.labels.get("alert_names", ()),
            services=plan.labels.get("services", ()),
            tags=plan.labels.get("tags", ()),
            slug=item.slug,
            version=plan.version or "1.0",
            # The file's own table is the history; the automatic "imported" row would
            # otherwise grow by one on every export → import round trip.
            record_history=not item.history,
            **values,
        )
        if item.history:
            HistoryEntry.objects.bulk_create(
                _history_entries(
                    runbook, item.history, author, plan.history_date or timezone.localdate()
                )
            )
        _remember(runbook, decision, collection)
    return runbook


def _label_names(runbook: Runbook, name: str) -> list[str]:
    return sorted(obj.name for obj in getattr(runbook, name).all())


def update(
    decision: Decision,
    plan: Plan,
    *,
    author: Any,
    directory: Directory,
    collection: str,
    resolution: str | None,
) -> str:
    """Apply what changed; return the status to report (updated, unchanged, or changed in both)."""
    item, source = decision.item, decision.source
    assert source is not None
    with transaction.atomic():
        locked = (
            runbooks_for_hashing()
            .select_for_update(of=("self",))
            .select_related("current_revision")
            .get(pk=source.runbook_id)
        )
        stored = ImportSource.objects.get(pk=source.pk)
        if decision.remember_only:
            _remember(locked.pk, decision, collection)
            return UNCHANGED
        if library_hash(locked) != stored.library_hash and resolution != THEIRS:
            return CONFLICT
        changed_fields = []
        for name, value in plan.fields.items():
            value = _resolve(value, directory)
            if getattr(locked, name) != value:
                setattr(locked, name, value)
                changed_fields.append(name)
        labels = {}
        for name, wanted in plan.labels.items():
            normalised = [w.strip().lower() if name == "tags" else w.strip() for w in wanted]
            if sorted(dict.fromkeys(n for n in normalised if n)) != _label_names(locked, name):
                labels[name] = wanted
                changed_fields.append(name)
        clock = {
            name: value for name, value in plan.clock.items() if getattr(locked, name) != value
        }
        current_body = locked.current_revision.body if locked.current_revision else ""
        body_changed = normalise_body(current_body) != item.body
        existing = {_entry_key(e) for e in HistoryEntry.objects.filter(runbook=locked)}
        fallback = plan.history_date or timezone.localdate()
        new_rows = [
            row
            for row in item.history
            if _entry_key(_history_entries(locked, [row], None, fallback)[0]) not in existing
        ]
        if changed_fields:
            locked.update_details(by=author, changed_fields=changed_fields, labels=labels)
        if clock:
            # The review clock and archive state as the file states them (an export's round trip).
            Runbook.objects.filter(pk=locked.pk).update(**clock)
        if body_changed:
            locked.add_revision(
                author=author,
                body=item.body,
                change_summary=f"Imported from {item.rel}"[:300],
                trigger=HistoryTrigger.IMPORT,
                history_date=plan.history_date,
            )
        if new_rows:
            HistoryEntry.objects.bulk_create(_history_entries(locked, new_rows, author, fallback))
        _remember(locked.pk, decision, collection)
    return UPDATED if (changed_fields or clock or body_changed or new_rows) else UNCHANGED


def set_related(slug: str, related: list[str], *, author: Any) -> bool:
    """Point the runbook at the related runbooks a file names; return whether that changed anything."""
    with transaction.atomic():
        runbook = Runbook.objects.select_for_update().get(slug=slug)
        wanted = set(
            Runbook.objects.filter(slug__in=related)
            .exclude(pk=runbook.pk)
            .values_list("slug", flat=True)
        )
        if wanted == set(runbook.related.values_list("slug", flat=True)):
            return False
        runbook.set_labels(related=sorted(wanted))
    return True
