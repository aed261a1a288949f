"""Responders' feedback on the runbook page, history references, title once, one-click incidents."""

import pytest
from django.urls import reverse

from incidents.feedback import MIN_RUNS, runbook_feedback
from incidents.models import ChecklistRun, Drill, Incident
from runbooks.models import HistoryEntry, Runbook

pytestmark = pytest.mark.django_db


def skip_first_step(runbook, by, note=""):
    run = ChecklistRun.start(runbook, by=by)
    state = "deviated" if note else "skipped"
    run.record_step(run.steps[0].key, state, by=by, note=note)
    for step in run.steps[1:]:
        run.record_step(step.key, "done", by=by)
    return run


def test_feedback_counts_runs_and_the_steps_people_skip(runbook, editor):
    skip_first_step(runbook, editor)
    skip_first_step(runbook, editor, note="Dashboard was down, used logs")
    feedback = runbook_feedback(runbook)
    assert feedback.followed == 2
    assert feedback.median_duration is not None
    [step] = feedback.steps
    assert (step.text, step.skipped, step.deviated) == ("Check the dashboard.", 1, 1)
    assert step.notes == ["Dashboard was down, used logs"]


def test_a_step_skipped_in_most_recent_runs_requests_a_review(runbook, editor):
    for _ in range(MIN_RUNS):
        skip_first_step(runbook, editor)
    runbook.refresh_from_db()
    assert runbook.review_requested_at is not None
    assert "Check the dashboard." in runbook.review_requested_reason


def test_too_few_runs_do_not_request_a_review(runbook, editor):
    for _ in range(MIN_RUNS - 1):
        skip_first_step(runbook, editor)
    runbook.refresh_from_db()
    assert runbook.review_requested_at is None


def test_the_runbook_page_shows_what_responders_did(viewer_client, runbook, editor):
    skip_first_step(runbook, editor, note="Used logs instead")
    body = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "Followed 1 time" in body and "Used logs instead" in body


def test_history_references_link_to_existing_incidents_and_drills(
    viewer_client, runbook, editor, make_incident
):
    incident = make_incident()
    drill = Drill.record(
        by=editor,
        runbooks=[runbook],
        date=incident.detected_at.date(),
        participants="a",
        outcome="passed",
    )
    HistoryEntry.objects.create(
        runbook=runbook,
        date=incident.detected_at.date(),
        trigger="incident",
        reference=incident.number,
        summary="x",
    )
    HistoryEntry.objects.create(
        runbook=runbook,
        date=incident.detected_at.date(),
        trigger="incident",
        reference="INC-1999-0001",
        summary="y",
    )
    body = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert f'<a href="{incident.get_absolute_url()}">{incident.number}</a>' in body
    assert f'<a href="{drill.get_absolute_url()}">{drill.number}</a>' in body
    assert "INC-1999-0001 (external)" in body


def test_an_imported_runbook_shows_its_title_once(viewer_client, make_runbook):
    runbook = make_runbook(
        title="etcdNoLeader", body="# etcdNoLeader\n\n## Meaning\n\nNo leader.\n"
    )
    body = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert body.count(">etcdNoLeader<") + body.count(">etcdNoLeader<a") == 1


def test_a_different_first_heading_stays(viewer_client, make_runbook):
    runbook = make_runbook(title="Leader lost", body="# etcdNoLeader\n\nNo leader.\n")
    assert 'id="etcdnoleader"' in viewer_client.get(runbook.get_absolute_url()).content.decode()


def test_starting_an_incident_from_a_runbook_page_opens_its_checklist(editor_client, runbook):
    response = editor_client.post(reverse("incidents:start_with_runbook", args=[runbook.slug]))
    incident = Incident.objects.get()
    assert incident.title == runbook.title and incident.severity == runbook.severity
    assert response["Location"] == reverse(
        "incidents:checklist", args=[incident.number, runbook.slug]
    )


def test_viewers_cannot_start_incidents_or_runs(viewer_client, runbook):
    assert (
        viewer_client.post(reverse("incidents:start_with_runbook", args=[runbook.slug])).status_code
        == 403
    )
    assert viewer_client.post(reverse("drills:run_start", args=[runbook.slug])).status_code == 403
    assert not Runbook.objects.get(pk=runbook.pk).incidents.exists()
