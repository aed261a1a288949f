"""The runbook library: runbooks, their immutable revisions, document history and audit.

Every write that touches more than one row is a method here that runs in one
transaction with the runbook row locked, so the admin, the views, the importer
and scripts all behave the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from . import shapes, signals
from .markdown import heading_titles, render


class Kind(models.TextChoices):
    INCIDENT = "incident", "Incident runbook"
    PROCEDURE = "procedure", "Procedure"
    GUARDRAIL = "guardrail", "Guardrail"
    SERVICE = "service", "Service runbook"
    POSTMORTEM = "postmortem", "Post-incident review"


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


class ReviewCadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


# Calendar arithmetic, so "monthly" from 31 January is 29 February in a leap year.
CADENCE_DELTAS: dict[str, relativedelta] = {
    ReviewCadence.WEEKLY: relativedelta(weeks=1),
    ReviewCadence.MONTHLY: relativedelta(months=1),
    ReviewCadence.QUARTERLY: relativedelta(months=3),
}


def saved_user(user: Any) -> Any:
    """The user to store on a row, or None for anonymous or unsaved users (scripts, imports)."""
    return user if getattr(user, "pk", None) else None


class ReviewState(models.TextChoices):
    CURRENT = "current", "Current"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    REQUESTED = "requested", "Review requested"


class ReviewOutcome(models.TextChoices):
    ACCURATE = "accurate", "Still accurate"
    UPDATED = "updated", "Updated"
    NEEDS_CHANGES = "needs_changes", "Needs changes"


class ReviewRefused(Exception):
    """A sign-off the rules do not allow (own change, unknown outcome); nothing was written."""


DUE_SOON_MIN = dt.timedelta(days=3)


def due_soon_window(cadence: str, now: dt.datetime) -> dt.timedelta:
    """Due soon: within 3 days, or within the last 20% of the cadence, whichever is longer."""
    span = (now + CADENCE_DELTAS[cadence]) - now
    return max(DUE_SOON_MIN, span * 0.2)


def _due_soon_q(now: dt.datetime) -> models.Q:
    condition = models.Q()
    for cadence in ReviewCadence.values:
        condition |= models.Q(
            review_cadence=cadence,
            next_review_due__gte=now,
            next_review_due__lte=now + due_soon_window(cadence, now),
        )
    return condition


def review_state_q(now: dt.datetime) -> dict[str, models.Q]:
    """Disjoint filters, one per ReviewState, matching Runbook.review_state() row by row.

    Used by the reminder scan and the compliance dashboard, so both agree with
    the badge on the runbook page.
    """
    requested = models.Q(review_requested_at__isnull=False)
    overdue = models.Q(next_review_due__lt=now)
    due_soon = _due_soon_q(now)
    return {
        ReviewState.REQUESTED: requested,
        ReviewState.OVERDUE: ~requested & overdue,
        ReviewState.DUE_SOON: ~requested & due_soon,
        ReviewState.CURRENT: ~requested & ~overdue & ~due_soon,
    }


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
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

    def overdue(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        now = now or timezone.now()
        return self.filter(next_review_due__lt=now)

    def due_soon(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        return self.filter(review_state_q(now or timezone.now())[ReviewState.DUE_SOON])

    def needing_review(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        """Overdue, due soon or review requested: what a reminder digest lists."""
        states = review_state_q(now or timezone.now())
        return self.filter(states[ReviewState.OVERDUE] | states[ReviewState.DUE_SOON] | states[ReviewState.REQUESTED])

    def escalated(self, now: dt.datetime | None = None) -> RunbookQuerySet:
        """Overdue by more than twice the cadence: the team lead hears about these."""
        now = now or timezone.now()
        condition = models.Q()
        for cadence, delta in CADENCE_DELTAS.items():
            condition |= models.Q(review_cadence=cadence, next_review_due__lt=now - delta * 2)
        return self.filter(condition)

    def with_alert(self, alert_name: str) -> RunbookQuerySet:
        return self.filter(alert_names__name_lower=alert_name.strip().lower()).distinct()


# What other runbooks' "Related runbooks" lists show of a runbook.
RELATED_LIST_FIELDS = frozenset({"title", "slug", "severity"})


class EditConflict(Exception):
    """Someone else saved a newer revision after the editor opened the page."""

    def __init__(self, current: Revision):
        super().__init__(f"revision {current.number} was saved meanwhile")
        self.current = current


# Slugs that would shadow the app's own URLs under /runbooks/, and names Windows
# cannot use as file names (an export writes <slug>.md).
URL_WORDS = frozenset({"new", "preview", "import", "export", "export-zip"})
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

    # --- derived values -------------------------------------------------

    @property
    def version(self) -> str:
        return self.current_revision.version if self.current_revision else "0.0"

    @property
    def response_target(self) -> str:
        return response_target_label(self.severity)

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
        )
        return "runbook-page:" + ":".join(str(part) for part in parts)

    def cadence_delta(self) -> relativedelta:
        return CADENCE_DELTAS[self.review_cadence]

    def due_after(self, moment: dt.datetime) -> dt.datetime:
        return moment + self.cadence_delta()

    def review_state(self, now: dt.datetime | None = None) -> str:
        """One of ReviewState: requested, overdue, due_soon, current."""
        now = now or timezone.now()
        if self.review_requested_at is not None:
            return ReviewState.REQUESTED
        if self.next_review_due is None:
            return ReviewState.CURRENT
        if self.next_review_due < now:
            return ReviewState.OVERDUE
        if self.next_review_due - now <= due_soon_window(self.review_cadence, now):
            return ReviewState.DUE_SOON
        return ReviewState.CURRENT

    def days_overdue(self, now: dt.datetime | None = None) -> int:
        now = now or timezone.now()
        if self.next_review_due is None or self.next_review_due >= now:
            return 0
        return (now - self.next_review_due).days

    # --- writes ---------------------------------------------------------

    def request_review(self, *, reason: str, by: Any = None) -> None:
        """Ask for a review now (after an incident or drill, or by hand); a sign-off clears it."""
        with transaction.atomic():
            now = timezone.now()
            Runbook.objects.filter(pk=self.pk).update(review_requested_at=now, review_requested_reason=reason[:200])
            self.review_requested_at, self.review_requested_reason = now, reason[:200]
            AuditEvent.record(by, "runbook.review_requested", self, {"reason": reason})

    def mark_reviewed(self, by: Any, note: str = "", outcome: str = "accurate") -> HistoryEntry:
        """Sign off the current revision and restart the review clock from now.

        Only a sign-off restarts the clock (a reminder or an edit does not). With
        REVIEW_REQUIRES_SECOND_REVIEWER the author of the current revision cannot
        sign it off: the point of a review is a second pair of eyes.
        """
        if outcome not in ReviewOutcome.values:
            raise ReviewRefused(f"Unknown review outcome {outcome!r}.")
        with transaction.atomic():
            locked = Runbook.objects.select_for_update(of=("self",)).select_related("current_revision").get(pk=self.pk)
            revision = locked.current_revision
            if (
                settings.REVIEW_REQUIRES_SECOND_REVIEWER
                and revision is not None
                and revision.author_id is not None
                and revision.author_id == getattr(by, "pk", None)
            ):
                raise ReviewRefused(
                    f"You wrote revision {revision.number}; another reviewer has to sign it off."
                )
            now = timezone.now()
            locked.last_reviewed_at = now
            locked.last_reviewed_by = by
            locked.next_review_due = locked.due_after(now)
            locked.review_requested_at = None
            locked.review_requested_reason = ""
            locked.save(
                update_fields=[
                    "last_reviewed_at",
                    "last_reviewed_by",
                    "next_review_due",
                    "review_requested_at",
                    "review_requested_reason",
                ]
            )
            label = ReviewOutcome(outcome).label
            entry = HistoryEntry.objects.create(
                runbook=locked,
                revision=revision,
                date=timezone.localdate(now),
                trigger=HistoryTrigger.REVIEW,
                summary=f"Reviewed: {label.lower()}" + (f" — {note.strip()}" if note.strip() else ""),
                version=locked.version,
                reviewer=(by.get_full_name() or by.get_username())[:200],
                reviewer_user=by,
                created_by=by,
            )
            AuditEvent.record(
                by,
                "runbook.reviewed",
                locked,
                {
                    "outcome": outcome,
                    "revision": revision.number if revision else None,
                    "version": locked.version,
                    "next_review_due": locked.next_review_due.isoformat(),
                },
            )
        for name in ("last_reviewed_at", "last_reviewed_by", "next_review_due", "review_requested_at", "review_requested_reason"):
            setattr(self, name, getattr(locked, name))
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
        **fields: Any,
    ) -> Runbook:
        """Create a runbook with its first revision (1.0) and first history entry."""
        with transaction.atomic():
            if not fields.get("slug"):
                fields["slug"] = cls.unique_slug(fields.get("title", ""))
            now = timezone.now()
            runbook = cls(**fields)
            runbook.created_at = runbook.created_at or now
            if runbook.next_review_due is None:
                runbook.next_review_due = runbook.due_after(now)
            runbook.save()
            runbook.set_labels(alert_names=alert_names, services=services, tags=tags, related=related)
            runbook._write_revision(
                author=author,
                body=body,
                change_summary=change_summary,
                version="1.0",
                trigger=trigger,
                reference=reference,
                history_date=history_date,
            )
            AuditEvent.record(author, "runbook.created", runbook, {"title": runbook.title})
        return runbook

    def update_details(self, *, by: Any, changed_fields: list[str], labels: dict[str, list[str]]) -> None:
        """Save metadata already set on this instance, its labels, and the audit row, in one go."""
        with transaction.atomic():
            if not self.slug:
                self.slug = Runbook.unique_slug(self.title, exclude_pk=self.pk)
            if "kind" in changed_fields:
                # Required sections depend on the kind; a new body is checked when its revision is written.
                self.refresh_missing_sections()
            self.updated_at = timezone.now()
            # page_version is only ever bumped in SQL; saving a stale copy must not undo a bump.
            self.save(update_fields=[f.name for f in self._meta.concrete_fields if f.name not in ("id", "page_version")])
            self.set_labels(**labels)
            if RELATED_LIST_FIELDS.intersection(changed_fields):
                Runbook.objects.filter(related=self).bump_page_version()
            if changed_fields:
                AuditEvent.record(by, "runbook.details_changed", self, {"fields": changed_fields})
            signals.runbook_changed.send(sender=Runbook, runbook=self)

    def set_labels(
        self,
        *,
        alert_names: list[str] | tuple[str, ...] | None = None,
        services: list[str] | tuple[str, ...] | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        related: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        """Replace the given label lists; None leaves a list as it is. `related` holds slugs."""
        if alert_names is not None:
            wanted = {name.strip(): None for name in alert_names if name.strip()}
            self.alert_names.exclude(name__in=list(wanted)).delete()
            existing = set(self.alert_names.values_list("name", flat=True))
            AlertName.objects.bulk_create(
                # bulk_create skips save(), so name_lower is set here too.
                [
                    AlertName(runbook=self, name=name, name_lower=name.lower())
                    for name in wanted
                    if name not in existing
                ]
            )
        if services is not None:
            self.services.set([Service.objects.get_or_create(name=n.strip())[0] for n in services if n.strip()])
        if tags is not None:
            self.tags.set([Tag.objects.get_or_create(name=n.strip().lower())[0] for n in tags if n.strip()])
        if related is not None:
            before = set(self.related.values_list("pk", flat=True))
            self.related.set(Runbook.objects.filter(slug__in=related).exclude(pk=self.pk))
            after = set(self.related.values_list("pk", flat=True))
            # The relation is symmetrical: both ends' pages list it.
            Runbook.objects.filter(pk__in=before ^ after).bump_page_version()

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
    ) -> Revision:
        """Save a new immutable revision, bumping the version.

        `base_revision` is the number the editor started from; if another save
        landed since, EditConflict is raised and nothing is written.
        """
        with transaction.atomic():
            locked = Runbook.objects.select_for_update().get(pk=self.pk)
            current = locked.current_revision
            if base_revision is not None and current is not None and current.number != base_revision:
                raise EditConflict(current)
            major_part, minor_part = (int(p) for p in (current.version if current else "0.0").split("."))
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
            )
            AuditEvent.record(
                author,
                "runbook.restored" if restored_from else "runbook.edited",
                locked,
                {"revision": revision.number, "version": version, "summary": change_summary},
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
    ) -> Revision:
        last_number = self.current_revision.number if self.current_revision else 0
        rendered = render(body)
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
        self.missing_sections = shapes.missing_sections(self.kind, heading_titles(body))


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


class Revision(models.Model):
    """One immutable saved state of a runbook's text, with its sanitised HTML."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    version = models.CharField(max_length=20)
    is_major = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    toc = models.JSONField(default=list, blank=True, editable=False)
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Revisions are immutable; add a new one instead")
        super().save(*args, **kwargs)


