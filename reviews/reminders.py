"""The review reminder scan: one digest email per recipient, kind and day.

Called by the Celery beat task `reviews.tasks.send_review_reminders` and by
`manage.py send_review_reminders`; running it again the same day is harmless.

Who hears about what: an owner gets the runbooks they own; a team lead gets
their teams' runbooks overdue by more than twice the cadence (escalation), and
the runbooks of their teams that nobody owns; runbooks with neither an owner
nor a team lead go to the admins (the admin role, and superusers). Archived
runbooks are left out.

Delivery semantics: at least once per recipient, kind and day.

- The day is fixed when a scan starts and handed to every retry, so a retry
  after midnight finishes that day's digests instead of sending a new day.
- Before it talks to SMTP, a scan claims the digest: it inserts its
  ReminderDigest row (unique per recipient, kind and day) in "sending" with a
  lease of REVIEW_REMINDER_LEASE_SECONDS, or takes over an existing row with a
  conditional UPDATE that names the status, attempt count and deadline it read
  (continue only if exactly one row changed). Two workers or a double run
  therefore never both send.
- After the SMTP server accepted the message the row becomes "sent". If SMTP
  refuses or cannot be reached, the row becomes "retrying" with the reason and
  a deadline that doubles per attempt; a permanent refusal (5xx) or the last
  attempt makes it "failed". A worker killed mid-send leaves it "sending"; once
  the lease runs out it counts as "retrying".
- The next scan of that day, the task's own retry or the retry sweep
  (`retry_review_reminders`, run by beat every lease period) claims
  "retrying" rows whose deadline has passed and sends them again.
- Every attempt carries the same Message-ID, so the one case that can deliver
  twice, a server that accepted the message but hung up before saying so,
  gives two copies a mail client or a person recognises as the same email.

Finding what to send is a fixed number of queries whatever the library size
(preferences, per-recipient counts and top rows per source, admins,
recipients, the day's claims); each digest then costs one claim and one update.
A digest lists at most DIGEST_MAX_ITEMS runbooks, oldest first, with the
totals and a link to the dashboard for the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from fixit_runbooks import emails
from runbooks import review_policy
from runbooks.models import ReviewState, Runbook
from runbooks.roles import ADMIN

from . import compliance
from .models import DigestKind, DigestStatus, ReminderDigest, ReminderPreference

log = logging.getLogger(__name__)

DIGEST_MAX_ITEMS = 50
SEND_ERRORS = (smtplib.SMTPException, OSError)
MAX_ATTEMPTS = 12
# Waits between attempts double from RETRY_BASE up to RETRY_MAX: about 2.5 hours in all.
RETRY_BASE = dt.timedelta(seconds=5)
RETRY_MAX = dt.timedelta(hours=1)
# The retry sweep looks this far back for unfinished digests.
RETRY_DAYS = 7
UNFINISHED = (DigestStatus.SENDING, DigestStatus.RETRYING)
COUNTED_STATES = (
    ReviewState.OVERDUE,
    ReviewState.DUE_SOON,
    ReviewState.NEVER_REVIEWED,
    ReviewState.REQUESTED,
    ReviewState.CHANGES_REQUESTED,
)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.REVIEW_REMINDER_LEASE_SECONDS)


def retry_wait(attempts: int) -> dt.timedelta:
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


def message_id(recipient_id: int, kind: str, day: dt.date) -> str:
    """The same for every attempt at one digest, and different for every other digest."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<review-digest.{day:%Y%m%d}.{kind}.{recipient_id}@{domain}>"


def smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{rcpt}: {code} {msg.decode(errors='replace')}"
            for rcpt, (code, msg) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        error = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {error}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer: the server will refuse this message however often it is sent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


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
    never_reviewed: int = 0
    requested: int = 0
    changes_requested: int = 0
    on_behalf_of: list[str] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass
class ScanReport:
    day: dt.date
    sent: list[tuple[str, str]] = field(default_factory=list)
    already_sent: int = 0
    in_flight: int = 0
    # Digests of this day that failed for good earlier (see the admin's digest list).
    gave_up: int = 0
    paused: int = 0
    not_today: int = 0
    no_email: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    # Seconds until the earliest digest of this scan that failed may be tried again.
    retry_in: float | None = None
    snapshot: Any = None

    def summary(self) -> str:
        return (
            f"{self.day}: {len(self.sent)} digest(s) sent, {self.already_sent} already sent today, "
            f"{self.in_flight} being sent elsewhere, {self.paused} paused, {self.not_today} not due today (weekly), "
            f"{self.no_email} without email, {len(self.failed)} failed, {self.gave_up} given up earlier"
        )


