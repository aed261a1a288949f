import pytest

from runbooks.models import AuditEvent, Runbook

pytestmark = pytest.mark.django_db

BODY = "# Disk full\n\n## Steps\n\n1. Check the disk.\n2. Clean the logs.\n3. Page storage.\n"


def test_read_token_lists_live_runbooks(reader, make_runbook):
    make_runbook(title="Disk full", services=["storage"])
    gone = make_runbook(title="Old thing")
    gone.archived_at = gone.created_at
    gone.save(update_fields=["archived_at"])
    response = reader.get("/api/v1/runbooks")
    assert response.status_code == 200
    assert [r["title"] for r in response.json()["results"]] == ["Disk full"]


def test_detail_has_body_revision_and_labels(reader, runbook):
    data = reader.get(f"/api/v1/runbooks/{runbook.slug}").json()
    assert data["revision"] == 1
    assert data["labels"]["alert_names"] == ["CheckoutHighLatency"]
    assert data["body"] == runbook.current_revision.body


def test_unknown_slug_is_404_with_message(reader, db):
    response = reader.get("/api/v1/runbooks/no-such-thing")
    assert response.status_code == 404
    assert "no-such-thing" in response.json()["error"]


def test_create_runbook_goes_through_the_form_and_audit(writer, editor):
    response = writer.post(
        "/api/v1/runbooks",
        {
            "title": "Disk full",
            "kind": "incident",
            "severity": "P2",
            "body": BODY,
            "labels": {"tags": ["Disk"]},
        },
    )
    assert response.status_code == 201, response.content
    runbook = Runbook.objects.get(slug=response.json()["slug"])
    assert runbook.owner == editor
    assert [t.name for t in runbook.tags.all()] == ["disk"]
    assert AuditEvent.objects.filter(object_id=str(runbook.pk)).exists()


def test_create_refuses_form_errors_as_400(writer, db):
    response = writer.post(
        "/api/v1/runbooks", {"title": "No text", "kind": "incident", "body": "  "}
    )
    assert response.status_code == 400
    assert "needs some text" in response.json()["error"]
    assert not Runbook.objects.exists()


def test_read_token_cannot_write(reader, db):
    response = reader.post("/api/v1/runbooks", {"title": "x", "kind": "incident", "body": BODY})
    assert response.status_code == 403
    assert "write" in response.json()["error"]


def test_malformed_json_is_400(writer, db):
    response = writer.post("/api/v1/runbooks", raw="{not json")
    assert response.status_code == 400
    assert response.json()["error"] == "The request body is not valid JSON."


def test_wrong_type_is_400_naming_the_field(writer, db):
    response = writer.post("/api/v1/runbooks", {"title": "x", "body": BODY, "major": "very"})
    assert response.status_code == 400
    assert "major" in response.json()["error"]


def test_edit_with_current_base_saves_a_revision(writer, runbook):
    body = runbook.current_revision.body + "\nMore.\n"
    response = writer.patch(f"/api/v1/runbooks/{runbook.slug}", {"body": body, "base_revision": 1})
    assert response.status_code == 200, response.content
    assert response.json()["saved_revision"] == 2
    runbook.refresh_from_db()
    assert runbook.current_revision.body == body


def test_edit_of_details_only_keeps_the_text(writer, runbook):
    response = writer.patch(
        f"/api/v1/runbooks/{runbook.slug}", {"severity": "P0", "labels": {"tags": ["db"]}}
    )
    assert response.status_code == 200, response.content
    runbook.refresh_from_db()
    assert runbook.severity == "P0" and runbook.current_revision.number == 1
    assert [t.name for t in runbook.tags.all()] == ["db"]


def test_stale_base_revision_with_overlapping_edit_is_409(writer, runbook, editor):
    first_line = runbook.current_revision.body.splitlines()[0]
    Runbook.objects.get(pk=runbook.pk).add_revision(
        author=editor,
        body=runbook.current_revision.body.replace(first_line, "# Theirs"),
        change_summary="x",
    )
    response = writer.patch(
        f"/api/v1/runbooks/{runbook.slug}",
        {"body": runbook.current_revision.body.replace(first_line, "# Mine"), "base_revision": 1},
    )
    assert response.status_code == 409
    assert response.json()["text_conflict"] is True
    assert Runbook.objects.get(pk=runbook.pk).current_revision.body.startswith("# Theirs")


def test_body_without_base_revision_is_400(writer, runbook):
    response = writer.patch(f"/api/v1/runbooks/{runbook.slug}", {"body": "# New\n"})
    assert response.status_code == 400
    assert "base_revision" in response.json()["error"]


def test_archive_then_edit_is_refused(writer, runbook):
    assert (
        writer.post(f"/api/v1/runbooks/{runbook.slug}/archive", {"reason": "gone"}).status_code
        == 200
    )
    response = writer.patch(f"/api/v1/runbooks/{runbook.slug}", {"severity": "P0"})
    assert response.status_code == 409
    assert "archived" in response.json()["error"]


def test_unarchive_restores(writer, runbook):
    writer.post(f"/api/v1/runbooks/{runbook.slug}/archive")
    response = writer.post(f"/api/v1/runbooks/{runbook.slug}/unarchive")
    assert response.status_code == 200
    assert response.json()["archived_at"] is None


def test_nul_in_slug_or_filter_is_a_clean_404_or_empty_list(reader, db):
    assert reader.get("/api/v1/runbooks/bad%00slug").status_code == 404
    response = reader.get("/api/v1/runbooks", {"service": "a\x00b", "tag": "\x00"})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_json_array_body_is_400(writer, db):
    response = writer.post("/api/v1/runbooks", raw="[]")
    assert response.status_code == 400
    assert "was not saved" in response.json()["error"]


def test_nul_in_title_is_refused_by_the_form(writer, db):
    response = writer.post(
        "/api/v1/runbooks", {"title": "a\x00b", "kind": "incident", "body": BODY}
    )
    assert response.status_code == 400
    assert not Runbook.objects.exists()


def test_runbook_list_queries_do_not_grow_with_the_page(
    reader, make_runbook, django_assert_max_num_queries
):
    for n in range(8):
        make_runbook(
            title=f"Runbook {n}", services=[f"svc-{n}"], tags=["db"], alert_names=[f"Alert{n}"]
        )
    with django_assert_max_num_queries(12):
        response = reader.get("/api/v1/runbooks")
    assert response.json()["count"] == 8


def test_edit_under_change_control_becomes_a_proposal_and_publishes_nothing(
    writer, runbook, settings
):
    from changes.models import Proposal

    settings.CHANGE_CONTROL_DEFAULT = "propose"
    body = runbook.current_revision.body + "\nProposed step.\n"
    response = writer.patch(
        f"/api/v1/runbooks/{runbook.slug}",
        {"body": body, "base_revision": 1, "severity": "P0", "change_summary": "Add a step"},
    )
    assert response.status_code == 200, response.content
    proposal = Proposal.objects.get(runbook=runbook)
    assert response.json()["proposal"]["id"] == proposal.pk
    assert proposal.body == body
    runbook.refresh_from_db()
    assert runbook.current_revision.number == 1
    assert runbook.severity == "P0"
