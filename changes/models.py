"""Proposed runbook text waiting for a second pair of eyes before it publishes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from runbooks.models import Revision, Runbook


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Open"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    WITHDRAWN = "withdrawn", "Withdrawn"
    CONFLICT = "conflict", "Conflict"


# Statuses the author can still revise; approval needs OPEN.
ACTIVE_STATUSES = (ProposalStatus.OPEN, ProposalStatus.CHANGES_REQUESTED, ProposalStatus.CONFLICT)


class ProposalQuerySet(models.QuerySet["Proposal"]):
    def active(self) -> ProposalQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class Proposal(models.Model):
    """A draft revision: the text an author wants published, and the revision it started from."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="proposals")
    base_revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    summary = models.CharField(max_length=300)
    body = models.TextField()
    major = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.OPEN, db_index=True
    )
    # Why the last approval could not publish; shown to the author until they revise.
    conflict_message = models.CharField(max_length=500, blank=True)
    published_revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"Proposal {self.pk} for {self.runbook_id}: {self.summary}"

    def get_absolute_url(self) -> str:
        return reverse("changes:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ProposalComment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A line of the proposed text the comment is about; None for the whole proposal.
    line = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment {self.pk} on proposal {self.proposal_id}"


class Draft(models.Model):
    """Text typed in the editor and not saved yet, kept for its writer only.

    `key` names what is being edited: "runbook:<pk>" for an existing runbook,
    "new:<kind>" for one not created yet.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    runbook = models.ForeignKey(
        Runbook, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The revision the text started from, so restoring it merges with anything saved since.
    base_revision = models.PositiveIntegerField(null=True, blank=True)
    body = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_draft_per_user_and_runbook")
        ]

    def __str__(self) -> str:
        return f"Draft {self.key} of user {self.user_id}"


class BreakGlassInvocation(models.Model):
    """Someone followed a break-glass runbook: why, until when the access may stay, and the reminder."""

    runbook = models.ForeignKey(
        Runbook, on_delete=models.CASCADE, related_name="break_glass_invocations"
    )
    revision = models.ForeignKey(Revision, null=True, on_delete=models.SET_NULL, related_name="+")
    invoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="break_glass_invocations",
    )
    invoked_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    revoke_by = models.DateTimeField(db_index=True)
    run = models.ForeignKey(
        "incidents.ChecklistRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Claim-then-send: a worker claims the reminder before sending; `reminded_at` marks it sent, once.
    reminder_claimed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-invoked_at", "-id"]

    def __str__(self) -> str:
        return f"Break-glass {self.pk} of {self.runbook_id}"
