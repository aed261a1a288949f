"""Incidents, drills and post-incident reviews, and how they feed the runbooks' history.

Every state change is a method here that runs in one transaction with the
incident (or drill) row locked, writes its timeline entry, its runbook history
entries and its audit row in that same transaction, so views, the admin and
scripts behave the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, IntegerField, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from fixit_runbooks.constraints import exactly_one_of
from runbooks.append_only import AppendOnlyModel
from runbooks.models import (
    RESPONSE_TARGETS,
    AuditEvent,
    HistoryEntry,
    HistoryTrigger,
    Revision,
    Runbook,
    Service,
    Severity,
    response_target_label,
    saved_user,
)

from . import signals
from .checklist import Step, parse_steps


class InvalidTransition(Exception):
    """The requested change does not fit the incident's current state; the message says why."""


class Counter(models.Model):
    """One row per numbering series ("INC-2025", "DR"), locked while a number is taken.

    Taking numbers from a locked row, not from max()+1, means two people opening
    incidents at the same second never get the same ID.
    """

    name = models.CharField(max_length=30, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"

    @classmethod
    def next(cls, name: str) -> int:
        with transaction.atomic():
            # get_or_create survives a concurrent first insert (it retries the get).
            cls.objects.get_or_create(name=name)
            counter = cls.objects.select_for_update().get(name=name)
            counter.last += 1
            counter.save(update_fields=["last"])
            return counter.last


class Status(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MITIGATING = "mitigating", "Mitigating"
    RESOLVED = "resolved", "Resolved"
    REVIEWED = "reviewed", "Reviewed"


OPEN_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATING)
STATUS_ORDER = {status: i for i, status in enumerate(Status.values)}


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def open_first(self) -> IncidentQuerySet:
        return self.annotate(
            open_rank=Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("open_rank", "-detected_at", "-id")

    def with_list_data(self) -> IncidentQuerySet:
        return self.select_related("commander").prefetch_related("services")


class Incident(models.Model):
    number = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=2, choices=Severity.choices, default=Severity.P2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVESTIGATING)
    detected_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commanded_incidents",
        verbose_name="incident commander",
    )
    services = models.ManyToManyField(Service, blank=True, related_name="incidents", verbose_name="affected services")
    user_impact = models.TextField(blank=True)
    business_impact = models.TextField(blank=True)
    timeline_summary = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    prevention = models.TextField(blank=True)
    lessons_learned = models.TextField(blank=True)
    runbooks: models.ManyToManyField[Runbook, IncidentRunbook] = models.ManyToManyField(
        Runbook, through="IncidentRunbook", related_name="incidents"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The version an edit form carries: a stale form gets a conflict, never a silent overwrite.
    row_version = models.PositiveIntegerField(default=1, editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["status", "detected_at"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.number])

    # --- derived values -------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def response_target(self) -> dt.timedelta | None:
        return RESPONSE_TARGETS.get(self.severity)

    @property
    def response_target_label(self) -> str:
        return response_target_label(self.severity)

    @property
    def time_to_acknowledge(self) -> dt.timedelta | None:
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.detected_at

    @property
    def time_to_acknowledge_label(self) -> str:
        elapsed = self.time_to_acknowledge
        if elapsed is None:
            return ""
        minutes = max(int(elapsed.total_seconds() // 60), 0)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"

    @property
    def response_met(self) -> bool | None:
        """Whether the first response met the severity's target; None until acknowledged."""
        elapsed, target = self.time_to_acknowledge, self.response_target
        if elapsed is None or target is None:
            return None
        return elapsed <= target

    # --- writes ---------------------------------------------------------

    @classmethod
    def open_incident(
        cls, *, by: Any, title: str, services: Iterable[Service] = (), **fields: Any
    ) -> Incident:
        with transaction.atomic():
            fields.setdefault("detected_at", timezone.now())
            year = fields["detected_at"].year
            number = f"INC-{year:04d}-{Counter.next(f'INC-{year:04d}'):04d}"
            incident = cls.objects.create(number=number, title=title, created_by=saved_user(by), **fields)
            incident.services.set(services)
            incident.add_entry(
                by, TimelineKind.STATUS, f"Incident opened ({incident.severity}, {incident.get_status_display()})"
            )
            AuditEvent.record(by, "incident.opened", incident, {"severity": incident.severity})
            signals.announce(incident, signals.DECLARED, by)
        return incident

    def _locked(self) -> Incident:
        return Incident.objects.select_for_update().get(pk=self.pk)

    def add_entry(self, by: Any, kind: str, text: str, at: dt.datetime | None = None) -> TimelineEntry:
        return TimelineEntry.objects.create(
            incident=self, author=saved_user(by), kind=kind, text=text[:4000], at=at or timezone.now()
        )

    def add_note(self, *, by: Any, text: str, kind: str = "note", at: dt.datetime | None = None) -> TimelineEntry:
        if kind not in (TimelineKind.NOTE, TimelineKind.COMMUNICATION):
            raise InvalidTransition("Only notes and communications can be added by hand.")
        if not text.strip():
            raise InvalidTransition("A timeline entry needs some text.")
        with transaction.atomic():
            self._locked()
            entry = self.add_entry(by, kind, text.strip(), at=at)
            signals.announce(self, signals.NOTE_ADDED, by, kind=kind, text=entry.text)
            return entry

    def change_status(self, to: str, *, by: Any) -> None:
        if to == Status.RESOLVED:
            self.resolve(by)
            return
        if to == Status.REVIEWED:
            raise InvalidTransition("An incident becomes reviewed by completing its post-incident review.")
        if to not in OPEN_STATUSES:
            raise InvalidTransition(f"“{to}” is not an incident status.")
        with transaction.atomic():
            locked = self._locked()
            if not locked.is_open:
                raise InvalidTransition(f"{locked.number} is already {locked.get_status_display().lower()}.")
            if locked.status == to:
                raise InvalidTransition(f"{locked.number} is already {locked.get_status_display().lower()}.")
            previous, previous_display = locked.status, locked.get_status_display()
            now = timezone.now()
            changes: dict[str, dict[str, Any]] = {"status": {"old": previous, "new": to}}
            locked.status = to
            # Moving past "investigating" means someone is responding.
            if locked.acknowledged_at is None and to != Status.INVESTIGATING:
                locked.acknowledged_at = now
                changes["acknowledged_at"] = {"old": None, "new": now.isoformat()}
            if locked.mitigated_at is None and to == Status.MITIGATING:
                locked.mitigated_at = now
                changes["mitigated_at"] = {"old": None, "new": now.isoformat()}
            locked.updated_at = now
            locked.row_version += 1
            locked.save(
                update_fields=["status", "acknowledged_at", "mitigated_at", "updated_at", "row_version"]
            )
            now_display = locked.get_status_display()
            locked.add_entry(by, TimelineKind.STATUS, f"Status: {previous_display} → {now_display}")
            AuditEvent.record(by, "incident.status_changed", locked, {"changes": changes})
            signals.announce(locked, signals.STATUS_CHANGED, by, previous=previous)
        self.refresh_from_db()

    def acknowledge(self, *, by: Any) -> None:
        with transaction.atomic():
            locked = self._locked()
            if locked.acknowledged_at is not None:
                raise InvalidTransition(f"{locked.number} was already acknowledged.")
            locked.acknowledged_at = timezone.now()
            locked.updated_at = locked.acknowledged_at
            locked.row_version += 1
            locked.save(update_fields=["acknowledged_at", "updated_at", "row_version"])
            met = "met" if locked.response_met else "missed"
            locked.add_entry(
                by, TimelineKind.STATUS, f"Acknowledged — response target ({locked.response_target_label}) {met}"
            )
            AuditEvent.record(
                by,
                "incident.acknowledged",
                locked,
                {"changes": {"acknowledged_at": {"old": None, "new": locked.acknowledged_at.isoformat()}}},
            )
        self.refresh_from_db()

    def attach_runbook(self, runbook: Runbook, *, by: Any) -> IncidentRunbook:
        """Link a runbook, pinning the revision that is current right now; attaching twice is a no-op."""
        with transaction.atomic():
            locked = self._locked()
            existing = locked.attachments.filter(runbook=runbook).select_related("revision").first()
            if existing is not None:
                return existing
            if not locked.is_open:
                raise InvalidTransition(
                    f"{locked.number} is {locked.get_status_display().lower()}; runbooks are attached while it is open."
                )
            current = Runbook.objects.select_related("current_revision").get(pk=runbook.pk).current_revision
            if current is None:
                raise InvalidTransition(f"“{runbook.title}” has no text yet, so there is nothing to follow.")
            attachment = IncidentRunbook.objects.create(
                incident=locked, runbook=runbook, revision=current, attached_by=saved_user(by)
            )
            locked.add_entry(
                by, TimelineKind.RUNBOOK, f"Attached runbook “{runbook.title}” (version {current.version})"
            )
            AuditEvent.record(
                by, "incident.runbook_attached", locked, {"runbook": runbook.slug, "version": current.version}
            )
        return attachment

    def _write_history(self, locked: Incident, *, by: Any, summary: str) -> None:
        """One document-history row per attached runbook, and a review request on each."""
        attachments = list(locked.attachments.select_related("runbook", "revision"))
        runbook_ids = [a.runbook_id for a in attachments]
        # Lock in id order so two incidents touching the same runbooks cannot deadlock.
        list(Runbook.objects.select_for_update().filter(pk__in=runbook_ids).order_by("pk").values_list("pk"))
        HistoryEntry.objects.bulk_create(
            [
                HistoryEntry(
                    runbook=a.runbook,
                    revision=a.revision,
                    date=timezone.localdate(),
                    trigger=HistoryTrigger.INCIDENT,
                    reference=locked.number,
                    summary=summary,
                    version=a.revision.version,
                    created_by=saved_user(by),
                )
                for a in attachments
            ]
        )
        for a in attachments:
            a.runbook.request_review(reason=f"After {locked.number}", by=by)

    def resolve(self, by: Any, *, resolution: str = "") -> None:
        with transaction.atomic():
            locked = self._locked()
            if not locked.is_open:
                raise InvalidTransition(f"{locked.number} is already {locked.get_status_display().lower()}.")
            now = timezone.now()
            previous = locked.get_status_display()
            resolving = ("status", "resolved_at", "acknowledged_at", "mitigated_at", "resolution")
            before = {name: getattr(locked, name) for name in resolving}
            locked.status = Status.RESOLVED
            locked.resolved_at = now
            locked.acknowledged_at = locked.acknowledged_at or now
            locked.mitigated_at = locked.mitigated_at or now
            if resolution.strip():
                locked.resolution = resolution.strip()
            locked.updated_at = now
            locked.row_version += 1
            locked.save(update_fields=[*before, "updated_at", "row_version"])
            locked.add_entry(by, TimelineKind.STATUS, f"Status: {previous} → Resolved")
            self._write_history(
                locked, by=by, summary=f"Used in {locked.number} ({locked.severity}): {locked.title} — resolved"
            )
            AuditEvent.record(by, "incident.resolved", locked, {"changes": _changes(before, locked)})
            signals.announce(locked, signals.RESOLVED, by, previous=before["status"])
        self.refresh_from_db()

    def complete_review(
        self, by: Any, *, actions: Sequence[dict[str, Any]] = (), **findings: str
    ) -> list[CorrectiveAction]:
        """Record the post-incident review, its corrective actions, and close the incident."""
        unknown = set(findings) - set(REVIEW_FIELDS)
        if unknown:
            raise TypeError(f"Unknown review fields: {', '.join(sorted(unknown))}")
        with transaction.atomic():
            locked = self._locked()
            if locked.status == Status.REVIEWED:
                raise InvalidTransition(f"The review of {locked.number} was already completed.")
            if locked.status != Status.RESOLVED:
                raise InvalidTransition(
                    f"{locked.number} is still {locked.get_status_display().lower()}: resolve it before the review."
                )
            today = timezone.localdate()
            for action in actions:
                CorrectiveAction.check_due_date(action.get("due_date"), today)
            now = timezone.now()
            before = {name: getattr(locked, name) for name in (*findings, "status", "reviewed_at")}
            for name, value in findings.items():
                setattr(locked, name, value.strip())
            locked.status = Status.REVIEWED
            locked.reviewed_at = now
            locked.updated_at = now
            locked.row_version += 1
            locked.save(update_fields=[*before, "updated_at", "row_version"])
            created = CorrectiveAction.objects.bulk_create(
                [CorrectiveAction(incident=locked, created_by=saved_user(by), **action) for action in actions]
            )
            locked.add_entry(
                by,
                TimelineKind.STATUS,
                f"Post-incident review completed with {len(created)} corrective action{'s' if len(created) != 1 else ''}",
            )
            self._write_history(
                locked, by=by, summary=f"Post-incident review of {locked.number} completed: {locked.title}"
            )
            AuditEvent.record(
                by,
                "incident.reviewed",
                locked,
                {"changes": _changes(before, locked), "corrective_actions": len(created)},
            )
            signals.announce(locked, signals.REVIEW_COMPLETED, by, actions=len(created))
        self.refresh_from_db()
        return created

    def add_corrective_action(
        self, *, by: Any, title: str, due_date: dt.date, owner: Any = None, status: str = "open"
    ) -> CorrectiveAction:
        CorrectiveAction.check_due_date(due_date, timezone.localdate())
        with transaction.atomic():
            locked = self._locked()
            action = CorrectiveAction.objects.create(
                incident=locked, title=title, owner=owner, due_date=due_date, status=status, created_by=saved_user(by)
            )
            AuditEvent.record(by, "incident.corrective_action_added", locked, {"title": title, "due": str(due_date)})
        return action


def _changes(before: dict[str, Any], after: Incident) -> dict[str, dict[str, Any]]:
    """Old and new values of the fields that changed, as the audit log stores them."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.datetime) else value

    return {
        name: {"old": plain(old), "new": plain(getattr(after, name))}
        for name, old in before.items()
        if old != getattr(after, name)
    }


REVIEW_FIELDS = (
    "timeline_summary",
    "user_impact",
    "business_impact",
    "root_cause",
    "resolution",
    "prevention",
    "lessons_learned",
)


class TimelineKind(models.TextChoices):
    NOTE = "note", "Note"
    STATUS = "status", "Status change"
    STEP = "step", "Runbook step"
    COMMUNICATION = "communication", "Communication"
    RUNBOOK = "runbook", "Runbook"


class TimelineEntry(AppendOnlyModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=TimelineKind.choices, default=TimelineKind.NOTE)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.kind}: {self.text[:60]}"


class StepState(models.TextChoices):
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    DEVIATED = "deviated", "Deviation"
    UNDONE = "undone", "Undone"


_STEP_VERBS: dict[str, str] = {
    StepState.DONE: "done",
    StepState.SKIPPED: "skipped",
    StepState.DEVIATED: "deviation",
    StepState.UNDONE: "undone",
}


class FollowedRunbook(models.Model):
    """A runbook revision followed as a checklist: inside an incident or on its own.

    Progress is append-only (one StepProgress row per click, "undone" included)
    and keyed by the step's identity (Step.key, from its text), never by its
    position, so a change to how steps are read never re-points recorded work.
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    # Each kind of checklist records a step with its own timeline (incident or run).
    record_step: Callable[..., StepProgress]

    @cached_property
    def steps(self) -> list[Step]:
        return parse_steps(self.revision.body)

    def progress_rows(self) -> Iterable[StepProgress]:
        # Both kinds of checklist name their rows "progress"; .all() so a view's
        # Prefetch("progress", ...) is used.
        return self.progress.all()  # type: ignore[attr-defined]

    def latest_progress(self) -> dict[str, StepProgress]:
        """The current state of each step: its latest row, unless that row undid it."""
        latest: dict[str, StepProgress] = {}
        for row in sorted(self.progress_rows(), key=lambda p: (p.at, p.pk or 0)):
            latest[row.step_key] = row
        return {key: row for key, row in latest.items() if row.state != StepState.UNDONE}

    def checklist(self) -> list[tuple[Step, StepProgress | None]]:
        progress = self.latest_progress()
        return [(step, progress.get(step.key)) for step in self.steps]

    def current_step(self) -> Step | None:
        """The first step nobody has dealt with yet: what the page keeps in view."""
        progress = self.latest_progress()
        return next((step for step in self.steps if step.key not in progress), None)

    def _step(self, ref: str | int) -> Step:
        """A step by its key (what forms send) or, for scripts, by its number."""
        if isinstance(ref, int):
            step = next((s for s in self.steps if s.index == ref), None)
        else:
            step = next((s for s in self.steps if s.key == ref), None)
        if step is None:
            if isinstance(ref, int):
                raise InvalidTransition(f"This checklist has no step {ref}.")
            raise InvalidTransition("This checklist has no such step; reload the page.")
        return step

    def _new_progress(self, step: Step, state: str, *, by: Any, note: str) -> StepProgress:
        """Validate and build (not save) one progress row; the caller holds the parent lock."""
        if state not in StepState.values:
            raise InvalidTransition(f"“{state}” is not something you can do to a step.")
        note = note.strip()
        if state == StepState.DEVIATED and not note:
            raise InvalidTransition("Say what was done differently when noting a deviation.")
        current = self.latest_progress().get(step.key)
        if state == StepState.UNDONE and current is None:
            raise InvalidTransition(f"Step {step.index} has nothing to undo.")
        return StepProgress(
            step_key=step.key,
            step_index=step.index,
            step_text=step.text[:500],
            state=state,
            note=note[:1000],
            by=saved_user(by),
            at=timezone.now(),
        )

    def _review_if_steps_diverge(self, state: str, by: Any) -> None:
        if state in (StepState.SKIPPED, StepState.DEVIATED):
            # feedback reads these models; imported here to keep the module graph one-way.
            from .feedback import request_review_if_steps_diverge

            request_review_if_steps_diverge(self.runbook, by=by)

    @staticmethod
    def _entry_text(title: str, step: Step, progress: StepProgress, undone: StepProgress | None) -> str:
        verb = _STEP_VERBS[progress.state]
        if undone is not None:
            verb = f"undone (was {_STEP_VERBS[undone.state]})"
        text = f"“{title}” step {step.index} {verb}: {step.text}"
        if progress.note:
            text += f" — {progress.note}"
        return text


class IncidentRunbook(FollowedRunbook):
    """A runbook used in an incident, pinned to the revision that was current when attached."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="incident_links")
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["attached_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "runbook"], name="unique_runbook_per_incident")]

    def __str__(self) -> str:
        return f"{self.incident_id} ↔ {self.runbook_id} r{self.revision_id}"

    def record_step(self, ref: str | int, state: str, *, by: Any, note: str = "") -> StepProgress:
        """Check, skip, note a deviation on or undo one step; each writes a timeline entry."""
        step = self._step(ref)
        with transaction.atomic():
            incident = self.incident._locked()
            if not incident.is_open:
                raise InvalidTransition(
                    f"{incident.number} is {incident.get_status_display().lower()}; its checklists are closed."
                )
            self.__dict__.pop("_prefetched_objects_cache", None)
            undone = self.latest_progress().get(step.key) if state == StepState.UNDONE else None
            progress = self._new_progress(step, state, by=by, note=note)
            progress.attachment = self
            progress.save()
            text = self._entry_text(self.runbook.title, step, progress, undone)
            incident.add_entry(by, TimelineKind.STEP, text, at=progress.at)
            self._review_if_steps_diverge(state, by)
            AuditEvent.record(
                by, "incident.step_recorded", incident, {"runbook": self.runbook.slug, "step": step.key, "state": state}
            )
            signals.announce(incident, signals.STEP_RECORDED, by, state=state, text=text)
        return progress


def open_incident_with_runbook(runbook: Runbook, *, by: Any) -> IncidentRunbook:
    """Open an incident named after the runbook, at its severity, with the runbook attached."""
    with transaction.atomic():
        incident = Incident.open_incident(by=by, title=runbook.title[:200], severity=runbook.severity)
        return incident.attach_runbook(runbook, by=by)


class RunPurpose(models.TextChoices):
    MAINTENANCE = "maintenance", "Planned maintenance"
    DRILL = "drill", "Drill"
    PRACTICE = "practice", "Practice"


class ChecklistRunQuerySet(models.QuerySet["ChecklistRun"]):
    def open(self) -> ChecklistRunQuerySet:
        return self.filter(finished_at__isnull=True)


class ChecklistRun(FollowedRunbook):
    """A runbook followed on its own, outside any incident: planned maintenance or a drill."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="checklist_runs")
    purpose = models.CharField(max_length=20, choices=RunPurpose.choices, default=RunPurpose.MAINTENANCE)
    title = models.CharField(max_length=200, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    drill = models.ForeignKey("Drill", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")

    objects = ChecklistRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.runbook_id}"

    def get_absolute_url(self) -> str:
        return reverse("drills:run", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.finished_at is None

    @classmethod
    def start(cls, runbook: Runbook, *, by: Any, purpose: str = RunPurpose.MAINTENANCE, title: str = "") -> ChecklistRun:
        if purpose not in RunPurpose.values:
            raise InvalidTransition(f"“{purpose}” is not a reason to follow a runbook.")
        if runbook.current_revision_id is None:
            raise InvalidTransition(f"“{runbook.title}” has no text to follow yet.")
        with transaction.atomic():
            run = cls.objects.create(
                runbook=runbook,
                revision_id=runbook.current_revision_id,
                purpose=purpose,
                title=title.strip()[:200],
                started_by=saved_user(by),
            )
            AuditEvent.record(by, "runbook.followed", runbook, {"run": run.pk, "purpose": purpose})
        return run

    def _locked(self) -> ChecklistRun:
        return ChecklistRun.objects.select_for_update().get(pk=self.pk)

    def record_step(self, ref: str | int, state: str, *, by: Any, note: str = "") -> StepProgress:
        step = self._step(ref)
        with transaction.atomic():
            locked = self._locked()
            if not locked.is_open:
                raise InvalidTransition("This run is finished; its checklist is closed.")
            self.__dict__.pop("_prefetched_objects_cache", None)
            progress = self._new_progress(step, state, by=by, note=note)
            progress.run = locked
            progress.save()
            self._review_if_steps_diverge(state, by)
        return progress

    def timeline(self) -> list[StepProgress]:
        """Every click on this run's steps, oldest first: the run's timeline (undos included)."""
        return sorted(self.progress_rows(), key=lambda p: (p.at, p.pk or 0))

    def finish(self, *, by: Any) -> None:
        with transaction.atomic():
            locked = self._locked()
            if not locked.is_open:
                raise InvalidTransition("This run is already finished.")
            locked.finished_at = timezone.now()
            locked.save(update_fields=["finished_at"])
            AuditEvent.record(by, "runbook.run_finished", self.runbook, {"run": self.pk})
        self.finished_at = locked.finished_at

    def record_drill(self, *, by: Any, participants: str, outcome: str, findings: str = "") -> Drill:
        """Record this run as a drill of its runbook (and finish the run)."""
        with transaction.atomic():
            locked = self._locked()
            if locked.drill_id is not None:
                raise InvalidTransition("This run was already recorded as a drill.")
            drill = Drill.record(
                by=by,
                runbooks=[self.runbook],
                date=timezone.localdate(),
                participants=participants,
                outcome=outcome,
                findings=findings,
            )
            locked.drill = drill
            locked.finished_at = locked.finished_at or timezone.now()
            locked.save(update_fields=["drill", "finished_at"])
        self.drill, self.finished_at = drill, locked.finished_at
        return drill


class StepProgress(models.Model):
    """One thing done to a step, append-only: the latest row per step is its state."""

    attachment = models.ForeignKey(
        IncidentRunbook, null=True, blank=True, on_delete=models.CASCADE, related_name="progress"
    )
    run = models.ForeignKey(ChecklistRun, null=True, blank=True, on_delete=models.CASCADE, related_name="progress")
    step_key = models.CharField(max_length=40)
    step_text = models.CharField(max_length=500, blank=True)
    # The step's number when it was recorded; for display only, never for matching.
    step_index = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=StepState.choices)
    note = models.CharField(max_length=1000, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [exactly_one_of("attachment", "run", name="step_progress_in_one_checklist")]

    def __str__(self) -> str:
        return f"step {self.step_index} {self.state}"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


CLOSED_ACTION_STATUSES = (ActionStatus.DONE, ActionStatus.WONT_DO)


class CorrectiveActionQuerySet(models.QuerySet["CorrectiveAction"]):
    def overdue(self, today: dt.date | None = None) -> CorrectiveActionQuerySet:
        today = today or timezone.localdate()
        return self.filter(due_date__lt=today).exclude(status__in=CLOSED_ACTION_STATUSES)

    def unfinished(self) -> CorrectiveActionQuerySet:
        return self.exclude(status__in=CLOSED_ACTION_STATUSES)


class CorrectiveAction(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="corrective_actions")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="corrective_actions"
    )
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CorrectiveActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        # The overdue list: unfinished actions by due date.
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def check_due_date(due_date: dt.date | None, today: dt.date) -> None:
        if due_date is None:
            raise ValidationError("Every corrective action needs a due date.")
        if due_date < today:
            raise ValidationError(f"The due date {due_date:%Y-%m-%d} is in the past.")

    def is_overdue(self, today: dt.date | None = None) -> bool:
        return self.status not in CLOSED_ACTION_STATUSES and self.due_date < (today or timezone.localdate())

    def set_status(self, status: str, *, by: Any) -> None:
        if status not in ActionStatus.values:
            raise InvalidTransition(f"“{status}” is not a corrective-action status.")
        with transaction.atomic():
            locked = CorrectiveAction.objects.select_for_update().get(pk=self.pk)
            previous = locked.status
            locked.status = status
            locked.save(update_fields=["status"])
            AuditEvent.record(by, "incident.corrective_action_status", locked, {"from": previous, "to": status})
        self.status = status


class DrillOutcome(models.TextChoices):
    PASSED = "passed", "Passed"
    GAPS = "gaps", "Gaps found"


class Drill(models.Model):
    number = models.CharField(max_length=20, unique=True, editable=False)
    date = models.DateField(default=timezone.localdate)
    participants = models.TextField(help_text="Who took part, one per line or comma separated.")
    outcome = models.CharField(max_length=10, choices=DrillOutcome.choices, default=DrillOutcome.PASSED)
    findings = models.TextField(blank=True)
    runbooks: models.ManyToManyField[Runbook, DrillRunbook] = models.ManyToManyField(
        Runbook, through="DrillRunbook", related_name="drills"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("drills:detail", args=[self.number])

    @classmethod
    def record(
        cls,
        *,
        by: Any,
        runbooks: Iterable[Runbook],
        date: dt.date,
        participants: str,
        outcome: str,
        findings: str = "",
    ) -> Drill:
        """Record a drill: history entry, last-drilled date and (on gaps) a review request per runbook."""
        if outcome not in DrillOutcome.values:
            raise InvalidTransition(f"“{outcome}” is not a drill outcome.")
        if date > timezone.localdate():
            raise InvalidTransition("A drill is recorded after it happened; the date is in the future.")
        if outcome == DrillOutcome.GAPS and not findings.strip():
            raise InvalidTransition("Describe the gaps found.")
        runbook_ids = sorted({r.pk for r in runbooks})
        if not runbook_ids:
            raise InvalidTransition("A drill exercises at least one runbook.")
        with transaction.atomic():
            locked = list(
                # Current revisions are read after the lock, never joined into it (see Runbook.mark_reviewed).
                Runbook.objects.select_for_update(of=("self",)).filter(pk__in=runbook_ids).order_by("pk")
            )
            if len(locked) != len(runbook_ids):
                raise InvalidTransition("One of the runbooks no longer exists.")
            drill = cls.objects.create(
                number=f"DR-{Counter.next('DR'):03d}",
                date=date,
                participants=participants.strip(),
                outcome=outcome,
                findings=findings.strip(),
                recorded_by=saved_user(by),
            )
            DrillRunbook.objects.bulk_create(
                [DrillRunbook(drill=drill, runbook=r, revision=r.current_revision) for r in locked]
            )
            summary = f"Drill {drill.number}: {drill.get_outcome_display().lower()}"
            if drill.findings:
                summary += f" — {drill.findings[:200]}"
            HistoryEntry.objects.bulk_create(
                [
                    HistoryEntry(
                        runbook=r,
                        revision=r.current_revision,
                        date=date,
                        trigger=HistoryTrigger.DRILL,
                        reference=drill.number,
                        summary=summary,
                        version=r.version,
                        created_by=saved_user(by),
                    )
                    for r in locked
                ]
            )
            drilled_at = timezone.make_aware(dt.datetime.combine(date, dt.time(12, 0)))
            # A late-recorded older drill must not move "last drilled" backwards.
            for r in locked:
                if r.last_drilled_at is None or r.last_drilled_at < drilled_at:
                    Runbook.objects.filter(pk=r.pk).update(last_drilled_at=drilled_at)
                if outcome == DrillOutcome.GAPS:
                    r.request_review(reason=f"After {drill.number} (gaps found)", by=by)
            AuditEvent.record(
                by, "drill.recorded", drill, {"outcome": outcome, "runbooks": [r.slug for r in locked]}
            )
        return drill


class DrillRunbook(models.Model):
    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="links")
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="drill_links")
    revision = models.ForeignKey(Revision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["drill", "runbook"], name="unique_runbook_per_drill")]

    def __str__(self) -> str:
        return f"{self.drill_id} ↔ {self.runbook_id}"
