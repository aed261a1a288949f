import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.models import CorrectiveAction, Drill, Incident, Status, StepProgress, TimelineEntry
from runbooks import archiving
from runbooks.models import AuditEvent, HistoryEntry, Service
from tests.concurrency import run_in_parallel

from .conftest import review_findings, tomorrow
from .helpers import form_data

pytestmark = pytest.mark.django_db


def review_post(**extra):
    data = {
        **review_findings(),
        "actions-TOTAL_FORMS": "3",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "30",
        # A browser submits each row's status select even when the row is left empty.
        **{f"actions-{n}-status": "open" for n in range(3)},
    }
    data.update(extra)
    return data


# --- permissions ----------------------------------------------------------------


@pytest.fixture
def read_urls(resolved):
    drill = Drill.record(
        by=None, runbooks=[resolved.runbooks.get()], date=timezone.localdate(), participants="a", outcome="passed"
    )
    return [
        reverse("incidents:list"),
        reverse("incidents:detail", args=[resolved.number]),
        reverse("incidents:timeline", args=[resolved.number]),
        reverse("incidents:checklist", args=[resolved.number, resolved.runbooks.get().slug]),
        reverse("incidents:actions"),
        reverse("drills:list"),
        reverse("drills:detail", args=[drill.number]),
    ]


def test_viewers_can_read_every_incident_page(viewer_client, read_urls):
    assert [viewer_client.get(url).status_code for url in read_urls] == [200] * len(read_urls)


def test_outsiders_get_403_on_every_incident_page(outsider_client, read_urls):
    assert [outsider_client.get(url).status_code for url in read_urls] == [403] * len(read_urls)


def test_anonymous_users_are_sent_to_login(client, incident):
    response = client.get(reverse("incidents:detail", args=[incident.number]))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    "name",
    ["incidents:status", "incidents:timeline_add", "incidents:attach", "incidents:acknowledge", "incidents:action_add"],
)
def test_viewers_cannot_act_on_an_incident(viewer_client, incident, name):
    response = viewer_client.post(reverse(name, args=[incident.number]), {"status": "resolved", "text": "x"})
    assert response.status_code == 403
    assert Incident.objects.get().status == Status.INVESTIGATING


def test_viewers_cannot_check_steps(viewer_client, attached):
    url = reverse("incidents:step", args=[attached.incident.number, attached.runbook.slug])
    assert viewer_client.post(url, {"step": 1, "state": "done"}).status_code == 403
    assert not StepProgress.objects.exists()


def test_viewers_cannot_open_incidents_or_record_drills(viewer_client):
    assert viewer_client.get(reverse("incidents:create")).status_code == 403
    assert viewer_client.get(reverse("drills:create")).status_code == 403


# --- incidents --------------------------------------------------------------------


