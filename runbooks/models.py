"""The runbook library: runbooks, their immutable revisions, document history and audit.

Every write that touches more than one row is a method here that runs in one
transaction with the runbook row locked, so the admin, the views, the importer
and scripts all behave the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from . import review_policy, shapes, signals
from .append_only import AppendOnlyModel
from .markdown import Rendered, current_policy_version, render

# Re-exported: the library's models module is where callers look for them.
from .review_policy import CADENCE_DELTAS as CADENCE_DELTAS
from .review_policy import RequestKind as RequestKind
from .review_policy import ReviewCadence as ReviewCadence
from .review_policy import ReviewState as ReviewState


class Kind(models.TextChoices):
    INCIDENT = "incident", "Incident runbook"
    PROCEDURE = "procedure", "Procedure"
    GUARDRAIL = "guardrail", "Guardrail"
    SERVICE = "service", "Service runbook"
    POSTMORTEM = "postmortem", "Post-incident review"
    BREAK_GLASS = "break_glass", "Break-glass procedure"
    ROLLBACK = "rollback", "Rollback procedure"


class Category(models.TextChoices):
    PERFORMANCE = "performance", "Performance"
    DATABASE = "database", "Database"
    SERVICE = "service", "Service"
    DATA = "data", "Data"
    SECURITY = "security", "Security"
    OPERATIONAL = "operational", "Operational procedure"
    INCIDENT_RESPONSE = "incident-response", "Incident response"
    MAINTENANCE = "maintenance", "Maintenance"


class Severity(models.TextChoices):
    P0 = "P0", "P0 · Critical"
    P1 = "P1", "P1 · High"
    P2 = "P2", "P2 · Medium"
    P3 = "P3", "P3 · Low"


RESPONSE_TARGETS: dict[str, dt.timedelta] = {
    Severity.P0: dt.timedelta(minutes=15),
    Severity.P1: dt.timedelta(hours=1),
    Severity.P2: dt.timedelta(hours=4),
    Severity.P3: dt.timedelta(hours=24),
}


def response_target_label(severity: str) -> str:
    target = RESPONSE_TARGETS.get(severity)
    if target is None:
        return ""
    minutes = int(target.total_seconds() // 60)
    return f"under {minutes} minutes" if minutes < 60 else f"under {minutes // 60} hour" + (
        "s" if minutes >= 120 else ""
    )


def saved_user(user: Any) -> Any:
    """The user to store on a row, or None for anonymous or unsaved users (scripts, imports)."""
    return user if getattr(user, "pk", None) else None


class ReviewOutcome(models.TextChoices):
    ACCURATE = "accurate", "Still accurate"
    UPDATED = "updated", "Updated"
    NEEDS_CHANGES = "needs_changes", "Needs changes"


class ReviewRefused(Exception):
    """A sign-off the rules do not allow (own change, unknown outcome); nothing was written."""


class StaleReview(ReviewRefused):
    """The reviewer read an older revision than the current one; nothing was written."""

    def __init__(self, *, read: int, current: Revision):
        super().__init__(
            f"You reviewed revision {read}, but revision {current.number} (version {current.version}) "
            "was saved since. Read the current text and review it again."
        )
        self.read = read
        self.current = current


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )
    # "publish": edits publish at once; "propose": they wait for approval. Blank: the site default.
    change_control = models.CharField(
        max_length=10,
        blank=True,
        choices=[("publish", "Edits publish at once"), ("propose", "Edits are proposals, approved before they publish")],
        help_text="Blank uses the site default (CHANGE_CONTROL_DEFAULT).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        super().save(*args, **kwargs)


class NamedLabel(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(NamedLabel):
    pass


class Tag(NamedLabel):
    pass


class RunbookQuerySet(models.QuerySet["Runbook"]):
    def active(self) -> RunbookQuerySet:
        """Not archived: what the index, search and reminders work on."""
        return self.filter(archived_at__isnull=True)

    def visible_to(self, user: Any) -> RunbookQuerySet:
        # Every role can read the whole library; anonymous users see nothing.
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self

    def with_list_data(self) -> RunbookQuerySet:
        """What the index rows show: the runbook's own columns and its owner, in one query.

        No revision join: it would carry every row's body and rendered HTML.
        """
        return self.select_related("owner")

    def bump_page_version(self) -> int:
        return self.update(page_version=models.F("page_version") + 1)

    def with_page_stamp(self) -> RunbookQuerySet:
        """Annotate the newest history row id: with the row's own fields it keys the page cache."""
        newest_history = HistoryEntry.objects.filter(runbook=models.OuterRef("pk")).order_by("-id").values("id")[:1]
        return self.annotate(history_stamp=models.Subquery(newest_history))

    def with_watched_by(self, user: Any) -> RunbookQuerySet:
        """Annotate `watched_by_viewer`: whether `user` watches the runbook (the page's watch button)."""
        from notifications.models import Watch

        watches = Watch.objects.filter(user=user.pk, runbook=models.OuterRef("pk"))
        return self.annotate(watched_by_viewer=models.Exists(watches))

    def in_review_state(self, state: str, now: dt.datetime | None = None) -> RunbookQuerySet:
        return self.filter(review_policy.state_filter(state, now or timezone.now()))

    def overdue(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        return self.in_review_state(ReviewState.OVERDUE, now)

    def due_soon(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        return self.in_review_state(ReviewState.DUE_SOON, now)

    def needing_review(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        """What a reminder digest lists (review_policy.needs_reminder_q)."""
        return self.filter(review_policy.needs_reminder_q(now or timezone.now()))

    def escalated(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        """Overdue by more than twice the cadence: the team lead hears about these."""
        return self.filter(review_policy.escalated_q(now or timezone.now()))

    def with_alert(self, alert_name: str) -> RunbookQuerySet:
        return self.filter(alert_names__name_lower=alert_name.strip().lower()).distinct()


# What other runbooks' "Related runbooks" lists show of a runbook.
RELATED_LIST_FIELDS = frozenset({"title", "slug", "severity"})


# The details a runbook form edits, in the order the audit log lists them.
DETAIL_FIELDS = (
    "title",
    "slug",
    "summary",
    "kind",
    "category",
    "severity",
    "audience",
    "owner",
    "team",
    "review_cadence",
)
LABEL_KINDS = ("alert_names", "services", "tags", "related")
# (names added, names removed) for one label list.
LabelChange = tuple[list[str] | tuple[str, ...], list[str] | tuple[str, ...]]


def normalised_labels(kind: str, names: Any) -> list[str]:
    """Names as they are stored: stripped, tags lower-cased, duplicates dropped, order kept."""
    cleaned = (str(name).strip() for name in names)
    return list(dict.fromkeys(name.lower() if kind == "tags" else name for name in cleaned if name))


def comparable(value: Any) -> Any:
    """A field value reduced to what equality means: a related row by its key."""
    return value.pk if isinstance(value, models.Model) else value


def audit_value(value: Any) -> Any:
    """A field value as the audit log stores it: JSON, readable (a user by username, a team by name)."""
    if isinstance(value, models.Model):
        get_username = getattr(value, "get_username", None)
        return get_username() if get_username else str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _field_order(name: str) -> int:
    return DETAIL_FIELDS.index(name) if name in DETAIL_FIELDS else len(DETAIL_FIELDS)


class StaleDetails(Exception):
    """The details changed since the form (or script) read them; nothing was written."""

    def __init__(self, current: Runbook):
        super().__init__(
            f"the runbook's details changed meanwhile (now at version {current.row_version})"
        )
        self.current = current


class EditConflict(Exception):
    """Someone else saved a newer revision after the editor opened the page."""

    def __init__(self, current: Revision):
        super().__init__(f"revision {current.number} was saved meanwhile")
        self.current = current


# Slugs that would shadow the app's own URLs under /runbooks/, and names Windows
# cannot use as file names (an export writes <slug>.md).
URL_WORDS = frozenset({"new", "preview", "import", "export", "export-zip", "archived"})
WINDOWS_DEVICE_NAMES = frozenset(
    {"con", "nul", "prn", "aux", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}
)
RESERVED_SLUGS = URL_WORDS | WINDOWS_DEVICE_NAMES


def validate_slug_not_reserved(value: str) -> None:
    word = value.lower()
    if word in URL_WORDS:
        raise ValidationError(
            f"“{value}” is a word the app uses in its own addresses; choose another slug.", code="reserved_slug"
        )
    if word in WINDOWS_DEVICE_NAMES:
        raise ValidationError(
            f"“{value}” is a reserved device name on Windows, so it cannot be an exported file name; choose another slug.",
            code="reserved_slug",
        )


class Runbook(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, validators=[validate_slug_not_reserved])
    summary = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INCIDENT)
    category = models.CharField(max_length=30, choices=Category.choices, default=Category.SERVICE)
    severity = models.CharField(max_length=2, choices=Severity.choices, default=Severity.P2)
    audience = models.CharField("primary audience", max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_runbooks"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="runbooks")
    services = models.ManyToManyField(Service, blank=True, related_name="runbooks")
    tags = models.ManyToManyField(Tag, blank=True, related_name="runbooks")
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    review_cadence = models.CharField(max_length=10, choices=ReviewCadence.choices, default=ReviewCadence.MONTHLY)

    current_revision = models.ForeignKey(
        "Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    missing_sections = models.JSONField(default=list, blank=True)

    # Review state: a due date is stored, not a flag, so "overdue" is one indexed range query.
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_review_due = models.DateTimeField(null=True, blank=True, db_index=True)
    review_requested_at = models.DateTimeField(null=True, blank=True)
    review_requested_reason = models.CharField(max_length=200, blank=True)
    # What the open request asks for: a look ("review"), or a fix a reviewer asked for ("changes").
    review_request_kind = models.CharField(max_length=10, choices=RequestKind.choices, blank=True)
    review_requested_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Who the open review request is assigned to.",
    )
    last_drilled_at = models.DateTimeField(null=True, blank=True)
    # Bumped by anything shown on the runbook page that lives in other rows
    # (related runbooks, incidents and drills): part of the page cache key.
    page_version = models.PositiveIntegerField(default=0, editable=False)

    # Archived runbooks keep their history but leave the index, search and reminders.
    archived_at = models.DateTimeField(null=True, blank=True)
    # The version a details form carries: a stale form gets a conflict, never a silent overwrite.
    row_version = models.PositiveIntegerField(default=1, editable=False)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = RunbookQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["category", "title"])]
        constraints = [
            models.UniqueConstraint(
                Lower("slug"),
                name="runbook_slug_unique_ignoring_case",
                violation_error_message="Another runbook already uses this slug (slugs are compared ignoring case).",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("runbooks:detail", args=[self.slug])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Deleting takes its revisions and history with it; only an unused runbook may go.
        raise ValueError("Runbooks are archived, or removed with runbooks.archiving.delete_if_unused().")

    # --- derived values -------------------------------------------------

    @property
    def version(self) -> str:
        return self.current_revision.version if self.current_revision else "0.0"

    @property
    def response_target(self) -> str:
        return response_target_label(self.severity)

    # What the warm runbook page loads of the row: its cache key's fields and the review state's.
    PAGE_ROW_FIELDS = (
        "slug",
        "page_version",
        "current_revision",
        "updated_at",
        "owner",
        "team",
        "last_reviewed_at",
        "last_reviewed_by",
        "next_review_due",
        "last_drilled_at",
        "review_requested_at",
        "review_request_kind",
        "review_cadence",
    )

    def page_cache_key(self) -> str:
        """Changes whenever anything shown in the cached part of the runbook page changes.

        Needs `with_page_stamp()`. Every write path bumps `updated_at` or adds a
        history row; review and drill dates are part of the key themselves.
        """
        parts = (
            self.pk,
            self.page_version,
            self.current_revision_id,
            self.updated_at.timestamp(),
            getattr(self, "history_stamp", None),
            self.owner_id,
            self.team_id,
            self.last_reviewed_at and self.last_reviewed_at.timestamp(),
            self.last_reviewed_by_id,
            self.next_review_due and self.next_review_due.timestamp(),
            self.last_drilled_at and self.last_drilled_at.timestamp(),
            # A review request is written without touching updated_at; each one has its own time.
            self.review_requested_at and self.review_requested_at.timestamp(),
            self.review_request_kind,
            self.review_cadence,
        )
        return "runbook-page:" + ":".join(str(part) for part in parts)

    def cadence_delta(self) -> relativedelta:
        return review_policy.cadence_delta(self.review_cadence)

    def due_after(self, moment: dt.datetime) -> dt.datetime:
        return review_policy.due_after(self.review_cadence, moment)

    def review_state(self, now: dt.datetime | None = None) -> str:
        """One of ReviewState, by the rule in runbooks.review_policy."""
        return review_policy.runbook_state(self, now or timezone.now())

    def review_state_label(self) -> str:
        return str(ReviewState(self.review_state()).label)

    def days_overdue(self, now: dt.datetime | None = None) -> int:
        now = now or timezone.now()
        if self.next_review_due is None or self.next_review_due >= now:
            return 0
        return (now - self.next_review_due).days

    def review_assignee(self) -> Any:
        """Who answers for this runbook's reviews: its owner, else its team's lead (None: the admins)."""
        if self.owner_id is not None:
            return self.owner
        return self.team.lead if self.team_id is not None and self.team is not None else None

    # --- writes ---------------------------------------------------------

    def request_review(self, *, reason: str, by: Any = None) -> None:
        """Ask for a review now (after an incident or drill, or by hand); a sign-off clears it.

        An open "changes requested" stays as it is: it already asks for more than a look.
        """
        with transaction.atomic():
            locked = Runbook.objects.select_for_update(of=("self",)).select_related("owner", "team__lead").get(pk=self.pk)
            if locked.review_request_kind != RequestKind.CHANGES or locked.review_requested_at is None:
                locked._open_request(RequestKind.REVIEW, reason, timezone.now())
            AuditEvent.record(by, "runbook.review_requested", locked, {"reason": reason})
        self._copy_review_fields(locked)

    def _open_request(self, kind: str, reason: str, now: dt.datetime) -> None:
        assignee = self.review_assignee()
        self.review_requested_at = now
        self.review_requested_reason = reason[:200]
        self.review_request_kind = kind
        self.review_requested_for = assignee
        Runbook.objects.filter(pk=self.pk).update(
            review_requested_at=now,
            review_requested_reason=reason[:200],
            review_request_kind=kind,
            review_requested_for=assignee,
        )

    REVIEW_FIELDS = (
        "last_reviewed_at",
        "last_reviewed_by",
        "next_review_due",
        "review_requested_at",
        "review_requested_reason",
        "review_request_kind",
        "review_requested_for",
    )

    def _copy_review_fields(self, source: Runbook) -> None:
        for name in self.REVIEW_FIELDS:
            setattr(self, name, getattr(source, name))

    def mark_reviewed(
        self, by: Any, note: str = "", outcome: str = "accurate", *, revision_number: int | None = None
    ) -> HistoryEntry:
        """Record a reviewer's verdict on the revision they read.

        `revision_number` is the revision the reviewer's form showed; if a newer
        one is current, StaleReview is raised and nothing is written, because a
        sign-off vouches for a text, not for whatever text is there when the form
        arrives. "Still accurate" and "updated" sign it off and restart the clock
        from now (nothing else restarts it). "Needs changes" signs nothing off: it
        opens a request for changes assigned to the owner (or the team lead) with
        the note, and the runbook stays "changes requested" until signed off again.
        With REVIEW_REQUIRES_SECOND_REVIEWER the author of the current revision
        cannot sign it off: the point of a review is a second pair of eyes.
        """
        if outcome not in ReviewOutcome.values:
            raise ReviewRefused(f"Unknown review outcome {outcome!r}.")
        with transaction.atomic():
            # The current revision is read after the lock: a row joined into the locking
            # query can be the one from before the wait on PostgreSQL.
            locked = (
                Runbook.objects.select_for_update(of=("self",))
                .select_related("owner", "team__lead")
                .get(pk=self.pk)
            )
            revision = locked.current_revision
            if revision_number is not None and revision is not None and revision.number != revision_number:
                raise StaleReview(read=revision_number, current=revision)
            now = timezone.now()
            note = note.strip()
            if outcome == ReviewOutcome.NEEDS_CHANGES:
                entry = locked._request_changes(by, note, revision, now)
            else:
                entry = locked._sign_off(by, note, outcome, revision, now)
        self._copy_review_fields(locked)
        return entry

    def _request_changes(self, by: Any, note: str, revision: Revision | None, now: dt.datetime) -> HistoryEntry:
        self._open_request(RequestKind.CHANGES, note or "A reviewer asked for changes", now)
        entry = HistoryEntry.objects.create(
            runbook=self,
            revision=revision,
            date=timezone.localdate(now),
            trigger=HistoryTrigger.REVIEW,
            summary="Review: needs changes" + (f" — {note}" if note else ""),
            version=self.version,
            created_by=saved_user(by),
        )
        assignee = self.review_requested_for
        AuditEvent.record(
            by,
            "runbook.changes_requested",
            self,
            {
                "revision": revision.number if revision else None,
                "note": note,
                "assigned_to": assignee.get_username() if assignee else None,
            },
        )
        return entry

    def _sign_off(self, by: Any, note: str, outcome: str, revision: Revision | None, now: dt.datetime) -> HistoryEntry:
        if (
            settings.REVIEW_REQUIRES_SECOND_REVIEWER
            and revision is not None
            and revision.author_id is not None
            and revision.author_id == getattr(by, "pk", None)
        ):
            raise ReviewRefused(f"You wrote revision {revision.number}; another reviewer has to sign it off.")
        self.last_reviewed_at = now
        self.last_reviewed_by = by
        self.next_review_due = self.due_after(now)
        self.review_requested_at = None
        self.review_requested_reason = ""
        self.review_request_kind = ""
        self.review_requested_for = None
        self.save(update_fields=list(self.REVIEW_FIELDS))
        label = ReviewOutcome(outcome).label
        entry = HistoryEntry.objects.create(
            runbook=self,
            revision=revision,
            date=timezone.localdate(now),
            trigger=HistoryTrigger.REVIEW,
            summary=f"Reviewed: {label.lower()}" + (f" — {note}" if note else ""),
            version=self.version,
            reviewer=(by.get_full_name() or by.get_username())[:200],
            reviewer_user=by,
            created_by=by,
        )
        AuditEvent.record(
            by,
            "runbook.reviewed",
            self,
            {
                "outcome": outcome,
                "revision": revision.number if revision else None,
                "version": self.version,
                "next_review_due": self.next_review_due.isoformat(),
            },
        )
        return entry

    @classmethod
    def unique_slug(cls, title: str, exclude_pk: int | None = None) -> str:
        base = slugify(title)[:180] or "runbook"
        candidate, n = base, 2
        others = cls.objects.all() if exclude_pk is None else cls.objects.exclude(pk=exclude_pk)
        while candidate in RESERVED_SLUGS or others.filter(slug__iexact=candidate).exists():
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    @classmethod
    def create_with_revision(
        cls,
        *,
        author: Any,
        body: str,
        change_summary: str = "Created",
        trigger: str = "change",
        reference: str = "",
        history_date: dt.date | None = None,
        alert_names: list[str] | tuple[str, ...] = (),
        services: list[str] | tuple[str, ...] = (),
        tags: list[str] | tuple[str, ...] = (),
        related: list[str] | tuple[str, ...] = (),
        version: str = "1.0",
        record_history: bool = True,
        **fields: Any,
    ) -> Runbook:
        """Create a runbook with its first revision (1.0) and first history entry.

        An import passes the version its file declares, and record_history=False
        when the file brings its own history table (history rows are append-only,
        so the automatic row cannot be swapped out afterwards).
        """
        rendered = render(body)
        with transaction.atomic():
            if not fields.get("slug"):
                fields["slug"] = cls.unique_slug(fields.get("title", ""))
            now = timezone.now()
            runbook = cls(**fields)
            runbook.created_at = runbook.created_at or now
            if runbook.next_review_due is None:
                runbook.next_review_due = runbook.due_after(now)
            runbook.save()
            labels = runbook.set_labels(
                alert_names=alert_names, services=services, tags=tags, related=related, audit=False
            )
            revision = runbook._write_revision(
                author=author,
                body=body,
                change_summary=change_summary,
                version=version,
                trigger=trigger,
                reference=reference,
                history_date=history_date,
                rendered=rendered,
                record_history=record_history,
            )
            changes = {
                name: {"old": None, "new": audit_value(getattr(runbook, name))}
                for name in DETAIL_FIELDS
                if audit_value(getattr(runbook, name)) not in (None, "")
            }
            AuditEvent.record(
                author,
                "runbook.created",
                runbook,
                {
                    "title": runbook.title,
                    "changes": changes,
                    "labels": labels,
                    "revision": {"old": None, "new": revision.number},
                },
            )
        return runbook

    def update_details(
        self,
        *,
        by: Any,
        changed_fields: list[str] | tuple[str, ...] = (),
        labels: dict[str, list[str]] | None = None,
        label_changes: dict[str, LabelChange] | None = None,
        expected_row_version: int | None = None,
    ) -> dict[str, Any]:
        """Save the details set on this instance (`changed_fields`) and label changes, in one locked write.

        Only the named fields are written, from this instance onto the freshly
        locked row, so a stale copy never undoes anyone else's fields. `labels`
        states whole lists (what an imported file says); `label_changes` holds
        what a form added and removed. With `expected_row_version` a write that
        landed since raises StaleDetails and nothing is written. Returns what
        changed, as the audit log records it.
        """
        writable = WRITABLE_FIELDS.intersection(changed_fields)
        with transaction.atomic():
            locked = Runbook.objects.select_for_update(of=("self",)).get(pk=self.pk)
            if expected_row_version is not None and locked.row_version != expected_row_version:
                raise StaleDetails(locked)
            changes: dict[str, dict[str, Any]] = {}
            for name in sorted(writable, key=_field_order):
                new = getattr(self, name)
                if name == "slug" and not new:
                    new = Runbook.unique_slug(self.title or locked.title, exclude_pk=self.pk)
                old = getattr(locked, name)
                if comparable(old) != comparable(new):
                    changes[name] = {"old": audit_value(old), "new": audit_value(new)}
                    setattr(locked, name, new)
            derived: list[str] = []
            if "kind" in changes:
                # Required sections depend on the kind; a new body is checked when its revision is written.
                locked.refresh_missing_sections()
                derived.append("missing_sections")
            if "review_cadence" in changes and "next_review_due" not in changes:
                old_due = locked.next_review_due
                locked.next_review_due = locked.due_after(
                    locked.last_reviewed_at or locked.created_at
                )
                changes["next_review_due"] = {
                    "old": audit_value(old_due),
                    "new": audit_value(locked.next_review_due),
                }
            wanted = {
                kind: locked._label_change(kind, names) for kind, names in (labels or {}).items()
            }
            for kind, (added, removed) in (label_changes or {}).items():
                before_added, before_removed = wanted.get(kind, ((), ()))
                wanted[kind] = ((*before_added, *added), (*before_removed, *removed))
            applied = locked._apply_label_changes(wanted)
            if changes or applied:
                locked.row_version += 1
                locked.updated_at = timezone.now()
                locked.save(update_fields=[*changes, *derived, "row_version", "updated_at"])
                if RELATED_LIST_FIELDS.intersection(changes):
                    Runbook.objects.filter(related=locked).bump_page_version()
                AuditEvent.record(
                    by,
                    "runbook.details_changed",
                    locked,
                    {"changes": changes, "labels": applied, "row_version": locked.row_version},
                )
                signals.runbook_changed.send(sender=Runbook, runbook=locked)
        for column in self._meta.concrete_fields:
            if column.name != "page_version":
                setattr(self, column.attname, getattr(locked, column.attname))
        return {"changes": changes, "labels": applied}

    def set_labels(
        self,
        *,
        alert_names: list[str] | tuple[str, ...] | None = None,
        services: list[str] | tuple[str, ...] | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        related: list[str] | tuple[str, ...] | None = None,
        by: Any = None,
        expected_row_version: int | None = None,
        audit: bool = True,
    ) -> dict[str, dict[str, list[str]]]:
        """Make the given label lists what they say; None leaves a list as it is. `related` holds slugs.

        Written as a difference from the stored lists, with the row locked and
        audited like any details change. `audit=False` is for a runbook being
        created, whose creation row records its labels.
        """
        stated = {
            "alert_names": alert_names,
            "services": services,
            "tags": tags,
            "related": related,
        }
        lists = {kind: list(names) for kind, names in stated.items() if names is not None}
        if not audit:
            return self._apply_label_changes(
                {kind: self._label_change(kind, names) for kind, names in lists.items()}
            )
        return self.update_details(by=by, labels=lists, expected_row_version=expected_row_version)[
            "labels"
        ]

    def label_names(self, kind: str) -> list[str]:
        """The stored names of one label list, sorted (slugs for `related`)."""
        if kind == "alert_names":
            return sorted(self.alert_names.values_list("name", flat=True))
        if kind == "related":
            return sorted(self.related.values_list("slug", flat=True))
        return sorted(getattr(self, kind).values_list("name", flat=True))

    def _label_change(self, kind: str, wanted: list[str] | tuple[str, ...]) -> LabelChange:
        target = normalised_labels(kind, wanted)
        stored = self.label_names(kind)
        return ([n for n in target if n not in stored], [n for n in stored if n not in target])

    def _apply_label_changes(
        self, changes: dict[str, LabelChange]
    ) -> dict[str, dict[str, list[str]]]:
        """Add and remove label names; returns what really changed, per list, for the audit log."""
        applied: dict[str, dict[str, list[str]]] = {}
        for kind in LABEL_KINDS:
            if kind not in changes:
                continue
            stored = set(self.label_names(kind))
            added = [n for n in normalised_labels(kind, changes[kind][0]) if n not in stored]
            removed = [
                n
                for n in normalised_labels(kind, changes[kind][1])
                if n in stored and n not in added
            ]
            if kind == "alert_names":
                self.alert_names.filter(name__in=removed).delete()
                # bulk_create skips save(), so name_lower is set here too.
                AlertName.objects.bulk_create(
                    [AlertName(runbook=self, name=n, name_lower=n.lower()) for n in added]
                )
            elif kind == "services":
                self.services.remove(*Service.objects.filter(name__in=removed))
                self.services.add(*[Service.objects.get_or_create(name=n)[0] for n in added])
            elif kind == "tags":
                self.tags.remove(*Tag.objects.filter(name__in=removed))
                self.tags.add(*[Tag.objects.get_or_create(name=n)[0] for n in added])
            else:
                linked = list(Runbook.objects.filter(slug__in=added).exclude(pk=self.pk))
                unlinked = list(Runbook.objects.filter(slug__in=removed))
                self.related.remove(*unlinked)
                self.related.add(*linked)
                added = sorted(r.slug for r in linked)
                if linked or unlinked:
                    # The relation is symmetrical: both ends' pages list it.
                    ends = [r.pk for r in [*linked, *unlinked]] + [self.pk]
                    Runbook.objects.filter(pk__in=ends).bump_page_version()
            if added or removed:
                applied[kind] = {"added": sorted(added), "removed": sorted(removed)}
        return applied

    def add_revision(
        self,
        *,
        author: Any,
        body: str,
        change_summary: str,
        base_revision: int | None = None,
        major: bool = False,
        trigger: str = "change",
        reference: str = "",
        history_date: dt.date | None = None,
        restored_from: Revision | None = None,
        merged_with: Revision | None = None,
        rendered: Rendered | None = None,
    ) -> Revision:
        """Save a new immutable revision, bumping the version.

        `base_revision` is the number the editor started from; if another save
        landed since, EditConflict is raised and nothing is written. The text is
        rendered before the row is locked (pass `rendered` when already done):
        rendering may take a while and must not hold up other writers.
        """
        rendered = rendered if rendered is not None else render(body)
        with transaction.atomic():
            # The current revision is read after the lock (see mark_reviewed).
            locked = Runbook.objects.select_for_update(of=("self",)).get(pk=self.pk)
            current = locked.current_revision
            if (
                base_revision is not None
                and current is not None
                and current.number != base_revision
            ):
                raise EditConflict(current)
            major_part, minor_part = (
                int(p) for p in (current.version if current else "0.0").split(".")
            )
            version = f"{major_part + 1}.0" if major else f"{major_part}.{minor_part + 1}"
            revision = locked._write_revision(
                author=author,
                body=body,
                change_summary=change_summary,
                version=version,
                major=major,
                trigger=trigger,
                reference=reference,
                history_date=history_date,
                restored_from=restored_from,
                rendered=rendered,
            )
            detail: dict[str, Any] = {
                "revision": {"old": current.number if current else None, "new": revision.number},
                "version": {"old": current.version if current else None, "new": version},
                "summary": change_summary,
            }
            if restored_from is not None:
                detail["restored_from"] = restored_from.number
            if merged_with is not None:
                detail["merged_with"] = merged_with.number
            AuditEvent.record(
                author, "runbook.restored" if restored_from else "runbook.edited", locked, detail
            )
        self.refresh_from_db()
        return revision

    def restore(self, revision: Revision, *, by: Any, base_revision: int | None = None) -> Revision:
        """Restoring never rewrites history: it copies the old text into a new revision."""
        return self.add_revision(
            author=by,
            body=revision.body,
            change_summary=f"Restored revision {revision.number} (version {revision.version})",
            base_revision=base_revision,
            restored_from=revision,
        )

    def _write_revision(
        self,
        *,
        author: Any,
        body: str,
        change_summary: str,
        version: str,
        major: bool = False,
        trigger: str = "change",
        reference: str = "",
        history_date: dt.date | None = None,
        restored_from: Revision | None = None,
        rendered: Rendered | None = None,
        record_history: bool = True,
    ) -> Revision:
        last_number = self.current_revision.number if self.current_revision else 0
        rendered = rendered if rendered is not None else render(body)
        revision = Revision.objects.create(
            runbook=self,
            number=last_number + 1,
            version=version,
            is_major=major,
            body=body,
            body_html=rendered.html,
            toc=[list(entry) for entry in rendered.toc],
            change_summary=change_summary,
            author=saved_user(author),
            restored_from=restored_from,
        )
        self.current_revision = revision
        self.missing_sections = shapes.missing_sections(self.kind, rendered.headings)
        self.updated_at = revision.created_at
        self.save(update_fields=["current_revision", "missing_sections", "updated_at"])
        if record_history:
            HistoryEntry.objects.create(
                runbook=self,
                revision=revision,
                date=history_date or timezone.localdate(),
                trigger=trigger,
                reference=reference,
                summary=change_summary,
                version=version,
                created_by=revision.author,
            )
        signals.runbook_changed.send(sender=Runbook, runbook=self)
        return revision

    def refresh_missing_sections(self) -> None:
        body = self.current_revision.body if self.current_revision else ""
        self.missing_sections = shapes.missing_sections_in(self.kind, body)


# What update_details() may write: the runbook's own columns, not its bookkeeping.
WRITABLE_FIELDS = frozenset(
    field.name
    for field in Runbook._meta.concrete_fields
    if field.name
    not in ("id", "page_version", "row_version", "current_revision", "created_at", "updated_at")
)


class AlertName(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="alert_names")
    name = models.CharField(max_length=200)
    # Alertmanager sends names as written; lookups are case-insensitive on both engines.
    name_lower = models.CharField(max_length=200, db_index=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["runbook", "name"], name="unique_alert_per_runbook")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_lower = self.name.lower()
        super().save(*args, **kwargs)


class Revision(AppendOnlyModel):
    """One immutable saved state of a runbook's text, with its sanitised HTML."""

    # Re-made from `body` by `manage.py rerender` after a sanitiser policy change.
    DERIVED_FIELDS = frozenset({"body_html", "toc", "rendered_policy"})

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    version = models.CharField(max_length=20)
    is_major = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    toc = models.JSONField(default=list, blank=True, editable=False)
    # The sanitiser policy body_html was rendered under; `manage.py rerender` brings older rows up to date.
    rendered_policy = models.PositiveSmallIntegerField(default=current_policy_version, editable=False)
    change_summary = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    restored_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["runbook", "number"], name="unique_revision_number")]

    def __str__(self) -> str:
        return f"{self.runbook_id} r{self.number} (v{self.version})"

class HistoryTrigger(models.TextChoices):
    CHANGE = "change", "Change"
    REVIEW = "review", "Review"
    INCIDENT = "incident", "Incident"
    DRILL = "drill", "Drill"
    IMPORT = "import", "Import"


class HistoryEntry(AppendOnlyModel):
    """A row of the runbook's "Document history" table."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="history")
    date = models.DateField(default=timezone.localdate)
    trigger = models.CharField(max_length=20, choices=HistoryTrigger.choices, default=HistoryTrigger.CHANGE)
    reference = models.CharField(max_length=200, blank=True, help_text="INC-2025-0042, DR-007, a commit hash…")
    summary = models.TextField(blank=True)
    version = models.CharField(max_length=20, blank=True)
    reviewer = models.CharField("reviewer sign-off", max_length=200, blank=True)
    reviewer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revision = models.ForeignKey(Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "history entries"

    def __str__(self) -> str:
        return f"{self.date} {self.trigger} {self.reference}".strip()


@dataclass(frozen=True)
class AuditChange:
    """One changed field (old → new) or label list (added, removed) of an audit event."""

    label: str
    old: Any = None
    new: Any = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def is_list(self) -> bool:
        return bool(self.added or self.removed)


_LABEL_TITLES = {
    "alert_names": "Alert names",
    "services": "Services",
    "tags": "Tags",
    "related": "Related runbooks",
    "next_review_due": "Next review due",
}


def field_label(name: str) -> str:
    """A runbook field or label list as people read it: "Severity", "Alert names"."""
    if name in _LABEL_TITLES:
        return _LABEL_TITLES[name]
    try:
        column = Runbook._meta.get_field(name)
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()
    return str(getattr(column, "verbose_name", name)).capitalize()


class AuditEvent(AppendOnlyModel):
    """Who changed what, when: one row per state change, written in the same transaction."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=60)
    object_repr = models.CharField(max_length=300)
    runbook = models.ForeignKey(Runbook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_repr}"

    def changes(self) -> list[AuditChange]:
        """The detail's old → new values and label additions/removals, in reading order."""
        detail = self.detail if isinstance(self.detail, dict) else {}
        rows = []
        for name, change in (detail.get("changes") or {}).items():
            rows.append(AuditChange(field_label(name), old=change.get("old"), new=change.get("new")))
        for kind, diff in (detail.get("labels") or {}).items():
            rows.append(AuditChange(field_label(kind), added=diff.get("added", []), removed=diff.get("removed", [])))
        for key in ("revision", "version"):
            if isinstance(detail.get(key), dict):
                rows.append(AuditChange(key.capitalize(), old=detail[key].get("old"), new=detail[key].get("new")))
        return rows

    def other_detail(self) -> dict[str, Any]:
        """Detail keys that are not old/new pairs (a summary, an outcome, a reason)."""
        detail = self.detail if isinstance(self.detail, dict) else {}
        shown_as_changes = {"changes", "labels", "row_version"}
        return {
            key: value
            for key, value in detail.items()
            if key not in shown_as_changes and not (key in ("revision", "version") and isinstance(value, dict))
        }

    @classmethod
    def record(cls, actor: Any, action: str, obj: models.Model, detail: dict[str, Any] | None = None) -> AuditEvent:
        return cls.objects.create(
            actor=saved_user(actor),
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_repr=str(obj)[:300],
            runbook=obj if isinstance(obj, Runbook) else getattr(obj, "runbook", None),
            detail=detail or {},
        )


class ImportSource(models.Model):
    """Where an imported runbook came from; a re-import matches on (collection, path), never on the slug.

    `text_hash` is the file's text at the last import: the same text again
    changes nothing. `library_hash` is the runbook's own state right after
    that import (see runbooks.importing.planning.library_hash): if it differs
    now, the runbook was edited here since, and a changed file is "changed in
    both" rather than applied.
    """

    runbook = models.OneToOneField(Runbook, on_delete=models.CASCADE, related_name="import_source")
    collection = models.CharField(max_length=200)
    path = models.CharField(max_length=500)
    text_hash = models.CharField(max_length=64)
    library_hash = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "path"], name="one_runbook_per_imported_file"),
        ]

    def __str__(self) -> str:
        return f"{self.collection}:{self.path}"


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """A zip uploaded in the browser, imported by a Celery task; the page polls its progress."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    archive_name = models.CharField(max_length=255)
    # Kept in the database, not on one node's disk, so any worker can run the job.
    archive = models.BinaryField()
    collection = models.CharField(max_length=200)
    team = models.CharField(max_length=100, blank=True)
    dry_run = models.BooleanField(default=False)
    # {relative path: "theirs" | "ours"} for files reported "changed in both" by an earlier run.
    resolutions = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    files_done = models.PositiveIntegerField(default=0)
    files_total = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.archive_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED)

    @property
    def percent(self) -> int:
        return int(100 * self.files_done / self.files_total) if self.files_total else 0
