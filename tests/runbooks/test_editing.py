"""Creating from templates, editing, revisions, live preview, restore and edit conflicts."""

import datetime as dt
import html
from typing import Any

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from runbooks import diffs, shapes
from runbooks.models import AuditEvent, HistoryEntry, Kind, Revision, Runbook

pytestmark = pytest.mark.django_db


def form_data(runbook: Runbook, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": runbook.title,
        "slug": runbook.slug,
        "summary": runbook.summary,
        "kind": runbook.kind,
        "category": runbook.category,
        "severity": runbook.severity,
        "audience": runbook.audience,
        "owner": runbook.owner_id or "",
        "review_cadence": runbook.review_cadence,
        "alert_names": ", ".join(a.name for a in runbook.alert_names.all()),
        "services_list": ", ".join(s.name for s in runbook.services.all()),
        "body": runbook.current_revision.body,
        "change_summary": "",
        "base_revision": runbook.current_revision.number,
    }
    data.update(overrides)
    return data


def new_runbook_data(kind: str, body: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": f"New {kind} runbook",
        "kind": kind,
        "category": "operational",
        "severity": "P2",
        "review_cadence": "monthly",
        "body": body,
    }
    data.update(overrides)
    return data


@pytest.fixture
def second_editor_client(make_user: Any) -> Client:
    client = Client()
    client.force_login(make_user("erin", "editor"))
    return client


# --- creating from a template -------------------------------------------------


def test_choose_template_page_offers_every_kind(editor_client):
    page = editor_client.get(reverse("runbooks:create")).content.decode()
    for value, label in Kind.choices:
        assert f"?kind={value}" in page
        assert label in page


@pytest.mark.parametrize("kind", [value for value, _ in Kind.choices])
def test_new_runbook_form_starts_from_the_kinds_template(editor_client, kind):
    response = editor_client.get(reverse("runbooks:create"), {"kind": kind})
    assert response.status_code == 200
    assert html.escape(shapes.TEMPLATES[kind].splitlines()[0]) in response.content.decode()


@pytest.mark.parametrize("kind", [value for value, _ in Kind.choices])
def test_saving_an_untouched_template_has_no_missing_sections(editor_client, kind):
    response = editor_client.post(
        reverse("runbooks:create"), new_runbook_data(kind, shapes.TEMPLATES[kind])
    )
    assert response.status_code == 302
    runbook = Runbook.objects.get(title=f"New {kind} runbook")
    assert runbook.missing_sections == []
    assert runbook.version == "1.0"


def test_unknown_kind_falls_back_to_choosing_a_template(editor_client):
    response = editor_client.get(reverse("runbooks:create"), {"kind": "<script>"})
    assert response.status_code == 200
    assert "pick a shape" in response.content.decode()


def test_create_prefills_alert_and_title_from_query(editor_client):
    response = editor_client.get(
        reverse("runbooks:create"), {"kind": "incident", "alert": "DiskFull", "title": "Disk"}
    )
    form = response.context["form"]
    assert form.initial["alert_names"] == "DiskFull"
    assert form.initial["title"] == "Disk"


def test_created_runbook_records_author_labels_and_audit(editor_client, editor):
    data = new_runbook_data(
        "incident",
        shapes.TEMPLATES["incident"],
        alert_names="DiskFull, DiskFull, NodeDown",
        tags_list="Disk",
    )
    editor_client.post(reverse("runbooks:create"), data)
    runbook = Runbook.objects.get(title="New incident runbook")
    assert runbook.current_revision.author == editor
    assert sorted(a.name for a in runbook.alert_names.all()) == ["DiskFull", "NodeDown"]
    assert [t.name for t in runbook.tags.all()] == ["disk"]
    assert AuditEvent.objects.filter(
        action="runbook.created", runbook=runbook, actor=editor
    ).exists()


# --- missing sections: warn, never block ---------------------------------------


def test_saving_without_required_sections_warns_naming_them(editor_client):
    response = editor_client.post(
        reverse("runbooks:create"),
        new_runbook_data("incident", "## Symptoms\n\nSlow.\n"),
        follow=True,
    )
    page = response.content.decode()
    assert "missing: Diagnosis, Resolution, Verification, Rollback or escalation" in page
    assert Runbook.objects.filter(title="New incident runbook").exists()