@dataclass
class _Source:
    """One way runbooks reach recipients: counts and top rows per original recipient."""

    kind: str
    counts: dict[int, dict[str, int]]
    rows: dict[int, list[Runbook]]


ITEM_FIELDS = (
    "title",
    "slug",
    "review_cadence",
    "next_review_due",
    "review_requested_at",
    "review_request_kind",
    "last_reviewed_at",
    "owner__username",
    "team__name",
    "last_reviewed_by__username",
    "last_reviewed_by__first_name",
    "last_reviewed_by__last_name",
)


def _top_rows(queryset: QuerySet[Runbook], partition: str) -> dict[int, list[Runbook]]:
    """The DIGEST_MAX_ITEMS oldest-due runbooks per recipient, in one query."""
    rows = (
        queryset.annotate(
            digest_rank=Window(
                RowNumber(),
                partition_by=[F(partition)],
                order_by=[F("next_review_due").asc(), F("pk").asc()],
            )
        )
        .filter(digest_rank__lte=DIGEST_MAX_ITEMS)
        .annotate(digest_recipient=F(partition))
        .select_related("owner", "team", "last_reviewed_by")
        .only(*ITEM_FIELDS)
        .order_by("next_review_due", "pk")
    )
    grouped: defaultdict[int, list[Runbook]] = defaultdict(list)
    for runbook in rows:
        # digest_recipient is annotated onto each row above.
        grouped[cast(Any, runbook).digest_recipient].append(runbook)
    return grouped


def _count_fields(now: dt.datetime) -> dict[str, Any]:
    states = review_policy.state_q(now)
    return {
        "total": Count("pk"),
        **{state: Count("pk", filter=states[state]) for state in COUNTED_STATES},
    }


def _counts(
    queryset: QuerySet[Runbook], partition: str, now: dt.datetime
) -> dict[int, dict[str, int]]:
    rows = queryset.values(partition).annotate(**_count_fields(now)).order_by()
    return {row[partition]: row for row in rows}


def _admin_ids() -> list[int]:
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ADMIN))
    )
    return sorted(set(users.values_list("pk", flat=True)))


def _to_admins(queryset: QuerySet[Runbook], now: dt.datetime) -> _Source:
    """Runbooks with neither owner nor team lead: every admin gets the same list."""
    totals = queryset.aggregate(**_count_fields(now))
    if not totals["total"]:
        return _Source(DigestKind.UNOWNED, {}, {})
    rows = list(
        queryset.select_related("owner", "team", "last_reviewed_by")
        .only(*ITEM_FIELDS)
        .order_by("next_review_due", "pk")[:DIGEST_MAX_ITEMS]
    )
    admins = _admin_ids()
    return _Source(DigestKind.UNOWNED, {pk: totals for pk in admins}, {pk: rows for pk in admins})


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
        review_url=absolute(reverse("reviews:review", args=[runbook.slug])),
    )


