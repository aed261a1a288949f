"""POST /hooks/alertmanager/ and /hooks/grafana/ over real HTTP (live_server) and the test client."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from alerting.models import AlertGroup, IncidentAlert
from incidents.models import Incident, Status, TimelineEntry
from search.models import ApiToken

from .conftest import alertmanager_alert, alertmanager_body, post_json

AM = "/hooks/alertmanager/"
GRAFANA = "/hooks/grafana/"


def client_post(path: str, body: Any, token: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return Client().post(path, data=data, content_type="application/json", **headers)


@pytest.mark.django_db(transaction=True)
def test_first_firing_notification_opens_an_incident_with_the_runbook_pinned(
    live_server: Any, token: str, crashloop_runbook: Any
) -> None:
    status, answer = post_json(live_server.url + AM, alertmanager_body(), token)

    assert status == 201
    [item] = answer["incidents"]
    incident = Incident.objects.get(number=item["number"])
    assert item["created"] is True
    assert item["runbooks"] == [crashloop_runbook.slug]
    assert item["url"] == f"{live_server.url}/incidents/{incident.number}/"
    assert incident.attachments.get().revision_id == crashloop_runbook.current_revision_id
    assert incident.title == "KubePodCrashLooping: Pod is crash looping."
    assert incident.severity == "P1"
    assert list(incident.services.values_list("name", flat=True)) == ["shop-api"]


@pytest.mark.django_db(transaction=True)
def test_repeated_notification_updates_the_same_incident(
    live_server: Any, token: str, crashloop_runbook: Any
) -> None:
    post_json(live_server.url + AM, alertmanager_body(), token)
    status, answer = post_json(live_server.url + AM, alertmanager_body(), token)

    assert status == 200
    assert answer["incidents"][0]["created"] is False
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.filter(text__startswith="Alert firing").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_newly_firing_alert_of_the_group_writes_a_timeline_entry(
    live_server: Any, token: str
) -> None:
    post_json(live_server.url + AM, alertmanager_body(), token)
    grouped = alertmanager_body(
        alertmanager_alert(), alertmanager_alert(pod="api-8f2", fingerprint="2b41cb82ddb3a32e")
    )
    post_json(live_server.url + AM, grouped, token)

    incident = Incident.objects.get()
    texts = list(
        incident.timeline.filter(text__startswith="Alert firing").values_list("text", flat=True)
    )
    assert texts == [
        "Alert firing: KubePodCrashLooping namespace=shop pod=api-7d9",
        "Alert firing: KubePodCrashLooping namespace=shop pod=api-8f2",
    ]


@pytest.mark.django_db(transaction=True)
def test_resolved_notification_marks_all_alerts_resolved_but_leaves_the_incident_open(
    live_server: Any, token: str
) -> None:
    post_json(live_server.url + AM, alertmanager_body(), token)
    status, answer = post_json(
        live_server.url + AM, alertmanager_body(alertmanager_alert(status="resolved")), token
    )

    incident = Incident.objects.get()
    assert status == 200 and answer["incidents"][0]["number"] == incident.number
    assert incident.status == Status.INVESTIGATING
    assert incident.timeline.filter(text__startswith="Alert resolved: KubePodCrashLooping").exists()
    assert incident.timeline.filter(text__startswith="All 1 alert of the group resolved").exists()


@pytest.mark.django_db(transaction=True)
def test_grafana_notification_opens_an_incident(
    live_server: Any, token: str, grafana_body: dict[str, Any]
) -> None:
    status, answer = post_json(live_server.url + GRAFANA, grafana_body, token)

    assert status == 201
    incident = Incident.objects.get(number=answer["incidents"][0]["number"])
    assert incident.title == "High CPU usage, High memory usage"
    assert sorted(IncidentAlert.objects.values_list("fingerprint", flat=True)) == [
        "bc97ff14869b13e3",
        "c6eadffa33fcdf37",
    ]
    assert AlertGroup.objects.get().source == "grafana"


def test_resolved_notification_after_people_resolved_opens_nothing(token: str, editor: Any) -> None:
    client_post(AM, alertmanager_body(), token)
    Incident.objects.get().resolve(editor)

    response = client_post(AM, alertmanager_body(alertmanager_alert(status="resolved")), token)

    assert response.status_code == 200
    assert response.json() == {"incidents": []}
    assert Incident.objects.count() == 1


def test_firing_again_after_people_resolved_opens_a_new_incident(token: str, editor: Any) -> None:
    first = client_post(AM, alertmanager_body(), token).json()["incidents"][0]["number"]
    Incident.objects.get(number=first).resolve(editor)

    second = client_post(AM, alertmanager_body(), token).json()["incidents"][0]

    assert second["created"] is True and second["number"] != first


def test_archived_runbooks_are_not_attached(token: str, crashloop_runbook: Any) -> None:
    crashloop_runbook.archived_at = timezone.now()
    crashloop_runbook.save(update_fields=["archived_at"])

    answer = client_post(AM, alertmanager_body(), token).json()

    assert answer["incidents"][0]["runbooks"] == []


@override_settings(ALERT_SEVERITY_MAP={"critical": "P0"})
def test_severity_comes_from_the_label_through_the_settings_mapping(token: str) -> None:
    client_post(AM, alertmanager_body(), token)

    assert Incident.objects.get().severity == "P0"


def test_unknown_severity_label_takes_the_default(token: str) -> None:
    client_post(AM, alertmanager_body(alertmanager_alert(severity="whatever")), token)

    assert Incident.objects.get().severity == "P2"


def test_a_more_severe_repeat_raises_the_severity(token: str) -> None:
    client_post(AM, alertmanager_body(alertmanager_alert(severity="warning")), token)
    client_post(AM, alertmanager_body(alertmanager_alert(severity="critical")), token)

    incident = Incident.objects.get()
    assert incident.severity == "P1"
    assert incident.timeline.filter(text="Severity raised by a new alert: P2 → P1").exists()


def test_missing_token_is_401(db: Any) -> None:
    response = client_post(AM, alertmanager_body(), None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_401(db: Any) -> None:
    assert client_post(AM, alertmanager_body(), "fxr_not-a-real-token").status_code == 401


def test_a_viewer_token_may_not_declare_incidents(viewer_token: str) -> None:
    response = client_post(AM, alertmanager_body(), viewer_token)

    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_an_editors_read_token_may_not_declare_incidents(editor: Any) -> None:
    read_token = ApiToken.issue(editor, "dashboard")[1]

    response = client_post(AM, alertmanager_body(), read_token)

    assert response.status_code == 403
    assert "write" in response.json()["error"]
    assert not Incident.objects.exists()


def test_get_is_not_allowed(token: str) -> None:
    response = Client().get(AM, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({**alertmanager_body(), "version": "3"}, "version 4"),
        ({**alertmanager_body(), "groupKey": ""}, "groupKey"),
        ({**alertmanager_body(), "alerts": []}, "non-empty list"),
        ({**alertmanager_body(), "status": "burning"}, "“status” must be"),
        (
            {
                **alertmanager_body(),
                "alerts": [{**alertmanager_alert(), "labels": {"alertname": 5}}],
            },
            "must be a string",
        ),
        (
            {**alertmanager_body(), "alerts": [{**alertmanager_alert(), "labels": {"pod": "x"}}]},
            "no “alertname”",
        ),
        (
            {**alertmanager_body(), "alerts": [{**alertmanager_alert(), "startsAt": "yesterday"}]},
            "RFC 3339",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_the_reason_and_write_nothing(
    token: str, body: Any, reason: str
) -> None:
    response = client_post(AM, body, token)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not Incident.objects.exists() and not AlertGroup.objects.exists()


def test_grafana_hook_refuses_a_body_without_group_key(
    token: str, grafana_body: dict[str, Any]
) -> None:
    del grafana_body["groupKey"]

    response = client_post(GRAFANA, grafana_body, token)

    assert response.status_code == 400
    assert "groupKey" in response.json()["error"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need a server database"
)
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_parallel_notifications_for_one_group_opens_one_incident(
    live_server: Any, token: str, crashloop_runbook: Any
) -> None:
    body = alertmanager_body()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: post_json(live_server.url + AM, body, token), range(100)))

    statuses = sorted({status for status, _ in results})
    assert statuses == [200, 201]
    assert sum(1 for status, _ in results if status == 201) == 1
    assert len({answer["incidents"][0]["number"] for _, answer in results}) == 1
    assert Incident.objects.count() == 1
    assert Incident.objects.get().attachments.count() == 1


def test_raising_the_severity_bumps_the_row_version(token: str) -> None:
    client_post(AM, alertmanager_body(alertmanager_alert(severity="warning")), token)
    before = Incident.objects.get().row_version

    client_post(AM, alertmanager_body(alertmanager_alert(severity="critical")), token)

    assert Incident.objects.get().row_version == before + 1
