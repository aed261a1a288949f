"""Bad input on the incident and drill pages, and the runbook pickers' suggestions."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Drill, Incident

pytestmark = pytest.mark.django_db

SUGGEST = "/incidents/runbook-suggestions/"


def drill_post(runbooks, **extra):
    data = {"runbooks": runbooks, "date": timezone.localdate().isoformat(), "participants": "Ana", "outcome": "passed"}
    data.update(extra)
    return data


# --- NUL bytes in addresses ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/incidents/INC-2025-0001%00/",
        "/incidents/INC%00/runbooks/checkout-latency/",
        "/drills/DR-001%00/",
    ],
)
def test_a_nul_byte_in_an_incident_or_drill_address_is_a_404(viewer_client, url):
    assert viewer_client.get(url).status_code == 404


def test_a_nul_byte_in_the_drill_prefill_is_not_a_500(editor_client):
    assert editor_client.get(reverse("drills:create"), {"runbook": "a\x00b"}).status_code == 200


# --- drill form: runbooks by slug -------------------------------------------------


def test_drill_form_does_not_list_every_runbook(editor_client, make_runbook):
    runbooks = [make_runbook() for _ in range(3)]
    body = editor_client.get(reverse("drills:create")).content.decode()
    assert not any(r.title in body for r in runbooks)


def test_a_drill_records_several_runbooks_named_by_comma_separated_slugs(editor_client, make_runbook):
    first, second = make_runbook(), make_runbook()
    response = editor_client.post(reverse("drills:create"), drill_post(f"{first.slug}, {second.slug}"))
    drill = Drill.objects.get()
    assert response.status_code == 302
    assert set(drill.runbooks.all()) == {first, second}


def test_an_unknown_drill_slug_is_named_in_the_error_and_nothing_is_saved(editor_client, runbook):
    response = editor_client.post(reverse("drills:create"), drill_post(f"{runbook.slug}, no-such-runbook"))
    assert response.status_code == 400
    assert "No runbook has the slug “no-such-runbook”" in response.content.decode()
    assert not Drill.objects.exists()


def test_a_malformed_drill_slug_is_a_form_error(editor_client):
    response = editor_client.post(reverse("drills:create"), drill_post("../etc/passwd"))
    assert response.status_code == 400
    assert "No runbook has the slug" in response.content.decode()


def test_a_drill_naming_no_runbook_is_a_form_error(editor_client):
    response = editor_client.post(reverse("drills:create"), drill_post(" , ,"))
    assert response.status_code == 400
    assert "Name at least one runbook" in response.content.decode()


def test_a_drill_dated_before_2000_is_a_form_error(editor_client, runbook):
    response = editor_client.post(reverse("drills:create"), drill_post(runbook.slug, date="0001-01-01"))
    assert response.status_code == 400
    assert "check the year" in response.content.decode()
    assert not Drill.objects.exists()


# --- incident dates ---------------------------------------------------------------


def incident_post(**extra):
    data = {"title": "Database down", "severity": "P1", "detected_at": "2025-01-01T10:00"}
    data.update(extra)
    return data


def test_an_incident_detected_before_2000_is_a_form_error(editor_client):
    response = editor_client.post(reverse("incidents:create"), incident_post(detected_at="0001-01-01T00:00"))
    assert response.status_code == 400
    assert "check the year" in response.content.decode()
    assert not Incident.objects.exists()


def test_an_acknowledgement_in_the_future_is_a_form_error(editor_client):
    response = editor_client.post(reverse("incidents:create"), incident_post(acknowledged_at="9999-12-31T23:59"))
    assert response.status_code == 400
    assert "This is in the future." in response.content.decode()
    assert not Incident.objects.exists()


def test_incident_numbers_have_a_four_digit_year(editor):
    detected = timezone.make_aware(dt.datetime(999, 6, 1, 12, 0))
    incident = Incident.open_incident(by=editor, title="Old", detected_at=detected)
    assert incident.number == "INC-0999-0001"


# --- runbook suggestions ----------------------------------------------------------


def test_attach_box_suggests_runbooks_by_title_prefix(viewer_client, runbook):
    response = viewer_client.get(SUGGEST, {"runbook": "checkout lat"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'<option value="{runbook.slug}">{runbook.title}</option>' in response.content.decode()


def test_drill_suggestions_keep_the_slugs_already_typed(viewer_client, runbook, make_runbook):
    other = make_runbook(title="Payments failover")
    response = viewer_client.get(SUGGEST, {"runbooks": f"{runbook.slug}, paym"})
    assert f'<option value="{runbook.slug}, {other.slug}">' in response.content.decode()


def test_an_empty_or_nul_query_suggests_nothing(viewer_client, runbook):
    response = viewer_client.get(SUGGEST, {"runbook": "\x00 "})
    assert response.status_code == 200
    assert "<option" not in response.content.decode()


def test_outsiders_get_no_suggestions(outsider_client, runbook):
    assert outsider_client.get(SUGGEST, {"runbook": "checkout"}).status_code == 403


def test_the_attach_box_asks_for_suggestions_as_you_type(editor_client, incident):
    body = editor_client.get(reverse("incidents:detail", args=[incident.number])).content.decode()
    assert f'hx-get="{SUGGEST}"' in body and 'list="runbook-options"' in body


def test_the_drill_slug_box_asks_for_suggestions_as_you_type(editor_client):
    body = editor_client.get(reverse("drills:create")).content.decode()
    assert f'hx-get="{SUGGEST}"' in body and '<datalist id="runbook-options">' in body


def test_drill_suggestions_drop_nul_bytes_from_the_kept_slugs(viewer_client, runbook):
    response = viewer_client.get(SUGGEST, {"runbooks": "first,\x00, checkout"})
    assert f'<option value="first, {runbook.slug}">' in response.content.decode()