def test_runbook_page_and_index_show_missing_badges_until_fixed(editor_client, make_runbook):
    runbook = make_runbook(title="Half written", body="## Symptoms\n\nSlow.\n")
    assert "missing: Diagnosis" in editor_client.get(runbook.get_absolute_url()).content.decode()
    assert "missing: Diagnosis" in editor_client.get(reverse("runbooks:index")).content.decode()

    complete = shapes.TEMPLATES["incident"]
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body=complete)
    )
    assert "missing:" not in editor_client.get(runbook.get_absolute_url()).content.decode()
    assert "missing:" not in editor_client.get(reverse("runbooks:index")).content.decode()


def test_changing_kind_recomputes_missing_sections(editor_client, runbook):
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, kind="service")
    )
    runbook.refresh_from_db()
    assert "Health checks" in runbook.missing_sections
    assert runbook.current_revision.number == 1


# --- every save is a revision ----------------------------------------------------


def test_edit_creates_a_revision_with_summary_author_and_minor_bump(editor_client, editor, runbook):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        form_data(
            runbook,
            body=runbook.current_revision.body + "\nNew step.\n",
            change_summary="Add a step",
        ),
    )
    assert response.status_code == 302
    revision = Runbook.objects.get(pk=runbook.pk).current_revision
    assert (revision.number, revision.version, revision.change_summary) == (2, "1.1", "Add a step")
    assert revision.author == editor
    assert "New step." in revision.body_html
    assert HistoryEntry.objects.filter(
        runbook=runbook, version="1.1", summary="Add a step"
    ).exists()


def test_major_checkbox_bumps_major_version(editor_client, runbook):
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        form_data(runbook, body="## Symptoms\n\nNew.\n", major="on"),
    )
    assert Runbook.objects.get(pk=runbook.pk).version == "2.0"


def test_metadata_only_edit_makes_no_revision(editor_client, runbook):
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, severity="P0")
    )
    runbook.refresh_from_db()
    assert runbook.severity == "P0"
    assert runbook.revisions.count() == 1
    assert AuditEvent.objects.filter(action="runbook.details_changed", runbook=runbook).exists()


def test_windows_line_endings_do_not_count_as_a_change(editor_client, runbook):
    body = runbook.current_revision.body.replace("\n", "\r\n")
    editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body=body))
    assert runbook.revisions.count() == 1


def test_validation_error_keeps_the_users_text(editor_client, runbook):
    my_text = "## Symptoms\n\nMy long careful rewrite that must not be lost.\n"
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        form_data(runbook, body=my_text, severity="P9"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "My long careful rewrite that must not be lost." in page
    assert "your text is still here" in page
    assert runbook.revisions.count() == 1


def test_create_validation_error_keeps_the_users_text(editor_client):
    response = editor_client.post(
        reverse("runbooks:create") + "?kind=incident",
        new_runbook_data("incident", "## Symptoms\n\nDraft kept.\n", title=""),
    )
    assert response.status_code == 400
    assert "Draft kept." in response.content.decode()
    assert not Runbook.objects.exists()


def test_empty_body_is_refused_with_a_message(editor_client, runbook):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body="  ")
    )
    assert response.status_code == 400
    assert "needs some text" in response.content.decode()


def test_duplicate_slug_is_refused(editor_client, runbook, make_runbook):
    other = make_runbook(title="Other")
    response = editor_client.post(
        reverse("runbooks:edit", args=[other.slug]), form_data(other, slug=runbook.slug)
    )
    assert response.status_code == 400
    assert "already uses this slug" in response.content.decode()


def test_invalid_edit_with_a_cleared_slug_reshows_the_form_for_the_stored_runbook(
    editor_client, runbook
):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        form_data(runbook, slug="", title="Renamed", severity="P9"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'action="{reverse("runbooks:edit", args=[runbook.slug])}"' in page
    assert f"Edit “{runbook.title}”" in page


def test_invalid_edit_with_a_new_slug_still_posts_back_to_the_stored_slug(editor_client, runbook):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        form_data(runbook, slug="brand-new-slug", severity="P9"),
    )
    assert response.status_code == 400
    assert f'action="{reverse("runbooks:edit", args=[runbook.slug])}"' in response.content.decode()
    assert Runbook.objects.filter(slug=runbook.slug).exists()