def collect_digests(
    now: dt.datetime, day: dt.date | None = None
) -> tuple[list[Digest], ScanReport]:
    """Work out every digest due on `day`, routed through preferences and delegates."""
    day = day or timezone.localdate(now)
    report = ScanReport(day=day)
    prefs = {p.user_id: p for p in ReminderPreference.objects.all()}

    library = Runbook.objects.active()
    needing = library.needing_review(now)
    owned = needing.filter(owner__isnull=False)
    unowned_led = needing.filter(owner__isnull=True, team__lead__isnull=False)
    unowned_unled = needing.filter(owner__isnull=True).filter(
        Q(team__isnull=True) | Q(team__lead__isnull=True)
    )
    escalated = library.escalated(now).filter(team__lead__isnull=False)
    sources = [
        _Source(DigestKind.OWNER, _counts(owned, "owner_id", now), _top_rows(owned, "owner_id")),
        _Source(
            DigestKind.UNOWNED,
            _counts(unowned_led, "team__lead_id", now),
            _top_rows(unowned_led, "team__lead_id"),
        ),
        _to_admins(unowned_unled, now),
        _Source(
            DigestKind.ESCALATION,
            _counts(escalated, "team__lead_id", now),
            _top_rows(escalated, "team__lead_id"),
        ),
    ]

    # Route each original recipient to whoever should get it today (themselves or a delegate).
    routed: dict[tuple[int, str], list[tuple[_Source, int]]] = defaultdict(list)
    for source in sources:
        for user_id in source.counts:
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
            routed[(target, source.kind)].append((source, user_id))

    wanted = {
        uid for (target, _), parts in routed.items() for uid in (target, *[p[1] for p in parts])
    }
    users = get_user_model().objects.in_bulk(wanted)
    digests = []
    for (target, kind), parts in routed.items():
        digest = Digest(recipient=users[target], kind=kind)
        seen: set[int] = set()
        for source, user_id in parts:
            name = users[user_id].get_username()
            if user_id != target and name not in digest.on_behalf_of:
                digest.on_behalf_of.append(name)
            row = source.counts[user_id]
            digest.total += row["total"]
            digest.overdue += row[ReviewState.OVERDUE]
            digest.due_soon += row[ReviewState.DUE_SOON]
            digest.never_reviewed += row[ReviewState.NEVER_REVIEWED]
            digest.requested += row[ReviewState.REQUESTED]
            digest.changes_requested += row[ReviewState.CHANGES_REQUESTED]
            for runbook in source.rows.get(user_id, []):
                if runbook.pk not in seen:
                    seen.add(runbook.pk)
                    digest.items.append(_item(runbook, now))
        digest.items.sort(key=lambda i: (i.due is None, i.due or now, i.runbook_id))
        digests.append(digest)
    digests.sort(key=lambda d: (d.recipient.pk, d.kind))
    return digests, report


def _context(digest: Digest, day: dt.date) -> dict[str, Any]:
    return {
        "digest": digest,
        "recipient": digest.recipient,
        "escalation": digest.kind == DigestKind.ESCALATION,
        "unowned": digest.kind == DigestKind.UNOWNED,
        "day": day,
        "dashboard_url": absolute(reverse("reviews:dashboard")),
        "preferences_url": absolute(reverse("reviews:preferences")),
    }


def _record_fields(digest: Digest, subject: str) -> dict[str, Any]:
    return {
        "subject": subject[:300],
        "runbook_count": digest.total,
        "overdue_count": digest.overdue,
        "items": [
            {"title": i.title, "slug": i.slug, "state": i.state, "days_overdue": i.days_overdue}
            for i in digest.items
        ],
        "on_behalf_of": digest.on_behalf_of,
    }


def _claim(
    digest: Digest, day: dt.date, found: ReminderDigest | None, subject: str, report: ScanReport
) -> ReminderDigest | None:
    """Own this digest's row in "sending", or None when it is sent, failed or someone else holds it."""
    now = timezone.now()
    fields = _record_fields(digest, subject)
    if found is None:
        try:
            with transaction.atomic():
                return ReminderDigest.objects.create(
                    recipient=digest.recipient,
                    kind=digest.kind,
                    day=day,
                    status=DigestStatus.SENDING,
                    message_id=message_id(digest.recipient.pk, digest.kind, day),
                    attempts=1,
                    lease_expires_at=now + lease(),
                    created_at=now,
                    **fields,
                )
        except IntegrityError:
            # Another run or worker claimed this digest first; it sends it, we do not.
            report.in_flight += 1
            return None
    if found.status == DigestStatus.SENT:
        report.already_sent += 1
        return None
    if found.status == DigestStatus.FAILED:
        report.gave_up += 1
        return None
    if found.lease_expires_at is not None and found.lease_expires_at > now:
        report.in_flight += 1
        return None
    # "retrying" past its deadline, or "sending" past its lease (the sender died):
    # take it over only if nobody changed it since we read it.
    taken = ReminderDigest.objects.filter(
        pk=found.pk,
        status=found.status,
        attempts=found.attempts,
        lease_expires_at=found.lease_expires_at,
    ).update(
        status=DigestStatus.SENDING,
        attempts=found.attempts + 1,
        lease_expires_at=now + lease(),
        message_id=found.message_id or message_id(digest.recipient.pk, digest.kind, day),
        **fields,
    )
    if taken != 1:
        report.in_flight += 1
        return None
    found.refresh_from_db()
    return found