def test_editor_opens_an_incident_from_the_form(editor_client, editor):
    service = Service.objects.create(name="checkout-api")
    response = editor_client.post(
        reverse("incidents:create"),
        {
            "title": "Checkout 500s",
            "severity": "P0",
            "commander": editor.pk,
            "services": [service.pk],
            "detected_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    assert (incident.severity, incident.commander, list(incident.services.all())) == ("P0", editor, [service])


def test_an_incident_detected_in_the_future_is_a_form_error(editor_client):
    future = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = editor_client.post(reverse("incidents:create"), {"title": "x", "severity": "P1", "detected_at": future})
    assert response.status_code == 400
    assert "cannot be detected in the future" in response.content.decode()
    assert not Incident.objects.exists()


def edit_page(client, incident):
    response = client.get(reverse("incidents:edit", args=[incident.number]))
    assert response.status_code == 200
    return form_data(response.content.decode(), "incident-form")


def post_edit(client, incident, form, **changes):
    return client.post(reverse("incidents:edit", args=[incident.number]), {**form, **changes})


def test_editing_details_saves_and_audits(editor_client, incident):
    form = edit_page(editor_client, incident)
    response = post_edit(
        editor_client, incident, form, title="Checkout is slow for EU", severity="P2", user_impact="EU shoppers wait 5 s."
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.severity, incident.user_impact) == ("Checkout is slow for EU", "P2", "EU shoppers wait 5 s.")


def test_edit_form_has_no_status_or_timestamp_fields(editor_client, incident):
    form = edit_page(editor_client, incident)
    visible = {name for name in form if not name.startswith("initial-")} - {"csrfmiddlewaretoken", "row_version"}
    assert visible == {"title", "severity", "commander", "services", "user_impact", "business_impact"}


def test_posting_timestamps_to_the_edit_form_changes_nothing(editor_client, incident):
    form = edit_page(editor_client, incident)
    post_edit(editor_client, incident, form, acknowledged_at="2020-01-01T10:00", status="resolved")
    incident.refresh_from_db()
    assert (incident.acknowledged_at, incident.status) == (None, Status.INVESTIGATING)


def test_stale_edit_after_acknowledge_keeps_the_acknowledgement(editor_client, incident, reviewer):
    form = edit_page(editor_client, incident)
    incident.acknowledge(by=reviewer)
    acknowledged_at = incident.acknowledged_at
    response = post_edit(editor_client, incident, form, title="Checkout is slow for EU")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.acknowledged_at, incident.title) == (acknowledged_at, "Checkout is slow for EU")


def test_stale_edit_after_status_change_keeps_the_status(editor_client, incident, reviewer):
    form = edit_page(editor_client, incident)
    incident.change_status(Status.MITIGATING, by=reviewer)
    response = post_edit(editor_client, incident, form, severity="P0")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.severity) == (Status.MITIGATING, "P0")
    assert incident.acknowledged_at is not None and incident.mitigated_at is not None


def test_stale_edit_keeps_a_field_someone_else_changed_that_it_did_not_touch(editor_client, incident, reviewer):
    form = edit_page(editor_client, incident)
    other = edit_page(editor_client, incident)
    assert post_edit(editor_client, incident, other, title="Checkout down in EU").status_code == 302
    assert post_edit(editor_client, incident, form, user_impact="Orders fail").status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.user_impact) == ("Checkout down in EU", "Orders fail")


def test_stale_edit_of_a_field_changed_meanwhile_is_a_409_conflict_page(editor_client, incident):
    form = edit_page(editor_client, incident)
    other = edit_page(editor_client, incident)
    post_edit(editor_client, incident, other, severity="P0")
    response = post_edit(editor_client, incident, form, severity="P3", title="Mine")
    assert response.status_code == 409
    page = response.content.decode()
    assert "someone changed this field" in page and "P0" in page
    incident.refresh_from_db()
    assert (incident.severity, incident.title) == ("P0", "Checkout is slow")


def test_saving_again_after_a_conflict_applies_yours_and_keeps_their_other_changes(editor_client, incident):
    form = edit_page(editor_client, incident)
    other = edit_page(editor_client, incident)
    post_edit(editor_client, incident, other, severity="P0", title="Theirs")
    conflict = post_edit(editor_client, incident, form, severity="P3")
    again = form_data(conflict.content.decode(), "incident-form")
    assert post_edit(editor_client, incident, again).status_code == 302
    incident.refresh_from_db()
    assert (incident.severity, incident.title) == ("P3", "Theirs")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need a server database")
def test_parallel_stale_edits_never_lose_an_acknowledgement_or_a_status(make_incident, editor, reviewer):
    """40 requests at once: on 20 incidents, a stale edit races an acknowledge or a status change."""
    incidents = [make_incident(title=f"Parallel {n}") for n in range(20)]

    def logged_in(user):
        client = Client()
        client.force_login(user)
        return client

    calls = []
    for n, incident in enumerate(incidents):
        editing = logged_in(editor)
        stale = edit_page(editing, incident)
        calls.append(lambda c=editing, i=incident, f=stale: post_edit(c, i, f, title=f"{i.title} (edited)"))
        acting = logged_in(reviewer)
        if n % 2:
            url, data = reverse("incidents:status", args=[incident.number]), {"status": "mitigating"}
        else:
            url, data = reverse("incidents:acknowledge", args=[incident.number]), {}
        calls.append(lambda c=acting, u=url, d=data: c.post(u, d))
    codes: list[int] = []
    errors = run_in_parallel(*[lambda call=call: codes.append(call().status_code) for call in calls])
    assert not errors

    assert codes == [302] * len(calls)
    for n, incident in enumerate(incidents):
        incident.refresh_from_db()
        assert incident.title.endswith("(edited)")
        assert incident.acknowledged_at is not None
        assert incident.status == (Status.MITIGATING if n % 2 else Status.INVESTIGATING)


