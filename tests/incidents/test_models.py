import datetime as dt
import threading

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from incidents.models import (
    CorrectiveAction,
    Drill,
    Incident,
    IncidentRunbook,
    InvalidTransition,
    Status,
    StepProgress,
    TimelineEntry,
)
from incidents.services import IncidentClosed, IncidentEditConflict, edit_incident
from runbooks.append_only import ImmutableRow
from runbooks.models import AuditEvent, HistoryEntry, ReviewState, Runbook

from .conftest import review_findings, tomorrow

pytestmark = pytest.mark.django_db


# --- numbering -------------------------------------------------------------


def test_incident_numbers_follow_the_year_and_count_up(make_incident):
    first, second = make_incident(), make_incident()
    year = timezone.now().year
    assert (first.number, second.number) == (f"INC-{year}-0001", f"INC-{year}-0002")


def test_incident_numbers_restart_each_year(make_incident):
    make_incident(detected_at=timezone.make_aware(dt.datetime(2024, 12, 31, 23, 0)))
    later = make_incident(detected_at=timezone.make_aware(dt.datetime(2025, 1, 1, 9, 0)))
    assert later.number == "INC-2025-0001"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need a server database")
def test_concurrent_openings_never_share_a_number(editor):
    numbers: list[str] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            numbers.append(Incident.open_incident(by=editor, title="Parallel").number)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(numbers)) == 8


# --- response target --------------------------------------------------------


def test_response_met_when_acknowledged_within_the_severity_target(make_incident):
    detected = timezone.now() - dt.timedelta(hours=1)
    incident = make_incident(severity="P0", detected_at=detected, acknowledged_at=detected + dt.timedelta(minutes=15))
    assert incident.response_met is True


def test_response_missed_when_acknowledged_after_the_target(make_incident):
    detected = timezone.now() - dt.timedelta(hours=1)
    incident = make_incident(severity="P0", detected_at=detected, acknowledged_at=detected + dt.timedelta(minutes=16))
    assert incident.response_met is False


def test_response_unknown_until_acknowledged(incident):
    assert incident.response_met is None


def test_acknowledge_records_the_time_and_a_timeline_entry(incident, editor):
    incident.acknowledge(by=editor)
    assert incident.acknowledged_at is not None
    assert incident.timeline.filter(text__startswith="Acknowledged").exists()


def test_acknowledging_twice_is_refused(incident, editor):
    incident.acknowledge(by=editor)
    with pytest.raises(InvalidTransition):
        incident.acknowledge(by=editor)


# --- status -----------------------------------------------------------------


def test_opening_writes_a_timeline_entry_and_an_audit_event(incident):
    assert incident.timeline.get().kind == "status"
    assert AuditEvent.objects.filter(action="incident.opened", object_id=str(incident.pk)).exists()


def test_status_change_writes_its_own_timeline_entry(incident, editor):
    incident.change_status(Status.IDENTIFIED, by=editor)
    entry = incident.timeline.last()
    assert (entry.kind, entry.text, entry.author) == ("status", "Status: Investigating → Identified", editor)


def test_moving_past_investigating_marks_the_incident_acknowledged(incident, editor):
    incident.change_status(Status.MITIGATING, by=editor)
    assert incident.acknowledged_at is not None


def test_changing_to_the_same_status_is_refused(incident, editor):
    with pytest.raises(InvalidTransition, match="already investigating"):
        incident.change_status(Status.INVESTIGATING, by=editor)


def test_status_cannot_jump_to_reviewed(incident, editor):
    with pytest.raises(InvalidTransition, match="post-incident review"):
        incident.change_status(Status.REVIEWED, by=editor)


def test_unknown_status_is_refused(incident, editor):
    with pytest.raises(InvalidTransition):
        incident.change_status("panicking", by=editor)


def test_a_resolved_incident_cannot_reopen(resolved, editor):
    with pytest.raises(InvalidTransition, match="already resolved"):
        resolved.change_status(Status.INVESTIGATING, by=editor)


def test_change_status_to_resolved_resolves(incident, editor):
    incident.change_status(Status.RESOLVED, by=editor)
    assert incident.status == Status.RESOLVED and incident.resolved_at is not None


# --- runbooks ---------------------------------------------------------------


def test_attaching_pins_the_current_revision(incident, runbook, editor):
    attachment = incident.attach_runbook(runbook, by=editor)
    runbook.add_revision(author=editor, body=runbook.current_revision.body + "\n2. More.\n", change_summary="More")
    attachment.refresh_from_db()
    assert attachment.revision.version == "1.0"
    assert Runbook.objects.get(pk=runbook.pk).version == "1.1"


