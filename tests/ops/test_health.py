"""/healthz answers fast whatever is down, and tells anonymous callers no hosts or messages."""

import threading
from unittest import mock

import pytest
from django.test import Client

from fixit_runbooks import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_answer():
    health.forget()
    yield
    health.forget()


def _down(error: str):
    return mock.patch(
        "fixit_runbooks.health.check_broker",
        return_value={"ok": False, "transport": "redis", "error": error},
    )


def test_anonymous_callers_see_ok_or_degraded_per_component_only(client):
    with _down("Error 111 connecting to broker.internal:6379. Connection refused."):
        body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["broker"] == {"ok": False, "status": "degraded"}
    assert body["database"] == {"ok": True, "status": "ok"}
    assert "broker.internal" not in str(body)
    assert "details" not in body


def test_admins_see_the_details(admin_client_role):
    with _down("Error 111 connecting to broker.internal:6379."):
        body = admin_client_role.get("/healthz").json()
    assert "broker.internal" in body["details"]["broker"]["error"]


def test_a_hung_check_is_reported_degraded_without_waiting_for_it(client):
    release = threading.Event()

    def hangs():
        release.wait(30)
        return {"ok": True, "transport": "redis"}

    try:
        with mock.patch("fixit_runbooks.health.check_broker", side_effect=hangs):
            response = client.get("/healthz")
            again = client.get("/healthz")
    finally:
        release.set()
    assert response.status_code == 200
    assert response.json()["broker"]["status"] == "degraded"
    assert again.json()["broker"]["status"] == "degraded"


def test_database_down_is_503(client):
    down = {"ok": False, "vendor": "postgresql", "error": "connection to db.internal:5432 refused"}
    with mock.patch("fixit_runbooks.health.check_database", return_value=down):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "db.internal" not in response.content.decode()


def test_the_answer_is_kept_for_a_few_seconds(client, settings):
    settings.HEALTH_CACHE_SECONDS = 60
    with mock.patch(
        "fixit_runbooks.health.check_database", return_value={"ok": True, "vendor": "x"}
    ) as check:
        client.get("/healthz")
        client.get("/healthz")
    assert check.call_count == 1


def test_a_real_redis_broker_that_is_down_reads_degraded():
    # Nothing listens on port 9 (discard) on loopback: connection refused at once.
    with mock.patch("fixit_runbooks.health.broker_url", return_value="redis://127.0.0.1:9/0"):
        body = Client().get("/healthz").json()
    assert body["broker"]["status"] == "degraded"
    assert body["database"]["status"] == "ok"