def test_editing_a_resolved_incident_is_refused_with_what_can_still_be_done(editor_client, resolved):
    for response in (
        editor_client.get(reverse("incidents:edit", args=[resolved.number])),
        editor_client.post(reverse("incidents:edit", args=[resolved.number]), {"title": "Rewritten"}),
    ):
        assert response.status_code == 409
        assert "post-incident review" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.title == "Checkout is slow"


def test_resolved_incident_page_offers_no_edit_button(editor_client, resolved):
    page = editor_client.get(reverse("incidents:detail", args=[resolved.number])).content.decode()
    assert reverse("incidents:edit", args=[resolved.number]) not in page


def test_edit_audit_records_old_and_new_values(editor_client, incident):
    form = edit_page(editor_client, incident)
    post_edit(editor_client, incident, form, severity="P0")
    event = AuditEvent.objects.get(action="incident.details_changed")
    assert event.detail["changes"] == {"severity": {"old": "P1", "new": "P0"}}
    assert TimelineEntry.objects.filter(incident=incident, text__contains="severity: P1 → P0").exists()


def test_list_shows_open_incidents_first(viewer_client, make_incident, editor):
    old_open = make_incident(title="Old but open", detected_at=timezone.now() - dt.timedelta(days=10))
    new_closed = make_incident(title="New and closed")
    new_closed.resolve(editor)
    page = viewer_client.get(reverse("incidents:list")).context["page"]
    assert [i.pk for i in page.object_list] == [old_open.pk, new_closed.pk]


def test_list_filters_by_status_severity_service_and_date(viewer_client, make_incident):
    db = Service.objects.create(name="db")
    match = make_incident(title="match", severity="P0", services=[db])
    make_incident(title="other severity", severity="P3", services=[db])
    make_incident(title="other service", severity="P0")
    make_incident(title="too old", severity="P0", services=[db], detected_at=timezone.now() - dt.timedelta(days=40))
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    response = viewer_client.get(
        reverse("incidents:list"), {"status": "open", "severity": "P0", "service": db.pk, "since": since}
    )
    assert [i.pk for i in response.context["page"].object_list] == [match.pk]