def test_attaching_writes_a_timeline_entry(incident, runbook, editor):
    incident.attach_runbook(runbook, by=editor)
    assert incident.timeline.filter(kind="runbook", text__contains="Checkout latency").exists()


def test_attaching_twice_keeps_one_link(incident, runbook, editor):
    first = incident.attach_runbook(runbook, by=editor)
    second = incident.attach_runbook(runbook, by=editor)
    assert first.pk == second.pk
    assert IncidentRunbook.objects.count() == 1


def test_attaching_to_a_resolved_incident_is_refused(resolved, make_runbook, editor):
    with pytest.raises(InvalidTransition):
        resolved.attach_runbook(make_runbook(), by=editor)


# --- checklist ----------------------------------------------------------------


def test_checking_a_step_records_who_and_when_in_the_timeline(attached, editor):
    attached.record_step(1, "done", by=editor)
    entry = TimelineEntry.objects.filter(kind="step").get()
    assert entry.author == editor
    assert "step 1 done: Check the dashboard." in entry.text
    assert StepProgress.objects.get().state == "done"


def test_skipping_a_step_is_recorded(attached, editor):
    attached.record_step(2, "skipped", by=editor)
    assert TimelineEntry.objects.filter(kind="step", text__contains="step 2 skipped").exists()


def test_a_deviation_keeps_its_note(attached, editor):
    attached.record_step(3, "deviated", by=editor, note="Rolled back two releases")
    assert TimelineEntry.objects.filter(kind="step", text__endswith="— Rolled back two releases").exists()


def test_a_deviation_without_a_note_is_refused(attached, editor):
    with pytest.raises(InvalidTransition):
        attached.record_step(3, "deviated", by=editor)
    assert not StepProgress.objects.exists()


def test_a_step_that_does_not_exist_is_refused(attached, editor):
    with pytest.raises(InvalidTransition, match="no step 99"):
        attached.record_step(99, "done", by=editor)


def test_changing_a_step_keeps_the_earlier_record_and_logs_again(attached, editor, reviewer):
    attached.record_step(1, "skipped", by=editor)
    attached.record_step(1, "done", by=reviewer)
    assert list(StepProgress.objects.values_list("state", flat=True)) == ["skipped", "done"]
    _, progress = IncidentRunbook.objects.get(pk=attached.pk).checklist()[0]
    assert (progress.state, progress.by) == ("done", reviewer)
    assert TimelineEntry.objects.filter(kind="step").count() == 2


def test_checklist_pairs_every_step_with_its_progress(attached, editor):
    attached.record_step(2, "done", by=editor)
    rows = IncidentRunbook.objects.get(pk=attached.pk).checklist()
    assert [(step.index, progress is not None) for step, progress in rows] == [
        (1, False),
        (2, True),
        (3, False),
        (4, False),
        (5, False),
    ]


def test_a_resolved_incident_has_a_closed_checklist(resolved, editor):
    attachment = resolved.attachments.get()
    with pytest.raises(InvalidTransition, match="closed"):
        attachment.record_step(1, "done", by=editor)


# --- resolve ------------------------------------------------------------------


def test_resolving_adds_a_history_entry_to_each_attached_runbook(incident, make_runbook, editor):
    first, second = make_runbook(), make_runbook()
    incident.attach_runbook(first, by=editor)
    incident.attach_runbook(second, by=editor)
    incident.resolve(editor)
    entries = HistoryEntry.objects.filter(trigger="incident", reference=incident.number)
    assert sorted(e.runbook_id for e in entries) == sorted([first.pk, second.pk])


def test_resolve_history_entry_carries_the_pinned_version(incident, runbook, editor):
    incident.attach_runbook(runbook, by=editor)
    runbook.add_revision(author=editor, body="## Procedure\n\n1. New\n", change_summary="Rewrite")
    incident.resolve(editor)
    entry = HistoryEntry.objects.get(trigger="incident")
    assert entry.version == "1.0"
    assert entry.created_by == editor


def test_resolving_requests_a_review_of_each_attached_runbook(resolved, runbook):
    runbook.refresh_from_db()
    assert runbook.review_state() == ReviewState.REQUESTED
    assert runbook.review_requested_reason == f"After {resolved.number}"


def test_resolving_sets_the_timestamps_and_a_timeline_entry(resolved):
    assert resolved.status == Status.RESOLVED
    assert resolved.resolved_at and resolved.mitigated_at and resolved.acknowledged_at
    assert resolved.timeline.filter(text__endswith="→ Resolved").exists()


def test_resolving_twice_is_refused_and_writes_nothing(resolved, editor):
    before = HistoryEntry.objects.count()
    with pytest.raises(InvalidTransition, match="already resolved"):
        resolved.resolve(editor)
    assert HistoryEntry.objects.count() == before


