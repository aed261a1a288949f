"""The write paths of the runbook editor: one function per change a person makes.

A save from the edit page carries what the form showed: the revision number
the text started from and a signed snapshot of the details and labels
(`snapshot`). The save then applies only what this person changed:

- details, field by field, against the snapshot: a field someone else changed
  meanwhile is kept unless this person changed it too, to another value — that
  is a conflict, shown with both values, and nothing is written;
- labels as added and removed names, so a stale form never drops a name it
  did not show;
- text by a three-way merge against the revision the editor started from:
  edits to different lines merge, overlapping ones are a conflict.

Why a signed snapshot rather than deriving what the form showed: details have
no history of their own to look an old row version up in, and a snapshot
signed with the runbook's key cannot be altered into a merge that drops
someone else's change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db import transaction

from . import merge
from .markdown import render
from .models import (
    DETAIL_FIELDS,
    LABEL_KINDS,
    LabelChange,
    Revision,
    Runbook,
    audit_value,
    comparable,
    field_label,
    normalised_labels,
)

SNAPSHOT_SALT = "runbooks.edit-form.snapshot"
# Writes that land between reading the runbook and locking it make the save
# start over; a few rounds cover any realistic burst of saves.
MAX_ATTEMPTS = 5


def snapshot(runbook: Runbook) -> dict[str, Any]:
    """What an edit form shows of a runbook's details and labels, with the row version it read."""
    return {
        "pk": runbook.pk,
        "row_version": runbook.row_version,
        "fields": {name: comparable(getattr(runbook, name)) for name in DETAIL_FIELDS},
        "labels": {kind: runbook.label_names(kind) for kind in LABEL_KINDS},
    }


def sign_snapshot(data: dict[str, Any]) -> str:
    return signing.dumps(data, salt=SNAPSHOT_SALT, compress=True)


def read_snapshot(token: str) -> dict[str, Any]:
    """The snapshot a form carried; raises signing.BadSignature when it was altered."""
    data = signing.loads(token, salt=SNAPSHOT_SALT)
    if not isinstance(data, dict) or not {"pk", "row_version", "fields", "labels"} <= set(data):
        raise signing.BadSignature("incomplete snapshot")
    return data


@dataclass(frozen=True)
class EditRequest:
    """One press of Save on the edit page."""

    body: str
    # The revision the text started from; 0 when the form did not say, which
    # never merges automatically.
    base_revision: int
    change_summary: str
    major: bool
    values: dict[str, Any]
    labels: dict[str, list[str]]
    # What the form showed; None for a form that did not carry it (a script):
    # then the current values stand in, and what it posts is what it means.
    shown: dict[str, Any] | None = None


@dataclass(frozen=True)
class FieldConflict:
    name: str
    label: str
    mine: Any
    theirs: Any


@dataclass(frozen=True)
class EditResult:
    runbook: Runbook
    revision: Revision | None
    merged_with: Revision | None
    details: dict[str, Any]
    unresolved_conflicts: int


@dataclass
class EditRefused(Exception):
    """Both this person and someone else changed the same thing; nothing was written.

    Carries what the conflict page shows and the values its form starts from:
    this person's changes laid over the current runbook, and the current
    revision and snapshot, so saving again cannot undo anything unseen.
    """

    runbook: Runbook
    their_revision: Revision | None
    text: merge.MergeResult | None
    fields: list[FieldConflict]
    values: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)
    # The text the conflict form holds: merged (conflicts marked) when the
    # text moved meanwhile, else what this person typed.
    body: str = ""

    def __str__(self) -> str:
        return f"edit conflict on {self.runbook.slug}"


class SaveRaced(Exception):
    """Other saves kept landing while this one was prepared; nothing was written."""


def _label_changes(
    posted: dict[str, list[str]], shown: dict[str, list[str]]
) -> dict[str, LabelChange]:
    changes: dict[str, LabelChange] = {}
    for kind in LABEL_KINDS:
        if kind not in posted:
            continue
        now = normalised_labels(kind, posted[kind])
        before = normalised_labels(kind, shown.get(kind, []))
        added = [name for name in now if name not in before]
        removed = [name for name in before if name not in now]
        if added or removed:
            changes[kind] = (added, removed)
    return changes


def _their_label(revision: Revision) -> str:
    author = revision.author.get_username() if revision.author else "someone"
    return f"revision {revision.number} by {author}"


