"""Break-glass runbooks: following one records why, by whom and until when; a reminder follows.

Every way of following a runbook (a checklist run, a new incident, attaching
to an open incident) goes through `invoke` for a break-glass runbook, so no
emergency access is granted without a reason and a revoke-by time.

The reminder is claimed before it is sent and marked sent after: two workers
never both send it, and a worker that dies after claiming leaves a claim that
counts as abandoned after REMINDER_LEASE, so the reminder still goes out, once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from incidents.models import ChecklistRun, Incident, IncidentRunbook, InvalidTransition, RunPurpose
from runbooks.models import AuditEvent, Kind, Runbook

from .models import BreakGlassInvocation

logger = logging.getLogger(__name__)

MAX_ACCESS = dt.timedelta(days=7)
DEFAULT_ACCESS = dt.timedelta(hours=1)
REMINDER_LEASE = dt.timedelta(minutes=10)
FOLLOW_RUN, FOLLOW_NEW_INCIDENT, FOLLOW_INCIDENT = "run", "new_incident", "incident"


class InvocationRefused(ValueError):
    """A reason or revoke-by time is missing or wrong, or the runbook cannot be followed; nothing was written."""


@dataclass(frozen=True)
class Invoked:
    invocation: BreakGlassInvocation
    run: ChecklistRun | None
    attachment: IncidentRunbook | None


def is_break_glass(runbook: Runbook) -> bool:
    return runbook.kind == Kind.BREAK_GLASS


def invoke(
    runbook: Runbook,
    *,
    by: Any,
    reason: str,
    revoke_by: dt.datetime,
    follow: str = FOLLOW_RUN,
    incident: Incident | None = None,
    purpose: str = RunPurpose.MAINTENANCE,
    now: dt.datetime | None = None,
) -> Invoked:
    """Follow a break-glass runbook, recording the invocation in the same transaction."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise InvocationRefused("Say why emergency access is needed.")
    if revoke_by <= now:
        raise InvocationRefused("The revoke-by time must be in the future.")
    if revoke_by - now > MAX_ACCESS:
        raise InvocationRefused(
            "Emergency access may last at most 7 days; invoke it again if it must last longer."
        )
    if follow == FOLLOW_INCIDENT and incident is None:
        raise InvocationRefused("Name the incident to attach the runbook to.")
    run: ChecklistRun | None = None
    attachment: IncidentRunbook | None = None
    try:
        with transaction.atomic():
            locked = Runbook.objects.select_for_update(of=("self",)).get(pk=runbook.pk)
            if follow == FOLLOW_RUN:
                run = ChecklistRun.start(
                    locked, by=by, purpose=purpose, title=f"Break-glass: {reason}"[:200]
                )
            elif follow == FOLLOW_NEW_INCIDENT:
                opened = Incident.open_incident(
                    by=by, title=locked.title[:200], severity=locked.severity
                )
                attachment = opened.attach_runbook(locked, by=by)
            elif incident is not None:
                attachment = incident.attach_runbook(locked, by=by)
            invocation = BreakGlassInvocation.objects.create(
                runbook=locked,
                revision_id=locked.current_revision_id,
                invoked_by=by,
                invoked_at=now,
                reason=reason,
                revoke_by=revoke_by,
                run=run,
                incident=attachment.incident if attachment is not None else None,
            )
            AuditEvent.record(
                by,
                "break_glass.invoked",
                locked,
                {"invocation": invocation.pk, "reason": reason, "revoke_by": revoke_by.isoformat()},
            )
    except InvalidTransition as refused:
        raise InvocationRefused(str(refused)) from refused
    return Invoked(invocation, run, attachment)


def _claim(pk: int, now: dt.datetime) -> BreakGlassInvocation | None:
    with transaction.atomic():
        row = (
            BreakGlassInvocation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("runbook", "invoked_by")
            .filter(pk=pk, reminded_at__isnull=True)
            .filter(
                Q(reminder_claimed_at__isnull=True)
                | Q(reminder_claimed_at__lt=now - REMINDER_LEASE)
            )
            .first()
        )
        if row is None:
            return None
        row.reminder_claimed_at = now
        row.save(update_fields=["reminder_claimed_at"])
    return row


def _recipients(invocation: BreakGlassInvocation) -> list[str]:
    addresses = [getattr(invocation.invoked_by, "email", ""), str(settings.SECURITY_CONTACT_EMAIL)]
    return list(dict.fromkeys(address for address in addresses if address))


def send_due_reminders(now: dt.datetime | None = None) -> list[int]:
    """Remind the invoker and the security contact of each invocation past its revoke-by time, once."""
    now = now or timezone.now()
    due = BreakGlassInvocation.objects.filter(revoke_by__lte=now, reminded_at__isnull=True).filter(
        Q(reminder_claimed_at__isnull=True) | Q(reminder_claimed_at__lt=now - REMINDER_LEASE)
    )
    sent: list[int] = []
    for pk in due.values_list("pk", flat=True):
        invocation = _claim(pk, now)
        if invocation is None:
            continue
        context = {"invocation": invocation, "site_url": settings.SITE_URL}
        recipients = _recipients(invocation)
        try:
            if recipients:
                send_mail(
                    render_to_string("emails/break_glass_reminder_subject.txt", context).strip(),
                    render_to_string("emails/break_glass_reminder_body.txt", context),
                    None,
                    recipients,
                )
        except Exception:
            # The claim stays; after REMINDER_LEASE the next sweep tries again.
            logger.exception("break-glass reminder %s could not be sent", pk)
            continue
        with transaction.atomic():
            BreakGlassInvocation.objects.filter(pk=pk).update(reminded_at=now)
            AuditEvent.record(
                None,
                "break_glass.reminded",
                invocation.runbook,
                {"invocation": pk, "recipients": recipients},
            )
        sent.append(pk)
    return sent
