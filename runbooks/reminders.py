"""The review reminder scan: one digest email per recipient per day.

Called by the Celery beat task `runbooks.tasks.send_review_reminders` and by
`manage.py send_review_reminders`; running it again the same day is harmless.

Delivery semantics: at most once per recipient, kind and day. A ReminderDigest
row is inserted and committed *before* the email goes to SMTP; the unique
constraint on (recipient, kind, day) means a second run, or a second worker
racing this one, fails to insert and skips. If SMTP refuses or is unreachable
the row is deleted again and the error is raised, so the Celery retry (or the
next run) sends it once the server is back. If the process dies between the
SMTP hand-off and marking the row sent, the row stays "sending" and that
digest is not repeated: a missed nag costs nothing because the runbook is
still overdue tomorrow and the next digest lists it, whereas duplicate
emails teach people to ignore them.

Finding what to send is a fixed number of queries whatever the library size
(preferences, per-owner counts, per-owner top rows, the same two for team
leads, recipients, today's claims); each digest then costs one insert and
one update. A digest lists at most DIGEST_MAX_ITEMS runbooks, oldest first,
with the totals and a link to the dashboard for the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from fixit_runbooks import emails

from . import reviews
from .models import (
    DigestKind,
    DigestStatus,
    ReminderDigest,
    ReminderPreference,
    ReviewState,
    Runbook,
    review_state_q,
)

log = logging.getLogger(__name__)

DIGEST_MAX_ITEMS = 50
SEND_ERRORS = (smtplib.SMTPException, OSError)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


@dataclass
class DigestItem:
    runbook_id: int
    title: str
    slug: str
    state: str
    state_label: str
    due: dt.datetime | None
    days_overdue: int
    last_reviewer: str
    last_reviewed_at: dt.datetime | None
    owner: str
    team: str
    cadence: str
    url: str
    review_url: str


@dataclass
class Digest:
    recipient: Any
    kind: str
    items: list[DigestItem] = field(default_factory=list)
    total: int = 0
    overdue: int = 0
    due_soon: int = 0
    requested: int = 0
    on_behalf_of: list[str] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass
class ScanReport:
    day: dt.date
    sent: list[tuple[str, str]] = field(default_factory=list)
    already_sent: int = 0
    paused: int = 0
    not_today: int = 0
    no_email: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    snapshot: Any = None

    def summary(self) -> str:
        return (
            f"{self.day}: {len(self.sent)} digest(s) sent, {self.already_sent} already sent today, "
            f"{self.paused} paused, {self.not_today} not due today (weekly), {self.no_email} without email, "
            f"{len(self.failed)} failed"
        )


def _top_rows(queryset: QuerySet[Runbook], partition: str) -> QuerySet[Runbook]:
    """The DIGEST_MAX_ITEMS oldest-due runbooks per recipient, in one query."""
    return (
        queryset.annotate(
            digest_rank=Window(RowNumber(), partition_by=[F(partition)], order_by=[F("next_review_due").asc(), F("pk").asc()])
        )
        .filter(digest_rank__lte=DIGEST_MAX_ITEMS)
        .annotate(digest_recipient=F(partition))
        .select_related("owner", "team", "last_reviewed_by")
        .only(
            "title", "slug", "review_cadence", "next_review_due", "review_requested_at", "last_reviewed_at",
            "owner__username", "team__name", "last_reviewed_by__username", "last_reviewed_by__first_name",
            "last_reviewed_by__last_name",
        )
        .order_by("next_review_due", "pk")
    )


def _counts(queryset: QuerySet[Runbook], partition: str, now: dt.datetime) -> dict[int, dict[str, int]]:
    states = review_state_q(now)
    rows = queryset.values(partition).annotate(
        total=Count("pk"),
        overdue=Count("pk", filter=states[ReviewState.OVERDUE]),
        due_soon=Count("pk", filter=states[ReviewState.DUE_SOON]),
        requested=Count("pk", filter=states[ReviewState.REQUESTED]),
    ).order_by()
    return {row[partition]: row for row in rows}


def _item(runbook: Runbook, now: dt.datetime) -> DigestItem:
    state = runbook.review_state(now)
    reviewer = runbook.last_reviewed_by
    return DigestItem(
        runbook_id=runbook.pk,
        title=runbook.title,
        slug=runbook.slug,
        state=state,
        state_label=ReviewState(state).label,
        due=runbook.next_review_due,
        days_overdue=runbook.days_overdue(now),
        last_reviewer=(reviewer.get_full_name() or reviewer.get_username()) if reviewer else "",
        last_reviewed_at=runbook.last_reviewed_at,
        owner=runbook.owner.get_username() if runbook.owner else "",
        team=runbook.team.name if runbook.team else "",
        cadence=runbook.get_review_cadence_display(),
        url=absolute(runbook.get_absolute_url()),
        review_url=absolute(reverse("runbooks:review", args=[runbook.slug])),
    )


def collect_digests(now: dt.datetime) -> tuple[list[Digest], ScanReport]:
    """Work out every digest due today, routed through preferences and delegates."""
    day = timezone.localdate(now)
    report = ScanReport(day=day)
    prefs = {p.user_id: p for p in ReminderPreference.objects.all()}

    owned = Runbook.objects.needing_review(now).filter(owner__isnull=False)
    escalated = Runbook.objects.escalated(now).filter(team__lead__isnull=False)
    sources = (
        (DigestKind.OWNER, _counts(owned, "owner_id", now), _top_rows(owned, "owner_id")),
        (DigestKind.ESCALATION, _counts(escalated, "team__lead_id", now), _top_rows(escalated, "team__lead_id")),
    )
    rows_by_kind: dict[DigestKind, defaultdict[int, list[Runbook]]] = {kind: defaultdict(list) for kind, _, _ in sources}
    for kind, _, rows in sources:
        for runbook in rows:
            # digest_recipient is annotated onto each row by _top_rows().
            rows_by_kind[kind][cast(Any, runbook).digest_recipient].append(runbook)

    # Route each original recipient to whoever should get it today (themselves or a delegate).
    routed: dict[tuple[int, DigestKind], list[tuple[int, dict[str, int]]]] = defaultdict(list)
    for kind, counts, _ in sources:
        for user_id, row in counts.items():
            pref = prefs.get(user_id)
            target = user_id
            if pref is not None and pref.on_leave:
                if pref.delegate_id is None:
                    report.paused += 1
                    continue
                target = pref.delegate_id
            target_pref = prefs.get(target)
            if target_pref is not None and not target_pref.wants_digest_on(day):
                report.not_today += 1
                continue
            routed[(target, kind)].append((user_id, row))

    users = get_user_model().objects.in_bulk({uid for key, parts in routed.items() for uid in (key[0], *[p[0] for p in parts])})
    digests = []
    for (target, kind), parts in routed.items():
        digest = Digest(recipient=users[target], kind=kind)
        for user_id, row in parts:
            if user_id != target:
                digest.on_behalf_of.append(users[user_id].get_username())
            digest.total += row["total"]
            digest.overdue += row["overdue"]
            digest.due_soon += row["due_soon"]
            digest.requested += row["requested"]
            digest.items.extend(_item(r, now) for r in rows_by_kind[kind][user_id])
        digest.items.sort(key=lambda i: (i.due is None, i.due or now, i.runbook_id))
        digests.append(digest)
    digests.sort(key=lambda d: (d.recipient.pk, d.kind))
    return digests, report


def _context(digest: Digest, day: dt.date) -> dict[str, Any]:
    return {
        "digest": digest,
        "recipient": digest.recipient,
        "escalation": digest.kind == DigestKind.ESCALATION,
        "day": day,
        "dashboard_url": absolute(reverse("runbooks:reviews")),
        "preferences_url": absolute(reverse("runbooks:reminder_preferences")),
    }


def send_review_reminders(now: dt.datetime | None = None) -> ScanReport:
    """Snapshot compliance, then send every digest due today that nobody has claimed yet.

    Raises the first SMTP/network error after trying every recipient, so the
    caller retries; digests already sent are skipped on the retry.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    digests, report = collect_digests(now)
    report.snapshot = reviews.record_snapshot(now)
    claimed = set(ReminderDigest.objects.filter(day=day).values_list("recipient_id", "kind"))
    connection = get_connection()
    first_error: BaseException | None = None
    for digest in digests:
        recipient = digest.recipient
        if (recipient.pk, digest.kind) in claimed:
            report.already_sent += 1
            continue
        if not recipient.email or not recipient.is_active:
            report.no_email += 1
            continue
        context = _context(digest, day)
        message = emails.build("review_digest", [recipient.email], context)
        try:
            with transaction.atomic():
                claim = ReminderDigest.objects.create(
                    recipient=recipient,
                    kind=digest.kind,
                    day=day,
                    status=DigestStatus.SENDING,
                    subject=message.subject[:300],
                    runbook_count=digest.total,
                    overdue_count=digest.overdue,
                    items=[
                        {"title": i.title, "slug": i.slug, "state": i.state, "days_overdue": i.days_overdue}
                        for i in digest.items
                    ],
                    on_behalf_of=digest.on_behalf_of,
                    created_at=now,
                )
        except IntegrityError:
            # Another run or worker claimed this digest first; it sends it, we do not.
            report.already_sent += 1
            continue
        try:
            message.connection = connection
            message.send(fail_silently=False)
        except BaseException as exc:
            # Nothing was delivered, so release the claim for the retry.
            ReminderDigest.objects.filter(pk=claim.pk).delete()
            if not isinstance(exc, SEND_ERRORS):
                raise
            log.warning("review digest to %s failed: %s", recipient.email, exc)
            report.failed.append((recipient.get_username(), digest.kind, str(exc)))
            first_error = first_error or exc
            continue
        ReminderDigest.objects.filter(pk=claim.pk).update(status=DigestStatus.SENT, sent_at=timezone.now())
        report.sent.append((recipient.get_username(), digest.kind))
    log.info("review reminders %s", report.summary())
    if first_error is not None:
        raise first_error
    return report