def _send(
    digest: Digest, claim: ReminderDigest, message: Any, connection: Any, report: ScanReport
) -> bool:
    """Send one claimed digest and record the outcome; True if SMTP accepted it."""
    recipient = digest.recipient
    ours = ReminderDigest.objects.filter(pk=claim.pk, attempts=claim.attempts)
    message.extra_headers["Message-ID"] = claim.message_id
    message.connection = connection
    try:
        message.send(fail_silently=False)
    except SEND_ERRORS as exc:
        reason = smtp_reason(exc)
        final = is_permanent(exc) or claim.attempts >= MAX_ATTEMPTS
        wait = retry_wait(claim.attempts)
        ours.update(
            status=DigestStatus.FAILED if final else DigestStatus.RETRYING,
            last_error=reason[:2000],
            lease_expires_at=None if final else timezone.now() + wait,
        )
        log.warning(
            "review digest %s to %s failed (attempt %s): %s",
            claim.message_id,
            recipient.email,
            claim.attempts,
            reason,
        )
        report.failed.append((recipient.get_username(), digest.kind, reason))
        if not final:
            seconds = wait.total_seconds()
            report.retry_in = seconds if report.retry_in is None else min(report.retry_in, seconds)
        return False
    except BaseException as exc:
        # Not an SMTP answer (a bug, an interrupt): leave it for a retry once the lease runs out.
        ours.update(status=DigestStatus.RETRYING, last_error=smtp_reason(exc)[:2000])
        raise
    if (
        ours.update(
            status=DigestStatus.SENT, sent_at=timezone.now(), lease_expires_at=None, last_error=""
        )
        != 1
    ):
        log.warning(
            "review digest %s was taken over after its lease ran out; it may arrive twice",
            claim.message_id,
        )
    report.sent.append((recipient.get_username(), digest.kind))
    return True


def send_review_reminders(
    now: dt.datetime | None = None, *, day: dt.date | None = None, retry_only: bool = False
) -> ScanReport:
    """Snapshot compliance, then send every digest of `day` that is not sent or held by someone else.

    `day` defaults to today and is fixed for the whole scan (and its retries).
    With `retry_only`, only digests already claimed that day and left unfinished
    are sent: what the retry sweep does. Failures are recorded on their rows and
    in the report (`failed`, `retry_in`), never raised.
    """
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    digests, report = collect_digests(now, day)
    if not retry_only:
        report.snapshot = compliance.record_snapshot(now)
    claims = {(c.recipient_id, c.kind): c for c in ReminderDigest.objects.filter(day=day)}
    connection = get_connection()
    for digest in digests:
        recipient = digest.recipient
        found = claims.pop((recipient.pk, digest.kind), None)
        if retry_only and found is None:
            continue
        if not recipient.email or not recipient.is_active:
            report.no_email += 1
            continue
        message = emails.build("review_digest", [recipient.email], _context(digest, day))
        claim = _claim(digest, day, found, str(message.subject), report)
        if claim is None:
            continue
        if not _send(digest, claim, message, connection, report):
            # The connection may be half-open after an error; the next digest opens a fresh one.
            with contextlib.suppress(*SEND_ERRORS):
                connection.close()
            connection = get_connection()
    _drop_unneeded(claims.values())
    with contextlib.suppress(*SEND_ERRORS):
        connection.close()
    if not retry_only:
        # Watchers and team channels hear once a day per overdue runbook.
        from notifications.overdue import announce_overdue

        announce_overdue(now, day)
    log.info("review reminders %s", report.summary())
    return report


def _drop_unneeded(leftovers: Any) -> None:
    """Unfinished claims whose digest has nothing left to list (all signed off meanwhile)."""
    now = timezone.now()
    stale = [
        c.pk
        for c in leftovers
        if c.status in UNFINISHED and (c.lease_expires_at is None or c.lease_expires_at <= now)
    ]
    if stale:
        ReminderDigest.objects.filter(pk__in=stale, status__in=UNFINISHED).update(
            status=DigestStatus.FAILED,
            last_error="Not sent: nothing left to review when it was retried.",
            lease_expires_at=None,
        )


def days_to_retry(now: dt.datetime | None = None) -> list[dt.date]:
    """Days with a digest left "retrying" past its deadline or "sending" past its lease."""
    now = now or timezone.now()
    since = timezone.localdate(now) - dt.timedelta(days=RETRY_DAYS)
    due = ReminderDigest.objects.filter(status__in=UNFINISHED, day__gte=since).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    )
    return sorted(set(due.values_list("day", flat=True)))


def retry_unfinished(now: dt.datetime | None = None) -> list[ScanReport]:
    """The retry sweep: finish every recent day's unfinished digests, each under its own day."""
    return [send_review_reminders(now, day=day, retry_only=True) for day in days_to_retry(now)]
