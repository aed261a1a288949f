"""Repeated wrong passwords lock out the account and the address; failures are logged and audited."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from runbooks.models import AuditEvent
from search.models import ApiToken

WRONG = {"username": "vera", "password": "wrong"}
RIGHT = {"username": "vera", "password": "pw-for-tests"}


def _fail(client: Client, url: str, times: int, **credentials: str) -> None:
    for _ in range(times):
        client.post(url, {**WRONG, **credentials})


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_right_password_after_repeated_failures_is_refused(viewer, settings, url):
    client = Client()
    _fail(client, url, settings.AXES_FAILURE_LIMIT)
    response = client.post(url, RIGHT)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_below_the_limit_do_not_lock_out(viewer, settings):
    client = Client()
    _fail(client, "/login/", settings.AXES_FAILURE_LIMIT - 1)
    response = client.post("/login/", RIGHT)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(viewer.pk)


def test_one_address_guessing_many_accounts_is_locked_out(viewer, make_user, settings):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": f"nobody{n}", "password": "x"})
    assert client.post("/login/", RIGHT).status_code == 429


def test_an_account_is_locked_out_whatever_address_guesses(viewer, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=f"10.0.0.{n + 1}").post("/login/", WRONG)
    assert Client(REMOTE_ADDR="10.9.9.9").post("/login/", RIGHT).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_locked_out(viewer, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_LOCKOUT_PARAMETERS = ["ip_address"]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client(HTTP_X_FORWARDED_FOR="203.0.113.7").post("/login/", WRONG)
    assert Client(HTTP_X_FORWARDED_FOR="203.0.113.7").post("/login/", RIGHT).status_code == 429
    assert Client(HTTP_X_FORWARDED_FOR="198.51.100.1").post("/login/", RIGHT).status_code == 302


def test_a_failed_login_is_in_the_audit_trail(viewer):
    Client(REMOTE_ADDR="192.0.2.5").post("/login/", WRONG)
    event = AuditEvent.objects.get(action="login failed")
    assert event.object_repr == "vera"
    assert event.detail == {"address": "192.0.2.5", "path": "/login/"}


def test_a_failed_login_is_logged(viewer, caplog):
    Client().post("/login/", WRONG)
    assert any(
        "login failed" in record.getMessage() and "'vera'" in record.getMessage()
        for record in caplog.records
    )


def test_an_idle_session_is_logged_out(viewer_client, settings):
    settings.SESSION_IDLE_TIMEOUT = 8 * 60 * 60
    url = reverse("runbooks:index")
    with time_machine.travel(
        dt.datetime.now(tz=dt.UTC) + dt.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 60)
    ):
        response = viewer_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_active_session_stays_logged_in(viewer_client, settings):
    settings.SESSION_IDLE_TIMEOUT = 8 * 60 * 60
    url = reverse("runbooks:index")
    start = dt.datetime.now(tz=dt.UTC)
    step = dt.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT * 0.6)
    for n in (1, 2):
        with time_machine.travel(start + step * n):
            assert viewer_client.get(url).status_code == 200


def _api(token: str, address: str = "192.0.2.9") -> Any:
    return Client(REMOTE_ADDR=address).get("/api/search/?q=x", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_wrong_api_tokens_from_one_address_are_throttled(viewer, settings):
    settings.API_TOKEN_FAILURES_ALLOWED = 3
    _, raw = ApiToken.issue(viewer, "chat-ops")
    statuses = [_api("wrong").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert _api(raw).status_code == 429


def test_another_address_is_not_throttled_by_ones_wrong_tokens(viewer, settings):
    settings.API_TOKEN_FAILURES_ALLOWED = 1
    _, raw = ApiToken.issue(viewer, "chat-ops")
    _api("wrong", address="192.0.2.1")
    assert _api(raw, address="192.0.2.2").status_code == 200


def test_a_wrong_api_token_is_in_the_audit_trail(db):
    _api("wrong", address="192.0.2.77")
    event = AuditEvent.objects.get(action="api token refused")
    assert event.detail["address"] == "192.0.2.77"
