"""Every change to a proposal: one function each, one transaction, the rows it touches locked.

Lock order is always runbook, then proposal, so approving and revising the
same proposal, or approving two proposals of one runbook, queue up instead of
deadlocking. Publishing goes through Runbook.add_revision, which writes the
revision, its document-history row and the audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import Event
from notifications.services import queue_event
from runbooks import merge, services
from runbooks.models import AuditEvent, HistoryEntry, HistoryTrigger, Revision, Runbook
from runbooks.roles import ADMIN, REVIEWER, has_role

from .models import ACTIVE_STATUSES, Proposal, ProposalComment, ProposalStatus

PUBLISH, PROPOSE = "publish", "propose"
MAX_COMMENT_CHARS = 5_000


class ProposalRefused(Exception):
    """The change is not allowed in the proposal's state or for this person; nothing was written."""

    def __init__(self, message: str, *, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApprovalResult:
    proposal: Proposal
    revision: Revision | None
    merged_with: Revision | None


def change_control(runbook: Runbook) -> str:
    """How edits to this runbook publish: the team's setting, else the site default."""
    team = runbook.team
    if team is not None and team.change_control:
        return team.change_control
    return str(settings.CHANGE_CONTROL_DEFAULT)


def requires_proposal(runbook: Runbook) -> bool:
    return change_control(runbook) == PROPOSE


def can_approve(user: Any, proposal: Proposal) -> bool:
    """Someone other than the author with the reviewer role, an admin, or the team's lead."""
    if not getattr(user, "is_authenticated", False) or user.pk == proposal.author_id:
        return False
    if has_role(user, REVIEWER):
        return True
    team = proposal.runbook.team
    return team is not None and team.lead_id == user.pk


def can_revise(user: Any, proposal: Proposal) -> bool:
    return getattr(user, "is_authenticated", False) and user.pk == proposal.author_id


def can_withdraw(user: Any, proposal: Proposal) -> bool:
    return can_revise(user, proposal) or has_role(user, ADMIN)


def _name(user: Any) -> str:
    return user.get_username() if user is not None else "someone"


def _lock(proposal: Proposal) -> tuple[Runbook, Proposal]:
    # No joins in the locking query: on PostgreSQL a row read after waiting for
    # the lock is the new one, but rows joined to it come from the snapshot taken
    # before the wait, so a joined current revision could be the one just replaced.
    runbook = Runbook.objects.select_for_update().get(pk=proposal.runbook_id)
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    locked.runbook = runbook
    return runbook, locked


def _clean_summary(summary: str) -> str:
    summary = summary.strip()
    if not summary:
        raise ProposalRefused("Say in a few words what the change does.", status=400)
    return summary[:300]


@dataclass(frozen=True)
class ProposedEdit:
    """What an edit under change control did: the details saved, and the proposal its text became."""

    details: services.EditResult
    proposal: Proposal | None


def edits_are_proposals(runbook: Runbook | None) -> bool:
    return (
        runbook is not None
        and runbook.current_revision_id is not None
        and requires_proposal(runbook)
    )


def save_or_propose(runbook: Runbook, *, by: Any, edit: services.EditRequest) -> ProposedEdit:
    """An edit under change control: details and labels apply at once, new text becomes a proposal.

    The browser editor and the API both save through here, so neither can publish
    text that needs a second pair of eyes. Raises services.EditRefused when the
    details conflict, as a plain save does, and ProposalRefused for a bad base.
    """
    current = runbook.current_revision
    assert current is not None
    base = edit.base_revision or current.number
    details = services.save_edit(
        runbook, by=by, request=replace(edit, body=current.body, base_revision=current.number)
    )
    if edit.body == current.body:
        return ProposedEdit(details, None)
    proposal = open_proposal(
        runbook,
        by=by,
        body=edit.body,
        base_revision=base,
        summary=edit.change_summary or "Proposed edit",
        major=edit.major,
    )
    return ProposedEdit(details, proposal)


def open_proposal(
    runbook: Runbook, *, by: Any, body: str, base_revision: int, summary: str, major: bool = False
) -> Proposal:
    """Propose new text for a runbook, edited from revision `base_revision`."""
    summary = _clean_summary(summary)
    if not body.strip():
        raise ProposalRefused("A proposal needs some text.", status=400)
    with transaction.atomic():
        locked = Runbook.objects.select_for_update(of=("self",)).get(pk=runbook.pk)
        base = locked.revisions.filter(number=base_revision).first()
        if base is None:
            raise ProposalRefused(f"Revision {base_revision} does not exist for this runbook.")
        proposal = Proposal.objects.create(
            runbook=locked, base_revision=base, author=by, summary=summary, body=body, major=major
        )
        Runbook.objects.filter(pk=locked.pk).bump_page_version()
        AuditEvent.record(
            by,
            "proposal.opened",
            locked,
            {"proposal": proposal.pk, "base": base.number, "summary": summary},
        )
    return proposal


def add_comment(
    proposal: Proposal, *, by: Any, text: str, line: int | None = None
) -> ProposalComment:
    text = text.strip()
    if not text:
        raise ProposalRefused("A comment needs some text.")
    if len(text) > MAX_COMMENT_CHARS:
        raise ProposalRefused(f"Comments are limited to {MAX_COMMENT_CHARS} characters.")
    with transaction.atomic():
        _runbook, locked = _lock(proposal)
        if line is not None and not 1 <= line <= len(locked.body.splitlines()):
            raise ProposalRefused(f"The proposed text has no line {line}.")
        comment = ProposalComment.objects.create(proposal=locked, author=by, text=text, line=line)
        Proposal.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    return comment


def request_changes(proposal: Proposal, *, by: Any, note: str) -> Proposal:
    """Send an open proposal back to its author with what to change."""
    note = note.strip()
    if not note:
        raise ProposalRefused("Say what should change, so the author knows what to do.")
    with transaction.atomic():
        runbook, locked = _lock(proposal)
        if not can_approve(by, locked):
            raise ProposalRefused(
                "Only a reviewer, an admin or the team lead other than the author can ask for changes.",
                status=403,
            )
        if locked.status != ProposalStatus.OPEN:
            raise ProposalRefused(
                f"This proposal is {locked.get_status_display().lower()}, not open."
            )
        ProposalComment.objects.create(
            proposal=locked, author=by, text=f"Changes requested: {note}"
        )
        _set_status(locked, ProposalStatus.CHANGES_REQUESTED, by=by)
        AuditEvent.record(
            by, "proposal.changes_requested", runbook, {"proposal": locked.pk, "note": note}
        )
    return locked


def revise(proposal: Proposal, *, by: Any, body: str, summary: str, base_revision: int) -> Proposal:
    """The author's new text for their proposal; it is open for review again."""
    summary = _clean_summary(summary)
    if not body.strip():
        raise ProposalRefused("A proposal needs some text.", status=400)
    with transaction.atomic():
        runbook, locked = _lock(proposal)
        if not can_revise(by, locked):
            raise ProposalRefused("Only the author can revise a proposal.", status=403)
        if locked.status not in ACTIVE_STATUSES:
            raise ProposalRefused(
                f"This proposal is {locked.get_status_display().lower()}; open a new one."
            )
        base = runbook.revisions.filter(number=base_revision).first()
        if base is None:
            raise ProposalRefused(f"Revision {base_revision} does not exist for this runbook.")
        locked.body, locked.summary, locked.base_revision = body, summary, base
        locked.conflict_message = ""
        _set_status(
            locked,
            ProposalStatus.OPEN,
            by=None,
            extra=["body", "summary", "base_revision", "conflict_message"],
        )
        AuditEvent.record(
            by, "proposal.revised", runbook, {"proposal": locked.pk, "base": base.number}
        )
    return locked


def withdraw(proposal: Proposal, *, by: Any) -> Proposal:
    with transaction.atomic():
        runbook, locked = _lock(proposal)
        if not can_withdraw(by, locked):
            raise ProposalRefused(
                "Only the author or an admin can withdraw a proposal.", status=403
            )
        if locked.status not in ACTIVE_STATUSES:
            raise ProposalRefused(
                f"This proposal is already {locked.get_status_display().lower()}."
            )
        _set_status(locked, ProposalStatus.WITHDRAWN, by=by)
        AuditEvent.record(by, "proposal.withdrawn", runbook, {"proposal": locked.pk})
    return locked


def preview(proposal: Proposal) -> merge.MergeResult | None:
    """What approving now would publish: the proposal merged with anything published since its base.

    None when nothing was published since (the proposal's text publishes as it is).
    """
    current = proposal.runbook.current_revision
    base = proposal.base_revision
    if current is None or (base is not None and base.pk == current.pk):
        return None
    return merge.three_way(
        base.body if base is not None else "",
        proposal.body,
        current.body,
        their_label=f"revision {current.number}",
    )


def approve(proposal: Proposal, *, by: Any) -> ApprovalResult:
    """Publish an open proposal as the next revision, merged with anything published since its base.

    A real conflict publishes nothing: the proposal goes back to its author as
    "conflict" with a message saying what to do.
    """
    with transaction.atomic():
        runbook, locked = _lock(proposal)
        if not can_approve(by, locked):
            if by.pk == locked.author_id:
                raise ProposalRefused(
                    "You cannot approve your own proposal: someone else has to.", status=403
                )
            raise ProposalRefused(
                "Only a reviewer, an admin or the team lead can approve a proposal.", status=403
            )
        if locked.status != ProposalStatus.OPEN:
            raise ProposalRefused(
                f"This proposal is {locked.get_status_display().lower()}, not open."
            )
        merged = preview(locked)
        current = runbook.current_revision
        if merged is not None and not merged.clean:
            count = len(merged.conflicts)
            locked.conflict_message = (
                f"Revision {current.number if current else 0} changed the same lines "
                f"({count} place{'s' if count != 1 else ''}); the author must revise the proposal "
                "against the current text. Nothing was published."
            )
            _set_status(locked, ProposalStatus.CONFLICT, by=by, extra=["conflict_message"])
            AuditEvent.record(
                by, "proposal.conflict", runbook, {"proposal": locked.pk, "conflicts": count}
            )
            return ApprovalResult(locked, None, None)
        body = merged.text if merged is not None else locked.body
        approver = _name(by)
        revision = runbook.add_revision(
            author=locked.author,
            body=body,
            change_summary=locked.summary,
            major=locked.major,
            merged_with=current if merged is not None else None,
        )
        HistoryEntry.objects.create(
            runbook=runbook,
            revision=revision,
            trigger=HistoryTrigger.CHANGE,
            summary=f"Approved by {approver}: {locked.summary}",
            version=revision.version,
            reviewer=approver,
            reviewer_user=by,
            created_by=by,
        )
        locked.published_revision = revision
        _set_status(locked, ProposalStatus.APPROVED, by=by, extra=["published_revision"])
        AuditEvent.record(
            by,
            "proposal.approved",
            runbook,
            {
                "proposal": locked.pk,
                "author": _name(locked.author),
                "revision": revision.number,
                "version": revision.version,
                "merged_with": current.number if merged is not None and current else None,
            },
        )
        if locked.major:
            queue_event(
                Event.RUNBOOK_CHANGED,
                text=(
                    f"Major change to {runbook.title}: version {revision.version} "
                    f"“{locked.summary}” by {_name(locked.author)}, approved by {approver}"
                ),
                runbook=runbook,
                actor=by,
            )
    return ApprovalResult(locked, revision, current if merged is not None else None)


def _set_status(
    proposal: Proposal, status: str, *, by: Any, extra: list[str] | None = None
) -> None:
    now = timezone.now()
    proposal.status = status
    proposal.updated_at = now
    fields = ["status", "updated_at", *(extra or [])]
    if by is not None:
        proposal.decided_by, proposal.decided_at = by, now
        fields += ["decided_by", "decided_at"]
    proposal.save(update_fields=fields)
    # The runbook page lists open proposals inside its cached entry.
    Runbook.objects.filter(pk=proposal.runbook_id).bump_page_version()