# --- live preview -----------------------------------------------------------------


def test_preview_renders_markdown_without_saving(editor_client, runbook):
    response = editor_client.post(
        reverse("runbooks:preview"),
        {"body": "## Rollout plan\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Rollout plan" in page and "<table>" in page
    assert "<html" not in page
    assert Revision.objects.count() == 1


def test_preview_lists_missing_sections_for_the_kind(editor_client):
    response = editor_client.post(
        reverse("runbooks:preview"), {"body": "## Overview\n", "kind": "service"}
    )
    assert "missing: Health checks" in response.content.decode()


def test_preview_sanitises_script(editor_client):
    response = editor_client.post(
        reverse("runbooks:preview"), {"body": "<script>alert(1)</script>"}
    )
    assert "<script" not in response.content.decode()


def test_preview_refuses_oversized_text(editor_client):
    response = editor_client.post(reverse("runbooks:preview"), {"body": "x" * 500_001})
    assert response.status_code == 400


def test_preview_needs_post(editor_client):
    assert editor_client.get(reverse("runbooks:preview")).status_code == 405


# --- edit conflicts: two editors, nothing lost, nothing silently overwritten -------------

BASE_TEXT = """## Symptoms

- Checkout latency above 2 seconds.

## Diagnosis

1. Check the dashboard.
2. Check recent deploys.

## Resolution

1. Roll back the last deploy.

## Verification

- [ ] Latency back under 300 ms
"""


def open_form(client: Client, runbook: Runbook) -> dict[str, Any]:
    """What the edit page's form would post unchanged, hidden fields included."""
    form = client.get(reverse("runbooks:edit", args=[runbook.slug])).context["form"]
    data: dict[str, Any] = {}
    for field in form:
        value = field.value()
        if value is None or value is False:
            continue
        data[field.name] = ", ".join(value) if isinstance(value, list) else value
    return data


def form_on(response: Any) -> dict[str, Any]:
    """What the conflict page's form would post unchanged."""
    form = response.context["form"]
    return {field.name: field.value() for field in form if field.value() not in (None, False)}


@pytest.fixture
def text_runbook(make_runbook: Any) -> Runbook:
    return make_runbook(
        title="Checkout latency", body=BASE_TEXT, alert_names=["CheckoutHighLatency"]
    )


def test_stale_details_form_keeps_the_other_persons_field(
    editor_client, second_editor_client, runbook
):
    url = reverse("runbooks:edit", args=[runbook.slug])
    first, second = open_form(editor_client, runbook), open_form(second_editor_client, runbook)
    assert (
        editor_client.post(url, {**first, "summary": "Latency on the checkout page"}).status_code
        == 302
    )

    response = second_editor_client.post(url, {**second, "severity": "P0"})

    assert response.status_code == 302
    runbook.refresh_from_db()
    assert (runbook.summary, runbook.severity) == ("Latency on the checkout page", "P0")


def test_same_field_changed_to_different_values_shows_a_conflict_page_with_both(
    editor_client, second_editor_client, runbook
):
    url = reverse("runbooks:edit", args=[runbook.slug])
    first, second = open_form(editor_client, runbook), open_form(second_editor_client, runbook)
    editor_client.post(url, {**first, "summary": "Their summary"})

    response = second_editor_client.post(url, {**second, "summary": "My summary", "severity": "P0"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "Their summary" in page and "My summary" in page
    assert [(c.name, c.theirs, c.mine) for c in response.context["field_conflicts"]] == [
        ("summary", "Their summary", "My summary")
    ]
    runbook.refresh_from_db()
    assert (runbook.summary, runbook.severity) == ("Their summary", "P2")


def test_saving_the_details_conflict_form_applies_my_values_over_what_i_saw(
    editor_client, second_editor_client, runbook
):
    url = reverse("runbooks:edit", args=[runbook.slug])
    first, second = open_form(editor_client, runbook), open_form(second_editor_client, runbook)
    editor_client.post(url, {**first, "summary": "Their summary", "audience": "SRE"})
    conflict = second_editor_client.post(url, {**second, "summary": "My summary"})

    assert second_editor_client.post(url, form_on(conflict)).status_code == 302

    runbook.refresh_from_db()
    assert (runbook.summary, runbook.audience) == ("My summary", "SRE")


def test_details_conflict_form_keeps_their_text_change_merged_in(
    editor_client, second_editor_client, text_runbook
):
    url = reverse("runbooks:edit", args=[text_runbook.slug])
    first, second = (
        open_form(editor_client, text_runbook),
        open_form(second_editor_client, text_runbook),
    )
    theirs = BASE_TEXT.replace("Check the dashboard.", "Check the payments dashboard.")
    editor_client.post(url, {**first, "summary": "Theirs", "body": theirs})
    mine = BASE_TEXT.replace("Roll back the last deploy.", "Roll back the deploy.")
    conflict = second_editor_client.post(url, {**second, "summary": "Mine", "body": mine})
    assert conflict.status_code == 409

    second_editor_client.post(url, form_on(conflict))

    text_runbook.refresh_from_db()
    body = text_runbook.current_revision.body
    assert "Check the payments dashboard." in body and "Roll back the deploy." in body
    assert text_runbook.summary == "Mine"


def test_stale_label_form_does_not_drop_an_alert_name(editor_client, second_editor_client, runbook):
    url = reverse("runbooks:edit", args=[runbook.slug])
    first, second = open_form(editor_client, runbook), open_form(second_editor_client, runbook)
    editor_client.post(url, {**first, "alert_names": "CheckoutHighLatency, CheckoutErrors"})

    second_editor_client.post(url, {**second, "tags_list": "payments"})

    assert runbook.label_names("alert_names") == ["CheckoutErrors", "CheckoutHighLatency"]
    assert runbook.label_names("tags") == ["payments"]
    lookup = second_editor_client.get(reverse("search:alert", args=["CheckoutErrors"]))
    assert (lookup.status_code, lookup["Location"]) == (302, runbook.get_absolute_url())


def test_stale_label_form_removes_only_what_it_removed(
    editor_client, second_editor_client, runbook
):
    url = reverse("runbooks:edit", args=[runbook.slug])
    first, second = open_form(editor_client, runbook), open_form(second_editor_client, runbook)
    editor_client.post(url, {**first, "services_list": "checkout-api, payments-api"})

    second_editor_client.post(url, {**second, "services_list": ""})

    assert runbook.label_names("services") == ["payments-api"]


def test_tampered_form_snapshot_is_refused_with_a_message(editor_client, runbook):
    data = open_form(editor_client, runbook)
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        {**data, "shown": data["shown"][:-3] + "abc", "summary": "x"},
    )
    assert response.status_code == 400
    assert "reload the edit page" in response.content.decode()
    runbook.refresh_from_db()
    assert runbook.summary == ""


def test_cadence_change_moves_the_due_date_from_the_last_sign_off(editor_client, runbook, reviewer):
    signed_off = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 0))
    with time_machine.travel(signed_off):
        runbook.mark_reviewed(reviewer)
    runbook.refresh_from_db()
    assert runbook.next_review_due == signed_off + relativedelta(months=1)

    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        {**open_form(editor_client, runbook), "review_cadence": "weekly"},
    )

    runbook.refresh_from_db()
    assert runbook.next_review_due == signed_off + dt.timedelta(weeks=1)