def test_resolving_is_audited(resolved):
    assert AuditEvent.objects.filter(action="incident.resolved", object_id=str(resolved.pk)).exists()


# --- review -------------------------------------------------------------------


def test_reviewing_an_open_incident_is_refused(incident, editor):
    with pytest.raises(InvalidTransition, match="resolve it before"):
        incident.complete_review(editor, **review_findings())


def test_completing_the_review_saves_findings_and_actions(resolved, editor):
    action = {"title": "Add query-count test", "owner": editor, "due_date": tomorrow(), "status": "open"}
    resolved.complete_review(editor, actions=[action], **review_findings())
    resolved.refresh_from_db()
    assert resolved.status == Status.REVIEWED and resolved.reviewed_at is not None
    assert resolved.root_cause == "An N+1 query in the cart service."
    assert list(resolved.corrective_actions.values_list("title", flat=True)) == ["Add query-count test"]


def test_completing_the_review_adds_history_and_requests_review(resolved, runbook, editor):
    Runbook.objects.filter(pk=runbook.pk).update(review_requested_at=None)
    resolved.complete_review(editor, **review_findings())
    entries = HistoryEntry.objects.filter(trigger="incident", reference=resolved.number, runbook=runbook)
    assert entries.count() == 2
    assert entries.filter(summary__startswith="Post-incident review").exists()
    runbook.refresh_from_db()
    assert runbook.review_requested_at is not None


def test_reviewing_twice_is_refused(resolved, editor):
    resolved.complete_review(editor, **review_findings())
    with pytest.raises(InvalidTransition, match="already completed"):
        resolved.complete_review(editor, **review_findings())


def test_a_past_due_date_refuses_the_whole_review(resolved, editor):
    past = {"title": "Too late", "owner": None, "due_date": timezone.localdate() - dt.timedelta(days=1)}
    with pytest.raises(ValidationError, match="in the past"):
        resolved.complete_review(editor, actions=[past], **review_findings())
    resolved.refresh_from_db()
    assert resolved.status == Status.RESOLVED
    assert not CorrectiveAction.objects.exists()


def test_adding_a_corrective_action_with_a_past_due_date_is_refused(resolved, editor):
    with pytest.raises(ValidationError):
        resolved.add_corrective_action(by=editor, title="Late", due_date=timezone.localdate() - dt.timedelta(days=3))


def test_overdue_lists_unfinished_actions_past_their_due_date(resolved, editor):
    action = resolved.add_corrective_action(by=editor, title="Fix alerts", due_date=tomorrow())
    done = resolved.add_corrective_action(by=editor, title="Done one", due_date=tomorrow())
    done.set_status("done", by=editor)
    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        assert list(CorrectiveAction.objects.overdue()) == [action]
        assert action.is_overdue()


# --- drills -------------------------------------------------------------------


def test_drill_numbers_count_up(runbook, editor):
    first = Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="passed")
    second = Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="b", outcome="passed")
    assert (first.number, second.number) == ("DR-001", "DR-002")


def test_a_drill_adds_history_and_sets_last_drilled(runbook, editor):
    today = timezone.localdate()
    drill = Drill.record(by=editor, runbooks=[runbook], date=today, participants="Ana, Ben", outcome="passed")
    entry = HistoryEntry.objects.get(trigger="drill")
    assert (entry.reference, entry.version, entry.runbook_id) == (drill.number, "1.0", runbook.pk)
    runbook.refresh_from_db()
    assert timezone.localtime(runbook.last_drilled_at).date() == today


def test_a_passed_drill_does_not_request_review(runbook, editor):
    Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="passed")
    runbook.refresh_from_db()
    assert runbook.review_requested_at is None


def test_a_drill_with_gaps_requests_review(runbook, editor):
    drill = Drill.record(
        by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="gaps", findings="No rollback"
    )
    runbook.refresh_from_db()
    assert runbook.review_requested_reason.startswith(f"After {drill.number}")


def test_an_older_drill_does_not_move_last_drilled_back(runbook, editor):
    today = timezone.localdate()
    Drill.record(by=editor, runbooks=[runbook], date=today, participants="a", outcome="passed")
    Drill.record(by=editor, runbooks=[runbook], date=today - dt.timedelta(days=30), participants="a", outcome="passed")
    runbook.refresh_from_db()
    assert timezone.localtime(runbook.last_drilled_at).date() == today


def test_a_drill_in_the_future_is_refused(runbook, editor):
    with pytest.raises(InvalidTransition):
        Drill.record(
            by=editor, runbooks=[runbook], date=tomorrow(), participants="a", outcome="passed"
        )
    assert not Drill.objects.exists()


