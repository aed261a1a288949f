"""Creating from templates, editing, revisions, live preview, restore and edit conflicts."""

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from runbooks import shapes
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
    response = editor_client.post(reverse("runbooks:create"), new_runbook_data(kind, shapes.TEMPLATES[kind]))
    assert response.status_code == 302
    runbook = Runbook.objects.get(title=f"New {kind} runbook")
    assert runbook.missing_sections == []
    assert runbook.version == "1.0"


def test_unknown_kind_falls_back_to_choosing_a_template(editor_client):
    response = editor_client.get(reverse("runbooks:create"), {"kind": "<script>"})
    assert response.status_code == 200
    assert "pick a shape" in response.content.decode()


def test_create_prefills_alert_and_title_from_query(editor_client):
    response = editor_client.get(reverse("runbooks:create"), {"kind": "incident", "alert": "DiskFull", "title": "Disk"})
    form = response.context["form"]
    assert form.initial["alert_names"] == "DiskFull"
    assert form.initial["title"] == "Disk"


def test_created_runbook_records_author_labels_and_audit(editor_client, editor):
    data = new_runbook_data(
        "incident", shapes.TEMPLATES["incident"], alert_names="DiskFull, DiskFull, NodeDown", tags_list="Disk"
    )
    editor_client.post(reverse("runbooks:create"), data)
    runbook = Runbook.objects.get(title="New incident runbook")
    assert runbook.current_revision.author == editor
    assert sorted(a.name for a in runbook.alert_names.all()) == ["DiskFull", "NodeDown"]
    assert [t.name for t in runbook.tags.all()] == ["disk"]
    assert AuditEvent.objects.filter(action="runbook.created", runbook=runbook, actor=editor).exists()


# --- missing sections: warn, never block ---------------------------------------


def test_saving_without_required_sections_warns_naming_them(editor_client):
    response = editor_client.post(
        reverse("runbooks:create"), new_runbook_data("incident", "## Symptoms\n\nSlow.\n"), follow=True
    )
    page = response.content.decode()
    assert "missing: Diagnosis, Resolution, Verification, Rollback or escalation" in page
    assert Runbook.objects.filter(title="New incident runbook").exists()


def test_runbook_page_and_index_show_missing_badges_until_fixed(editor_client, make_runbook):
    runbook = make_runbook(title="Half written", body="## Symptoms\n\nSlow.\n")
    assert "missing: Diagnosis" in editor_client.get(runbook.get_absolute_url()).content.decode()
    assert "missing: Diagnosis" in editor_client.get(reverse("runbooks:index")).content.decode()

    complete = shapes.TEMPLATES["incident"]
    editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body=complete))
    assert "missing:" not in editor_client.get(runbook.get_absolute_url()).content.decode()
    assert "missing:" not in editor_client.get(reverse("runbooks:index")).content.decode()


def test_changing_kind_recomputes_missing_sections(editor_client, runbook):
    editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, kind="service"))
    runbook.refresh_from_db()
    assert "Health checks" in runbook.missing_sections
    assert runbook.current_revision.number == 1


# --- every save is a revision ----------------------------------------------------


def test_edit_creates_a_revision_with_summary_author_and_minor_bump(editor_client, editor, runbook):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]),
        form_data(runbook, body=runbook.current_revision.body + "\nNew step.\n", change_summary="Add a step"),
    )
    assert response.status_code == 302
    revision = Runbook.objects.get(pk=runbook.pk).current_revision
    assert (revision.number, revision.version, revision.change_summary) == (2, "1.1", "Add a step")
    assert revision.author == editor
    assert "New step." in revision.body_html
    assert HistoryEntry.objects.filter(runbook=runbook, version="1.1", summary="Add a step").exists()


def test_major_checkbox_bumps_major_version(editor_client, runbook):
    editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body="## Symptoms\n\nNew.\n", major="on")
    )
    assert Runbook.objects.get(pk=runbook.pk).version == "2.0"


def test_metadata_only_edit_makes_no_revision(editor_client, runbook):
    editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, severity="P0"))
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
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body=my_text, severity="P9")
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
    response = editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, body="  "))
    assert response.status_code == 400
    assert "needs some text" in response.content.decode()


def test_duplicate_slug_is_refused(editor_client, runbook, make_runbook):
    other = make_runbook(title="Other")
    response = editor_client.post(reverse("runbooks:edit", args=[other.slug]), form_data(other, slug=runbook.slug))
    assert response.status_code == 400
    assert "already uses this slug" in response.content.decode()


def test_invalid_edit_with_a_cleared_slug_reshows_the_form_for_the_stored_runbook(editor_client, runbook):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, slug="", title="Renamed", severity="P9")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'action="{reverse("runbooks:edit", args=[runbook.slug])}"' in page
    assert f"Edit “{runbook.title}”" in page


def test_invalid_edit_with_a_new_slug_still_posts_back_to_the_stored_slug(editor_client, runbook):
    response = editor_client.post(
        reverse("runbooks:edit", args=[runbook.slug]), form_data(runbook, slug="brand-new-slug", severity="P9")
    )
    assert response.status_code == 400
    assert f'action="{reverse("runbooks:edit", args=[runbook.slug])}"' in response.content.decode()
    assert Runbook.objects.filter(slug=runbook.slug).exists()