def _plan_text(
    runbook: Runbook, request: EditRequest
) -> tuple[str | None, merge.MergeResult | None]:
    """The text to save (None: unchanged) and the merge it came from, if any."""
    current = runbook.current_revision
    if current is None:
        return request.body, None
    if request.body == current.body:
        return None, None
    if request.base_revision == current.number:
        return request.body, None
    base = runbook.revisions.filter(number=request.base_revision).only("body").first()
    result = merge.three_way(
        base.body if base is not None and request.base_revision else "",
        request.body,
        current.body,
        their_label=_their_label(current),
    )
    if not result.clean:
        return None, result
    return (result.text if result.text != current.body else None), result


def save_edit(runbook: Runbook, *, by: Any, request: EditRequest) -> EditResult:
    """Apply one edit-page save: changed details, label differences and the (merged) text.

    Raises EditRefused on a real conflict and SaveRaced when others kept
    saving; in both cases nothing was written.
    """
    for _attempt in range(MAX_ATTEMPTS):
        current = Runbook.objects.select_related("current_revision__author", "owner", "team").get(
            pk=runbook.pk
        )
        shown = request.shown or snapshot(current)
        field_changes: dict[str, Any] = {}
        conflicts: list[FieldConflict] = []
        for name in DETAIL_FIELDS:
            mine, before = request.values.get(name), shown["fields"].get(name)
            theirs = getattr(current, name)
            if comparable(mine) in (before, comparable(theirs)):
                continue
            if comparable(theirs) == before:
                field_changes[name] = mine
            else:
                conflicts.append(
                    FieldConflict(name, field_label(name), audit_value(mine), audit_value(theirs))
                )
        label_changes = _label_changes(request.labels, shown["labels"])
        new_body, merged = _plan_text(current, request)
        if conflicts or (merged is not None and not merged.clean):
            raise _refusal(current, request, field_changes, conflicts, label_changes, merged)
        # Rendering can be slow: it happens before the lock, and the lock below
        # checks that nothing it depends on moved meanwhile.
        rendered = render(new_body) if new_body is not None else None
        with transaction.atomic():
            locked = Runbook.objects.select_for_update(of=("self",)).get(pk=runbook.pk)
            if (locked.current_revision_id, locked.row_version) != (
                current.current_revision_id,
                current.row_version,
            ):
                continue
            for name, value in field_changes.items():
                setattr(locked, name, value)
            details = locked.update_details(
                by=by,
                changed_fields=list(field_changes),
                label_changes=label_changes,
                expected_row_version=current.row_version,
            )
            revision = None
            if new_body is not None:
                revision = locked.add_revision(
                    author=by,
                    body=new_body,
                    change_summary=request.change_summary
                    or ("Merged edit" if merged else "Edited"),
                    base_revision=current.current_revision.number
                    if current.current_revision
                    else None,
                    major=request.major,
                    merged_with=current.current_revision if merged else None,
                    rendered=rendered,
                )
        locked.refresh_from_db()
        return EditResult(
            runbook=locked,
            revision=revision,
            merged_with=current.current_revision if merged and revision else None,
            details=details,
            unresolved_conflicts=merge.unresolved(new_body) if new_body is not None else 0,
        )
    raise SaveRaced(f"{runbook.slug} kept changing while the save was prepared")


def _refusal(
    current: Runbook,
    request: EditRequest,
    field_changes: dict[str, Any],
    conflicts: list[FieldConflict],
    label_changes: dict[str, LabelChange],
    merged: merge.MergeResult | None,
) -> EditRefused:
    # Start the conflict form from the current runbook with this person's
    # changes laid over it; a conflicting field keeps their own value, shown
    # next to the other one.
    values = {name: getattr(current, name) for name in DETAIL_FIELDS}
    values.update(field_changes)
    values.update({c.name: request.values.get(c.name) for c in conflicts})
    labels = {}
    for kind in LABEL_KINDS:
        names = current.label_names(kind)
        added, removed = label_changes.get(kind, ((), ()))
        labels[kind] = [n for n in names if n not in removed] + [n for n in added if n not in names]
    return EditRefused(
        runbook=current,
        their_revision=current.current_revision if merged is not None else None,
        text=merged,
        fields=conflicts,
        values=values,
        labels=labels,
        body=merged.text if merged is not None else request.body,
    )
