import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings

from incidents.models import Drill, Incident, StepProgress, TimelineEntry
from runbooks.models import AuditEvent
from search.models import ApiToken

pytestmark = pytest.mark.django_db


def test_declare_incident_opens_it_with_audit(writer, runbook):
    response = writer.post(
        "/api/v1/incidents",
        {"title": "Checkout slow", "severity": "P1", "services": ["checkout-api"]},
    )
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(number=response.json()["number"])
    assert incident.severity == "P1" and [s.name for s in incident.services.all()] == [
        "checkout-api"
    ]
    assert AuditEvent.objects.filter(action="incident.opened").count() == 1


def test_declare_with_unknown_service_is_400(writer, db):
    response = writer.post("/api/v1/incidents", {"title": "x", "services": ["nope"]})
    assert response.status_code == 400
    assert "nope" in response.json()["error"]
    assert not Incident.objects.exists()


def test_declare_with_bad_severity_is_400_from_the_form(writer, db):
    response = writer.post("/api/v1/incidents", {"title": "x", "severity": "P9"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("The incident was not saved. severity:")


def test_status_change_and_repeat_is_409(writer, editor):
    incident = Incident.open_incident(by=editor, title="x")
    url = f"/api/v1/incidents/{incident.number}/status"
    assert writer.post(url, {"status": "mitigating"}).json()["status"] == "mitigating"
    response = writer.post(url, {"status": "mitigating"})
    assert response.status_code == 409
    assert "already" in response.json()["error"]


def test_timeline_note_is_added(writer, editor):
    incident = Incident.open_incident(by=editor, title="x")
    response = writer.post(f"/api/v1/incidents/{incident.number}/timeline", {"text": "Rolled back"})
    assert response.status_code == 201
    assert TimelineEntry.objects.filter(incident=incident, text="Rolled back").exists()


def test_attach_runbook_and_mark_a_step_by_number(writer, editor, runbook):
    incident = Incident.open_incident(by=editor, title="x")
    attached = writer.post(
        f"/api/v1/incidents/{incident.number}/runbooks", {"runbook": runbook.slug}
    )
    assert attached.status_code == 201, attached.content
    assert attached.json()["revision"] == 1
    response = writer.post(
        f"/api/v1/incidents/{incident.number}/runbooks/{runbook.slug}/steps",
        {"step": 1, "state": "done"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["steps"][0]["state"] == "done"
    assert StepProgress.objects.count() == 1


def test_step_of_unattached_runbook_is_404(writer, editor, runbook):
    incident = Incident.open_incident(by=editor, title="x")
    response = writer.post(
        f"/api/v1/incidents/{incident.number}/runbooks/{runbook.slug}/steps",
        {"step": 1, "state": "done"},
    )
    assert response.status_code == 404


def test_attach_archived_runbook_is_409(writer, editor, runbook):
    incident = Incident.open_incident(by=editor, title="x")
    writer.post(f"/api/v1/runbooks/{runbook.slug}/archive")
    response = writer.post(
        f"/api/v1/incidents/{incident.number}/runbooks", {"runbook": runbook.slug}
    )
    assert response.status_code == 409
    assert "archived" in response.json()["error"]


def test_unknown_incident_is_404(reader, db):
    response = reader.get("/api/v1/incidents/INC-1999-0001")
    assert response.status_code == 404
    assert "INC-1999-0001" in response.json()["error"]


def test_record_drill(writer, runbook):
    response = writer.post(
        "/api/v1/drills",
        {
            "runbooks": [runbook.slug],
            "date": dt.date.today().isoformat(),
            "participants": "ann",
            "outcome": "passed",
        },
    )
    assert response.status_code == 201, response.content
    assert Drill.objects.get().runbooks.get() == runbook


def test_drill_with_wrong_date_type_is_400(writer, runbook):
    response = writer.post(
        "/api/v1/drills",
        {"runbooks": [runbook.slug], "date": "soon", "participants": "a", "outcome": "passed"},
    )
    assert response.status_code == 400
    assert "date" in response.json()["error"]


def test_search_answers_like_the_old_endpoint(reader, runbook):
    response = reader.get("/api/v1/search", {"q": "checkout"})
    assert response.status_code == 200
    assert response.json()["results"][0]["slug"] == runbook.slug


def test_search_without_query_is_400(reader, db):
    assert reader.get("/api/v1/search").status_code == 400


def test_missing_token_is_401(client, db):
    response = client.get("/api/v1/runbooks")
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


@override_settings(API_RATE_LIMIT=2)
def test_rate_limit_is_429_with_retry_after(reader, db):
    assert reader.get("/api/v1/runbooks").status_code == 200
    assert reader.get("/api/v1/runbooks").status_code == 200
    response = reader.get("/api/v1/runbooks")
    assert response.status_code == 429
    assert "try again in" in response.json()["error"]
    assert int(response["Retry-After"]) > 0


def test_viewer_with_write_token_still_needs_the_editor_role(viewer, db):
    from search.models import TokenScope

    from .conftest import TokenClient

    client = TokenClient(ApiToken.issue(viewer, "t", scope=TokenScope.WRITE)[1])
    response = client.post("/api/v1/incidents", {"title": "x"})
    assert response.status_code == 403
    assert "editor role" in response.json()["error"]


def test_create_api_token_takes_a_write_scope(editor, capsys):
    call_command("create_api_token", editor.username, "--scope", "write")
    assert ApiToken.objects.get().scope == "write"


def test_create_api_token_defaults_to_read(editor, capsys):
    call_command("create_api_token", editor.username)
    assert ApiToken.objects.get().scope == "read"


def test_nul_in_incident_number_or_service_is_4xx(writer, editor):
    assert writer.get("/api/v1/incidents/INC%00").status_code == 404
    response = writer.post("/api/v1/incidents", {"title": "x", "services": ["a\x00"]})
    assert response.status_code == 400


def test_huge_step_number_is_refused(writer, editor, runbook):
    incident = Incident.open_incident(by=editor, title="x")
    writer.post(f"/api/v1/incidents/{incident.number}/runbooks", {"runbook": runbook.slug})
    response = writer.post(
        f"/api/v1/incidents/{incident.number}/runbooks/{runbook.slug}/steps",
        {"step": 10**30, "state": "done"},
    )
    assert 400 <= response.status_code < 500


def test_incident_list_queries_do_not_grow_with_the_page(
    reader, editor, django_assert_max_num_queries
):
    for n in range(8):
        Incident.open_incident(by=editor, title=f"Incident {n}")
    with django_assert_max_num_queries(10):
        response = reader.get("/api/v1/incidents")
    assert response.json()["count"] == 8