# --- live preview -----------------------------------------------------------------


def test_preview_renders_markdown_without_saving(editor_client, runbook):
    response = editor_client.post(
        reverse("runbooks:preview"), {"body": "## Rollout plan\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Rollout plan" in page and "<table>" in page
    assert "<html" not in page
    assert Revision.objects.count() == 1


def test_preview_lists_missing_sections_for_the_kind(editor_client):
    response = editor_client.post(reverse("runbooks:preview"), {"body": "## Overview\n", "kind": "service"})
    assert "missing: Health checks" in response.content.decode()


def test_preview_sanitises_script(editor_client):
    response = editor_client.post(reverse("runbooks:preview"), {"body": "<script>alert(1)</script>"})
    assert "<script" not in response.content.decode()


def test_preview_refuses_oversized_text(editor_client):
    response = editor_client.post(reverse("runbooks:preview"), {"body": "x" * 500_001})
    assert response.status_code == 400


def test_preview_needs_post(editor_client):
    assert editor_client.get(reverse("runbooks:preview")).status_code == 405


# --- edit conflicts: two editors, no silent lost update ------------------------------


def test_second_editor_gets_conflict_not_a_lost_update(editor_client, second_editor_client, runbook):
    url = reverse("runbooks:edit", args=[runbook.slug])
    # Both open the editor at revision 1.
    first_form = editor_client.get(url).context["form"]
    second_form = second_editor_client.get(url).context["form"]
    assert first_form.initial["base_revision"] == second_form.initial["base_revision"] == 1

    original = runbook.current_revision.body
    theirs = original + "\n## Escalation\n\nPage the payments lead.\n"
    mine = original.replace("Check the dashboard.", "Check the checkout dashboard.")
    assert editor_client.post(url, form_data(runbook, body=theirs, change_summary="Escalation")).status_code == 302

    response = second_editor_client.post(url, form_data(runbook, body=mine, change_summary="Dashboard"))

    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else saved while you were editing" in page
    assert "Page the payments lead." in page  # their text is shown
    assert "Check the checkout dashboard." in page  # my text is kept in the textarea
    assert response.context["form"]["body"].value() == mine
    assert response.context["form"]["base_revision"].value() == "2"
    assert any(line.kind == "insert" and "checkout dashboard" in line.text for line in response.context["diff"])
    runbook.refresh_from_db()
    assert runbook.current_revision.number == 2
    assert runbook.current_revision.body == theirs


def test_saving_the_merge_after_a_conflict_succeeds(editor_client, second_editor_client, runbook):
    url = reverse("runbooks:edit", args=[runbook.slug])
    original = runbook.current_revision.body
    theirs = original + "\n## Escalation\n\nPage the payments lead.\n"
    editor_client.post(url, form_data(runbook, body=theirs))
    conflict = second_editor_client.post(url, form_data(runbook, body=original + "\nMine.\n"))
    merged = theirs + "\nMine.\n"

    data = form_data(runbook, body=merged, change_summary="Merge")
    data["base_revision"] = conflict.context["form"]["base_revision"].value()
    response = second_editor_client.post(url, data)

    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.current_revision.number == 3
    assert runbook.current_revision.body == merged


def test_conflicting_save_writes_nothing_not_even_metadata(editor_client, second_editor_client, runbook):
    url = reverse("runbooks:edit", args=[runbook.slug])
    editor_client.post(url, form_data(runbook, body="## Symptoms\n\nTheirs.\n"))
    second_editor_client.post(url, form_data(runbook, body="## Symptoms\n\nMine.\n", title="Renamed by me"))
    runbook.refresh_from_db()
    assert runbook.title == "Checkout latency"
    assert runbook.revisions.count() == 2


def test_form_without_base_revision_is_treated_as_stale(editor_client, runbook):
    data = form_data(runbook, body="## Symptoms\n\nBlind overwrite.\n")
    del data["base_revision"]
    response = editor_client.post(reverse("runbooks:edit", args=[runbook.slug]), data)
    assert response.status_code == 409
    assert runbook.revisions.count() == 1


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
    runbook.add_revision(author=editor, body="## Symptoms\n\nRewritten.\n", change_summary="Rewrite")
    response = editor_client.post(
        reverse("runbooks:restore", args=[runbook.slug, 1]), {"base_revision": 2}, follow=True
    )
    runbook.refresh_from_db()
    assert runbook.current_revision.number == 3
    assert runbook.current_revision.body == original.body
    assert runbook.current_revision.restored_from == original
    assert "Restored revision 1" in response.content.decode()
    assert HistoryEntry.objects.filter(runbook=runbook, summary__startswith="Restored revision 1").exists()
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
    response = editor_client.post(reverse("runbooks:restore", args=[runbook.slug, 1]), {"base_revision": base})
    assert response.status_code == 400
    assert "reload the history page" in response.content.decode()
    assert runbook.revisions.count() == 2


@pytest.mark.parametrize("number", [99, 2**40])
def test_restore_of_unknown_revision_is_404(editor_client, runbook, number):
    response = editor_client.post(reverse("runbooks:restore", args=[runbook.slug, number]), {"base_revision": 1})
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
    response = editor_client.post(url, form_data(runbook, related_slugs="no-such-runbook", body="kept text\n"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "No runbook has the slug: no-such-runbook" in page
    assert "kept text" in page