def test_bad_list_filters_are_a_400_with_a_message(viewer_client):
    response = viewer_client.get(reverse("incidents:list"), {"since": "yesterday-ish", "severity": "P9"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()


def test_list_answers_htmx_with_the_table_only(viewer_client, incident):
    response = viewer_client.get(reverse("incidents:list"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="incident-table"' in body and "<html" not in body


def test_incident_list_query_count_is_constant(viewer_client, make_incident, django_assert_max_num_queries):
    db = Service.objects.create(name="db")
    for _ in range(15):
        make_incident(services=[db])
    with django_assert_max_num_queries(8):
        viewer_client.get(reverse("incidents:list"))


def test_detail_query_count_is_constant(viewer_client, resolved, make_runbook, editor, django_assert_max_num_queries):
    for n in range(10):
        resolved.add_corrective_action(by=editor, title=f"Action {n}", due_date=tomorrow(), owner=editor)
        TimelineEntry.objects.create(incident=resolved, author=editor, text=f"note {n}")
    with django_assert_max_num_queries(12):
        response = viewer_client.get(reverse("incidents:detail", args=[resolved.number]))
    assert response.status_code == 200


# --- status and timeline --------------------------------------------------------


def test_status_change_redirects_and_logs(editor_client, incident):
    response = editor_client.post(reverse("incidents:status", args=[incident.number]), {"status": "identified"})
    assert response.status_code == 302
    assert incident.timeline.filter(text="Status: Investigating → Identified").exists()


def test_resolving_twice_is_a_409_with_a_message(editor_client, resolved):
    response = editor_client.post(reverse("incidents:status", args=[resolved.number]), {"status": "resolved"})
    assert response.status_code == 409
    assert f"{resolved.number} is already resolved" in response.content.decode()


def test_an_unknown_status_is_a_400(editor_client, incident):
    response = editor_client.post(reverse("incidents:status", args=[incident.number]), {"status": "on fire"})
    assert response.status_code == 400


def test_adding_a_note_with_htmx_returns_the_timeline(editor_client, incident):
    response = editor_client.post(
        reverse("incidents:timeline_add", args=[incident.number]),
        {"kind": "note", "text": "Paged the DBA"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Paged the DBA" in body and 'id="timeline"' in body and "<html" not in body


def test_adding_a_note_without_js_redirects_back(editor_client, incident):
    response = editor_client.post(
        reverse("incidents:timeline_add", args=[incident.number]), {"kind": "communication", "text": "Posted update"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#timeline")
    assert incident.timeline.filter(kind="communication", text="Posted update").exists()


def test_an_empty_note_is_a_400(editor_client, incident):
    response = editor_client.post(
        reverse("incidents:timeline_add", args=[incident.number]), {"kind": "note", "text": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_status_entries_cannot_be_forged_from_the_timeline_form(editor_client, incident):
    response = editor_client.post(
        reverse("incidents:timeline_add", args=[incident.number]), {"kind": "status", "text": "Resolved!"}
    )
    assert response.status_code == 400
    assert not incident.timeline.filter(text="Resolved!").exists()


# --- runbooks and checklist -------------------------------------------------------


def test_attaching_by_title_pins_the_version(editor_client, incident, runbook):
    response = editor_client.post(reverse("incidents:attach", args=[incident.number]), {"runbook": "checkout LATENCY"})
    assert response.status_code == 302
    assert incident.attachments.get().revision == runbook.current_revision


def test_attaching_an_unknown_runbook_is_a_400(editor_client, incident):
    response = editor_client.post(reverse("incidents:attach", args=[incident.number]), {"runbook": "nope"})
    assert response.status_code == 400
    assert "There is no runbook called “nope”" in response.content.decode()


def test_checklist_page_lists_the_steps(viewer_client, attached):
    response = viewer_client.get(reverse("incidents:checklist", args=[attached.incident.number, attached.runbook.slug]))
    body = response.content.decode()
    assert "Check the dashboard." in body and "Latency back under 300 ms" in body
    assert 'hx-trigger="every 4s' in body


def test_checking_a_step_with_htmx_returns_the_checklist(editor_client, attached, editor):
    url = reverse("incidents:step", args=[attached.incident.number, attached.runbook.slug])
    response = editor_client.post(url, {"step": attached.steps[0].key, "state": "done"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="status-{attached.steps[0].key}"' in response.content.decode()
    assert "Done by eddie" in response.content.decode()
    assert StepProgress.objects.get().by == editor


def test_checking_a_step_without_js_redirects_to_the_checklist(editor_client, attached):
    url = reverse("incidents:step", args=[attached.incident.number, attached.runbook.slug])
    response = editor_client.post(url, {"step": attached.steps[1].key, "state": "skipped"})
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:checklist", args=[attached.incident.number, attached.runbook.slug])


def test_a_deviation_without_a_note_is_a_400(editor_client, attached):
    url = reverse("incidents:step", args=[attached.incident.number, attached.runbook.slug])
    response = editor_client.post(url, {"step": attached.steps[0].key, "state": "deviated", "note": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Say what was done differently" in response.content.decode()


def test_checking_a_step_on_a_resolved_incident_is_a_409(editor_client, resolved):
    attachment = resolved.attachments.get()
    url = reverse("incidents:step", args=[resolved.number, attachment.runbook.slug])
    response = editor_client.post(url, {"step": attachment.steps[0].key, "state": "done"})
    assert response.status_code == 409


def test_a_teammate_sees_progress_on_the_next_poll(viewer_client, attached, reviewer):
    attached.record_step(1, "done", by=reviewer)
    url = reverse("incidents:checklist", args=[attached.incident.number, attached.runbook.slug])
    response = viewer_client.get(url, HTTP_HX_REQUEST="true")
    assert "Done by rhea" in response.content.decode()


# --- review and corrective actions ------------------------------------------------


def test_reviewing_an_open_incident_is_a_409(editor_client, incident):
    response = editor_client.get(reverse("incidents:review", args=[incident.number]))
    assert response.status_code == 409
    assert "resolve it before the post-incident review" in response.content.decode()


def test_review_form_completes_the_review(editor_client, resolved, editor):
    data = review_post(
        **{"actions-0-title": "Add canary", "actions-0-owner": editor.pk, "actions-0-due_date": tomorrow().isoformat(), "actions-0-status": "open"}
    )
    response = editor_client.post(reverse("incidents:review", args=[resolved.number]), data)
    assert response.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == Status.REVIEWED
    assert CorrectiveAction.objects.get().title == "Add canary"


def test_a_past_due_date_in_the_review_is_a_form_error(editor_client, resolved):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    data = review_post(**{"actions-0-title": "Late", "actions-0-due_date": yesterday, "actions-0-status": "open"})
    response = editor_client.post(reverse("incidents:review", args=[resolved.number]), data)
    assert response.status_code == 400
    assert "is in the past" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.status == Status.RESOLVED


def test_reviewing_twice_is_a_409(editor_client, resolved, editor):
    resolved.complete_review(editor, **review_findings())
    response = editor_client.post(reverse("incidents:review", args=[resolved.number]), review_post())
    assert response.status_code == 409
    assert "already completed" in response.content.decode()


def test_adding_a_past_due_action_is_a_400(editor_client, resolved):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = editor_client.post(
        reverse("incidents:action_add", args=[resolved.number]), {"title": "x", "due_date": yesterday, "status": "open"}
    )
    assert response.status_code == 400
    assert "is in the past" in response.content.decode()
    assert not CorrectiveAction.objects.exists()


def test_overdue_actions_show_on_the_incident_and_the_list(viewer_client, resolved, editor, time_machine):
    resolved.add_corrective_action(by=editor, title="Rotate keys", due_date=tomorrow())
    time_machine.move_to(timezone.now() + dt.timedelta(days=5))
    detail = viewer_client.get(reverse("incidents:detail", args=[resolved.number])).content.decode()
    listing = viewer_client.get(reverse("incidents:actions"))
    assert "corrective action overdue" in detail and "Rotate keys" in detail
    assert [a.title for a in listing.context["overdue"]] == ["Rotate keys"]


def test_editor_updates_an_action_status(editor_client, resolved, editor):
    action = resolved.add_corrective_action(by=editor, title="Rotate keys", due_date=tomorrow())
    response = editor_client.post(reverse("incidents:action_status", args=[action.pk]), {"status": "done"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done"


def test_viewers_cannot_update_action_status(viewer_client, resolved, editor):
    action = resolved.add_corrective_action(by=editor, title="Rotate keys", due_date=tomorrow())
    assert viewer_client.post(reverse("incidents:action_status", args=[action.pk]), {"status": "done"}).status_code == 403


# --- communications ---------------------------------------------------------------


def test_status_updates_are_filled_from_the_incident(viewer_client, make_incident):
    incident = make_incident(title="Payments down", user_impact="Cards declined", services=[Service.objects.create(name="payments")])
    body = viewer_client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    for label in ("Investigating", "Identified", "Monitoring", "Resolved"):
        assert f"Status: {label}" in body
    assert "Affected services: payments" in body and "Impact: Cards declined" in body
    assert body.count('class="copy-button" data-copy') == 4


# --- drills ---------------------------------------------------------------------


def test_editor_records_a_drill_from_the_form(editor_client, runbook):
    response = editor_client.post(
        reverse("drills:create"),
        {
            "runbooks": runbook.slug,
            "date": timezone.localdate().isoformat(),
            "participants": "Ana, Ben",
            "outcome": "gaps",
            "findings": "The rollback command was outdated.",
        },
    )
    drill = Drill.objects.get()
    assert response.status_code == 302 and response["Location"] == drill.get_absolute_url()
    assert HistoryEntry.objects.filter(trigger="drill", reference=drill.number, runbook=runbook).exists()


def test_a_drill_with_gaps_but_no_findings_is_a_form_error(editor_client, runbook):
    response = editor_client.post(
        reverse("drills:create"),
        {"runbooks": runbook.slug, "date": timezone.localdate().isoformat(), "participants": "Ana", "outcome": "gaps"},
    )
    assert response.status_code == 400
    assert "Describe the gaps" in response.content.decode()
    assert not Drill.objects.exists()


def test_drill_form_prefills_the_runbook(editor_client, runbook):
    response = editor_client.get(reverse("drills:create"), {"runbook": runbook.slug})
    assert response.context["form"].initial["runbooks"] == runbook.slug


# --- runbook page usage panel -------------------------------------------------------


def test_runbook_page_lists_incidents_and_drills_newest_first(viewer_client, runbook, make_incident, editor):
    older = make_incident(title="Older", detected_at=timezone.now() - dt.timedelta(days=3))
    newer = make_incident(title="Newer")
    for incident in (older, newer):
        incident.attach_runbook(runbook, by=editor)
    drill = Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="passed")
    body = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert body.index(newer.number) < body.index(older.number)
    assert drill.number in body


def test_runbook_page_query_count_does_not_grow_with_incidents(
    viewer_client, runbook, make_incident, editor, django_assert_num_queries
):
    make_incident().attach_runbook(runbook, by=editor)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        viewer_client.get(runbook.get_absolute_url())
    for _ in range(8):
        make_incident().attach_runbook(runbook, by=editor)
        Drill.record(by=editor, runbooks=[runbook], date=timezone.localdate(), participants="a", outcome="passed")
    with django_assert_num_queries(len(few)):
        viewer_client.get(runbook.get_absolute_url())


def test_timeline_poll_returns_only_the_entries(viewer_client, incident, editor):
    incident.add_note(by=editor, text="Teammate's note")
    response = viewer_client.get(reverse("incidents:timeline", args=[incident.number]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="timeline-entries"' in body and "Teammate&#x27;s note" in body
    assert "<form" not in body


def test_editing_services_replaces_them(editor_client, make_incident):
    old, new = Service.objects.create(name="old"), Service.objects.create(name="new")
    incident = make_incident(services=[old])
    post_edit(editor_client, incident, edit_page(editor_client, incident), services=[new.pk])
    assert list(incident.services.all()) == [new]


def test_an_edit_form_without_its_row_version_cannot_overwrite_a_change(editor_client, incident):
    response = editor_client.post(
        reverse("incidents:edit", args=[incident.number]), {"title": "Blind write", "severity": "P3"}
    )
    assert response.status_code == 409
    incident.refresh_from_db()
    assert (incident.title, incident.severity) == ("Checkout is slow", "P1")


def test_review_form_opens_for_a_resolved_incident(editor_client, resolved):
    response = editor_client.get(reverse("incidents:review", args=[resolved.number]))
    assert response.status_code == 200
    assert "Corrective actions" in response.content.decode()


def test_attaching_to_a_resolved_incident_is_a_409(editor_client, resolved, make_runbook):
    other = make_runbook()
    response = editor_client.post(reverse("incidents:attach", args=[resolved.number]), {"runbook": other.slug})
    assert response.status_code == 409
    assert "attached while it is open" in response.content.decode()


def test_a_drill_dated_in_the_future_is_a_form_error(editor_client, runbook):
    response = editor_client.post(
        reverse("drills:create"),
        {"runbooks": runbook.slug, "date": tomorrow().isoformat(), "participants": "Ana", "outcome": "passed"},
    )
    assert response.status_code == 400
    assert "the date is in the future" in response.content.decode()


def test_an_unknown_incident_is_a_404(viewer_client):
    assert viewer_client.get(reverse("incidents:detail", args=["INC-1999-0001"])).status_code == 404


def test_attaching_an_archived_runbook_is_a_400_that_says_so(editor_client, incident, runbook, editor):
    archiving.archive(runbook, by=editor)
    response = editor_client.post(reverse("incidents:attach", args=[incident.number]), {"runbook": runbook.slug})
    assert response.status_code == 400
    assert "is archived" in response.content.decode()
    assert not incident.attachments.exists()