def test_cadence_change_on_a_never_reviewed_runbook_counts_from_creation(editor_client, runbook):
    assert runbook.last_reviewed_at is None
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        {**open_form(editor_client, runbook), "review_cadence": "quarterly"},
    )
    runbook.refresh_from_db()
    assert runbook.next_review_due == runbook.created_at + relativedelta(months=3)


def test_non_overlapping_text_edits_merge_and_say_so(
    editor_client, second_editor_client, text_runbook
):
    url = reverse("runbooks:edit", args=[text_runbook.slug])
    first, second = (
        open_form(editor_client, text_runbook),
        open_form(second_editor_client, text_runbook),
    )
    theirs = BASE_TEXT.replace("Check the dashboard.", "Check the checkout dashboard.")
    mine = BASE_TEXT.replace(
        "Roll back the last deploy.", "Roll back the last deploy with `deploy rollback`."
    )
    editor_client.post(url, {**first, "body": theirs})

    response = second_editor_client.post(url, {**second, "body": mine}, follow=True)

    text_runbook.refresh_from_db()
    body = text_runbook.current_revision.body
    assert "Check the checkout dashboard." in body and "`deploy rollback`" in body
    assert text_runbook.current_revision.number == 3
    assert response.redirect_chain[-1][0].endswith("/diff/?a=2&b=3")
    page = response.content.decode()
    assert "merged with revision 2 by eddie" in page
    assert [line.text for line in response.context["lines"] if line.kind == "insert"] == [
        "1. Roll back the last deploy with `deploy rollback`."
    ]
    assert (
        AuditEvent.objects.get(action="runbook.edited", detail__revision__new=3).detail[
            "merged_with"
        ]
        == 2
    )