class HistoryTrigger(models.TextChoices):
    CHANGE = "change", "Change"
    REVIEW = "review", "Review"
    INCIDENT = "incident", "Incident"
    DRILL = "drill", "Drill"
    IMPORT = "import", "Import"


class HistoryEntry(models.Model):
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


class AuditEvent(models.Model):
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


# --- review reminders ---------------------------------------------------


class DigestFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (on Mondays)"


class ReminderPreference(models.Model):
    """How a user wants their review digests; users without a row get the daily default."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preference")
    frequency = models.CharField(max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.DAILY)
    on_leave = models.BooleanField("pause while on leave", default=False)
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Receives your digests while you are on leave.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} · {self.frequency}{' · on leave' if self.on_leave else ''}"

    def wants_digest_on(self, day: dt.date) -> bool:
        return self.frequency == DigestFrequency.DAILY or day.weekday() == 0


class DigestKind(models.TextChoices):
    OWNER = "owner", "Runbooks you own"
    ESCALATION = "escalation", "Team escalation"


class DigestStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"


class ReminderDigest(models.Model):
    """One digest email per recipient, kind and day: the unique row is the claim.

    The reminder scan inserts this row (committed) before it talks to SMTP, so
    a second run or a second worker finds it and skips; a failed send deletes
    it again so the retry can send. See runbooks.reminders for the semantics.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_digests")
    kind = models.CharField(max_length=12, choices=DigestKind.choices)
    day = models.DateField()
    status = models.CharField(max_length=10, choices=DigestStatus.choices, default=DigestStatus.SENDING)
    subject = models.CharField(max_length=300, blank=True)
    runbook_count = models.PositiveIntegerField(default=0)
    overdue_count = models.PositiveIntegerField(default=0)
    # Runbook ids and titles as they were when sent, for the "My reminders" page.
    items = models.JSONField(default=list, blank=True)
    on_behalf_of = models.JSONField(default=list, blank=True, help_text="Usernames whose digests were delegated here.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "day"], name="one_digest_per_recipient_kind_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} → {self.recipient}"


class ComplianceSnapshot(models.Model):
    """Review-state counts for one week, rewritten by each daily reminder scan.

    The last write of a week is its week-end state, so the dashboard's 12-week
    trend is 12 rows instead of a replay of every review ever recorded.
    """

    week_ending = models.DateField(unique=True, help_text="The Sunday that ends the week.")
    total = models.PositiveIntegerField(default=0)
    current = models.PositiveIntegerField(default=0)
    due_soon = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    requested = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_ending"]

    def __str__(self) -> str:
        return f"week ending {self.week_ending}: {self.overdue}/{self.total} overdue"

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.total if self.total else 0.0


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