def test_a_drill_with_gaps_needs_findings(runbook, editor):
    with pytest.raises(InvalidTransition):
        Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="gaps")


def test_a_drill_is_audited(runbook, editor):
    drill = Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="passed")
    assert AuditEvent.objects.filter(action="drill.recorded", object_id=str(drill.pk)).exists()


def test_time_to_acknowledge_reads_in_hours_and_minutes(make_incident):
    detected = timezone.now() - dt.timedelta(hours=3)
    incident = make_incident(detected_at=detected, acknowledged_at=detected + dt.timedelta(minutes=75, seconds=20))
    assert incident.time_to_acknowledge_label == "1 h 15 min"


# --- the free-form edit and row versions ------------------------------------------


def test_every_incident_action_bumps_the_row_version(incident, editor):
    versions = [incident.row_version]
    incident.acknowledge(by=editor)
    versions.append(incident.row_version)
    incident.change_status(Status.IDENTIFIED, by=editor)
    versions.append(incident.row_version)
    incident.resolve(editor)
    versions.append(incident.row_version)
    incident.complete_review(editor, **review_findings())
    versions.append(incident.row_version)
    assert versions == [1, 2, 3, 4, 5]


def test_moving_to_mitigating_records_when_mitigation_started(incident, editor):
    incident.change_status(Status.MITIGATING, by=editor)
    assert incident.mitigated_at is not None


def test_status_change_audit_records_old_and_new_values(incident, editor):
    incident.change_status(Status.IDENTIFIED, by=editor)
    event = AuditEvent.objects.get(action="incident.status_changed")
    assert event.detail["changes"]["status"] == {"old": "investigating", "new": "identified"}
    assert event.detail["changes"]["acknowledged_at"]["old"] is None


def test_stale_edit_applies_a_field_nobody_else_changed(incident, editor):
    seen = {"title": incident.title, "severity": incident.severity}
    incident.acknowledge(by=editor)
    written = edit_incident(incident, by=editor, base_version=1, seen=seen, changes={"severity": "P0"})
    assert written == ["severity"]
    assert (incident.severity, incident.acknowledged_at is not None, incident.row_version) == ("P0", True, 3)


def test_stale_edit_of_a_field_changed_meanwhile_raises_and_writes_nothing(incident, editor):
    seen = {"title": incident.title, "severity": incident.severity}
    edit_incident(incident, by=editor, base_version=1, seen=seen, changes={"severity": "P0"})
    with pytest.raises(IncidentEditConflict) as caught:
        edit_incident(
            incident, by=editor, base_version=1, seen=seen, changes={"severity": "P3", "title": "Mine"}
        )
    assert [c.name for c in caught.value.conflicts] == ["severity"]
    incident.refresh_from_db()
    assert (incident.severity, incident.title, incident.row_version) == ("P0", "Checkout is slow", 2)


def test_an_edit_to_the_value_already_stored_writes_nothing(incident, editor):
    written = edit_incident(incident, by=editor, base_version=1, seen={}, changes={"title": "Checkout is slow"})
    assert written == []
    assert not AuditEvent.objects.filter(action="incident.details_changed").exists()


def test_the_free_form_edit_cannot_touch_status_or_timestamps(incident, editor):
    with pytest.raises(TypeError):
        edit_incident(incident, by=editor, base_version=1, seen={}, changes={"acknowledged_at": timezone.now()})


def test_a_resolved_incident_cannot_be_edited(resolved, editor):
    with pytest.raises(IncidentClosed, match="post-incident review"):
        edit_incident(resolved, by=editor, base_version=resolved.row_version, seen={}, changes={"title": "x"})


def test_a_reviewed_incident_edit_refusal_points_to_notes_and_actions(resolved, editor):
    resolved.complete_review(editor, **review_findings())
    with pytest.raises(IncidentClosed, match="corrective actions"):
        edit_incident(resolved, by=editor, base_version=resolved.row_version, seen={}, changes={"title": "x"})


# --- the timeline is append-only ----------------------------------------------------


def test_a_timeline_entry_cannot_be_changed(incident):
    entry = TimelineEntry.objects.get(incident=incident)
    entry.text = "rewritten"
    with pytest.raises(ImmutableRow):
        entry.save()


def test_a_timeline_entry_cannot_be_deleted(incident):
    with pytest.raises(ImmutableRow):
        TimelineEntry.objects.get(incident=incident).delete()


def test_timeline_querysets_refuse_update_and_delete(incident):
    with pytest.raises(ImmutableRow):
        TimelineEntry.objects.filter(incident=incident).update(text="x")
    with pytest.raises(ImmutableRow):
        TimelineEntry.objects.filter(incident=incident).delete()
    assert TimelineEntry.objects.get(incident=incident).text.startswith("Incident opened")