def _overlapping_conflict(
    editor_client: Client, second_editor_client: Client, runbook: Runbook
) -> Any:
    url = reverse("runbooks:edit", args=[runbook.slug])
    first, second = open_form(editor_client, runbook), open_form(second_editor_client, runbook)
    theirs = BASE_TEXT.replace("Check the dashboard.", "Check the payments dashboard.").replace(
        "Latency back under 300 ms", "Latency back under 250 ms"
    )
    mine = BASE_TEXT.replace("Check the dashboard.", "Check the checkout dashboard.")
    editor_client.post(url, {**first, "body": theirs, "change_summary": "Payments dashboard"})
    return second_editor_client.post(
        url, {**second, "body": mine, "change_summary": "Checkout dashboard"}
    )


def test_overlapping_text_edits_show_a_conflict_marking_only_the_conflicting_hunk(
    editor_client, second_editor_client, text_runbook
):
    response = _overlapping_conflict(editor_client, second_editor_client, text_runbook)

    assert response.status_code == 409
    merge = response.context["merge"]
    assert [(c.mine, c.theirs) for c in merge.conflicts] == [
        (["1. Check the checkout dashboard.\n"], ["1. Check the payments dashboard.\n"])
    ]
    assert response.content.decode().count('data-testid="conflict-hunk"') == 1
    # Their other change merged on its own, outside any marked hunk.
    form = response.context["form"]
    assert "Latency back under 250 ms" in form["body"].value()
    assert form["base_revision"].value() == "2"
    text_runbook.refresh_from_db()
    assert text_runbook.current_revision.number == 2


def test_saving_again_without_a_choice_keeps_both_texts(
    editor_client, second_editor_client, text_runbook
):
    conflict = _overlapping_conflict(editor_client, second_editor_client, text_runbook)

    response = second_editor_client.post(
        reverse("runbooks:edit", args=[text_runbook.slug]), form_on(conflict)
    )

    assert response.status_code == 302
    text_runbook.refresh_from_db()
    body = text_runbook.current_revision.body
    assert "Check the checkout dashboard." in body
    assert "Check the payments dashboard." in body
    assert "Latency back under 250 ms" in body
    # Nothing of theirs reads as deleted in the diff from their revision.
    assert not [
        line
        for line in diffs.inline(text_runbook.revisions.get(number=2).body, body)
        if line.kind == "delete"
    ]


def test_discarding_their_change_needs_the_explicit_choice(
    editor_client, second_editor_client, text_runbook
):
    conflict = _overlapping_conflict(editor_client, second_editor_client, text_runbook)

    data = {**form_on(conflict), "conflict_1": "mine"}
    second_editor_client.post(reverse("runbooks:edit", args=[text_runbook.slug]), data)

    text_runbook.refresh_from_db()
    body = text_runbook.current_revision.body
    assert "Check the checkout dashboard." in body
    assert "Check the payments dashboard." not in body
    assert "<<<<<<<" not in body
    assert "Latency back under 250 ms" in body


def test_keeping_their_change_drops_only_my_side_of_the_hunk(
    editor_client, second_editor_client, text_runbook
):
    conflict = _overlapping_conflict(editor_client, second_editor_client, text_runbook)

    data = {**form_on(conflict), "conflict_1": "theirs"}
    second_editor_client.post(reverse("runbooks:edit", args=[text_runbook.slug]), data)

    text_runbook.refresh_from_db()
    assert text_runbook.current_revision.body == text_runbook.revisions.get(number=2).body
    assert text_runbook.revisions.count() == 2


def test_conflict_page_with_an_empty_slug_box_is_not_a_server_error(
    editor_client, second_editor_client, text_runbook
):
    url = reverse("runbooks:edit", args=[text_runbook.slug])
    first, second = (
        open_form(editor_client, text_runbook),
        open_form(second_editor_client, text_runbook),
    )
    editor_client.post(
        url, {**first, "body": BASE_TEXT.replace("dashboard.", "payments dashboard.")}
    )

    response = second_editor_client.post(
        url, {**second, "slug": "", "body": BASE_TEXT.replace("dashboard.", "checkout dashboard.")}
    )

    assert response.status_code == 409
    assert f'action="{url}"' in response.content.decode()


def test_conflicting_save_writes_nothing_not_even_metadata(
    editor_client, second_editor_client, text_runbook
):
    url = reverse("runbooks:edit", args=[text_runbook.slug])
    first, second = (
        open_form(editor_client, text_runbook),
        open_form(second_editor_client, text_runbook),
    )
    editor_client.post(
        url, {**first, "body": BASE_TEXT.replace("dashboard.", "payments dashboard.")}
    )
    second_editor_client.post(
        url,
        {
            **second,
            "title": "Renamed by me",
            "body": BASE_TEXT.replace("dashboard.", "checkout dashboard."),
        },
    )
    text_runbook.refresh_from_db()
    assert text_runbook.title == "Checkout latency"
    assert text_runbook.revisions.count() == 2


def test_form_without_base_revision_is_treated_as_stale(editor_client, runbook):
    data = form_data(runbook, body="## Symptoms\n\nBlind overwrite.\n")
    del data["base_revision"]
    response = editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), data)
    assert response.status_code == 409
    assert runbook.revisions.count() == 1


# --- audit: old and new values ---------------------------------------------------------------


def test_details_audit_records_old_and_new_values_and_label_changes(editor_client, editor, runbook):
    data = open_form(editor_client, runbook)
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        {**data, "severity": "P0", "alert_names": "CheckoutErrors", "tags_list": "payments"},
    )
    event = AuditEvent.objects.get(action="runbook.details_changed", runbook=runbook)
    assert event.actor == editor
    assert event.detail["changes"] == {"severity": {"old": "P2", "new": "P0"}}
    assert event.detail["labels"] == {
        "alert_names": {"added": ["CheckoutErrors"], "removed": ["CheckoutHighLatency"]},
        "tags": {"added": ["payments"], "removed": []},
    }


def test_creation_audit_records_the_new_values_and_labels(editor_client, editor):
    data = new_runbook_data(
        "incident",
        shapes.TEMPLATES["incident"],
        alert_names="DiskFull",
        severity="P1",
        owner=editor.pk,
    )
    editor_client.post(reverse("runbooks:create"), data)
    event = AuditEvent.objects.get(action="runbook.created")
    assert event.detail["changes"]["severity"] == {"old": None, "new": "P1"}
    assert event.detail["changes"]["owner"] == {"old": None, "new": "eddie"}
    assert event.detail["labels"] == {"alert_names": {"added": ["DiskFull"], "removed": []}}
    assert event.detail["revision"] == {"old": None, "new": 1}


def test_text_edit_and_restore_audit_record_revision_numbers(editor, runbook):
    runbook.add_revision(author=editor, body="two", change_summary="2")
    runbook.restore(runbook.revisions.get(number=1), by=editor)
    edited = AuditEvent.objects.get(action="runbook.edited")
    restored = AuditEvent.objects.get(action="runbook.restored")
    assert edited.detail["revision"] == {"old": 1, "new": 2}
    assert (restored.detail["revision"], restored.detail["restored_from"]) == (
        {"old": 2, "new": 3},
        1,
    )


def test_audit_page_shows_old_and_new_values_readably(admin_client_role, editor_client, runbook):
    data = open_form(editor_client, runbook)
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        {**data, "severity": "P0", "alert_names": "CheckoutErrors"},
    )
    page = admin_client_role.get(reverse("runbooks:audit")).content.decode()
    assert "Severity:</span>" in page
    assert "<del>P2</del> → <ins>P0</ins>" in page
    assert "<ins>+ CheckoutErrors</ins>" in page
    assert "<del>− CheckoutHighLatency</del>" in page


def test_edit_does_not_undo_a_review_recorded_meanwhile(editor_client, runbook, reviewer):
    url = reverse("runbooks:edit", args=[runbook.slug])
    editor_client.get(url)
    runbook.request_review(reason="Incident INC-1", by=reviewer)
    editor_client.post(url, form_data(runbook, body=runbook.current_revision.body + "\nMore.\n"))
    runbook.refresh_from_db()
    assert runbook.review_requested_reason == "Incident INC-1"


# --- restore ----------------------------------------------------------------------------


def test_restore_adds_a_new_revision_recorded_in_history(editor_client, editor, runbook):
    original = runbook.current_revision
    runbook.add_revision(
        author=editor, body="## Symptoms\n\nRewritten.\n", change_summary="Rewrite"
    )
    response = editor_client.post(
        reverse("runbooks:restore", args=[runbook.slug, 1]), {"base_revision": 2}, follow=True
    )
    runbook.refresh_from_db()
    assert runbook.current_revision.number == 3
    assert runbook.current_revision.body == original.body
    assert runbook.current_revision.restored_from == original
    assert "Restored revision 1" in response.content.decode()
    assert HistoryEntry.objects.filter(
        runbook=runbook, summary__startswith="Restored revision 1"
    ).exists()
    assert AuditEvent.objects.filter(runbook=runbook, action="runbook.restored").exists()


def test_restore_from_a_stale_page_is_refused(editor_client, editor, runbook):
    runbook.add_revision(author=editor, body="two", change_summary="2")
    runbook.add_revision(author=editor, body="three", change_summary="3")
    response = editor_client.post(
        reverse("runbooks:restore", args=[runbook.slug, 1]), {"base_revision": 2}, follow=True
    )
    assert "Not restored" in response.content.decode()
    assert runbook.revisions.count() == 3


@pytest.mark.parametrize("base", ["", "abc", "-1"])
def test_restore_without_a_valid_base_is_a_bad_request(editor_client, editor, runbook, base):
    runbook.add_revision(author=editor, body="two", change_summary="2")
    response = editor_client.post(
        reverse("runbooks:restore", args=[runbook.slug, 1]), {"base_revision": base}
    )
    assert response.status_code == 400
    assert "reload the history page" in response.content.decode()
    assert runbook.revisions.count() == 2


@pytest.mark.parametrize("number", [99, 2**40])
def test_restore_of_unknown_revision_is_404(editor_client, runbook, number):
    response = editor_client.post(
        reverse("runbooks:restore", args=[runbook.slug, number]), {"base_revision": 1}
    )
    assert response.status_code == 404


def test_editor_links_related_runbooks_by_slug(editor_client, runbook, make_runbook):
    other = make_runbook(title="Database failover")
    url = reverse("runbooks:edit", args=[runbook.slug])
    response = editor_client.post(url, form_data(runbook, related_slugs=other.slug))
    assert response.status_code == 302
    assert list(runbook.related.all()) == [other]
    assert "Checkout latency" in editor_client.get(other.get_absolute_url()).content.decode()


def test_unknown_related_slug_is_refused_and_keeps_the_text(editor_client, runbook):
    url = reverse("runbooks:edit", args=[runbook.slug])
    response = editor_client.post(
        url, form_data(runbook, related_slugs="no-such-runbook", body="kept text\n")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "No runbook has the slug: no-such-runbook" in page
    assert "kept text" in page
