"""The runbook page reads the session's user with the runbook's row, and accepts it
only where Django's own login check would: every other session is treated as Django treats it."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def login_redirect(response, runbook) -> bool:
    return response.status_code == 302 and response["Location"] == (
        f"{reverse('login')}?next={runbook.get_absolute_url()}"
    )


def test_a_warm_page_reads_the_viewer_and_the_runbook_in_one_statement(
    viewer_client, viewer, runbook
):
    viewer_client.get(runbook.get_absolute_url())
    with CaptureQueriesContext(connection) as ctx:
        response = viewer_client.get(runbook.get_absolute_url())
    assert response.status_code == 200
    assert response.wsgi_request.user == viewer
    # The session's row (unless the session is cached), then viewer and runbook together.
    assert len(ctx.captured_queries) <= 2
    users_read = [query["sql"] for query in ctx.captured_queries if '"auth_user"' in query["sql"]]
    assert len(users_read) == 1
    assert '"runbooks_runbook"' in users_read[0]


def test_an_anonymous_visitor_is_sent_to_log_in(runbook):
    assert login_redirect(Client().get(runbook.get_absolute_url()), runbook)


def test_an_anonymous_visitor_is_sent_to_log_in_for_a_missing_runbook(db):
    response = Client().get("/runbooks/no-such-runbook/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_viewer_gets_404_for_a_missing_runbook(viewer_client):
    assert viewer_client.get("/runbooks/no-such-runbook/").status_code == 404


def test_a_user_without_a_role_is_refused(outsider_client, runbook):
    assert outsider_client.get(runbook.get_absolute_url()).status_code == 403


def test_a_session_is_logged_out_once_its_users_password_changes(viewer_client, viewer, runbook):
    viewer.set_password("a-new-password-elsewhere")
    viewer.save()
    response = viewer_client.get(runbook.get_absolute_url())
    assert login_redirect(response, runbook)
    assert SESSION_KEY not in viewer_client.session


def test_a_session_with_a_forged_hash_is_logged_out(viewer_client, runbook):
    session = viewer_client.session
    session[HASH_SESSION_KEY] = "0" * 64
    session.save()
    assert login_redirect(viewer_client.get(runbook.get_absolute_url()), runbook)
    assert SESSION_KEY not in viewer_client.session


def test_a_session_naming_another_user_without_their_hash_is_logged_out(
    viewer_client, editor, runbook
):
    session = viewer_client.session
    session[SESSION_KEY] = str(editor.pk)
    session.save()
    assert login_redirect(viewer_client.get(runbook.get_absolute_url()), runbook)


def test_a_session_without_a_hash_is_not_logged_in(viewer_client, runbook):
    session = viewer_client.session
    del session[HASH_SESSION_KEY]
    session.save()
    assert login_redirect(viewer_client.get(runbook.get_absolute_url()), runbook)


def test_a_deactivated_users_session_is_not_logged_in(viewer_client, viewer, runbook):
    viewer.is_active = False
    viewer.save()
    assert login_redirect(viewer_client.get(runbook.get_absolute_url()), runbook)


def test_a_deleted_users_session_is_not_logged_in(viewer_client, viewer, runbook):
    viewer.delete()
    assert login_redirect(viewer_client.get(runbook.get_absolute_url()), runbook)


def test_a_session_signed_with_a_rotated_secret_stays_logged_in(
    viewer_client, viewer, runbook, settings
):
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    response = viewer_client.get(runbook.get_absolute_url())
    assert response.status_code == 200
    # Django rotated the session to the new secret, as on any other page.
    assert viewer_client.session[HASH_SESSION_KEY] == viewer.get_session_auth_hash()


def test_a_session_from_single_sign_on_is_read_by_its_own_backend(viewer, runbook, settings):
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "django.contrib.auth.backends.ModelBackend",
    ]
    client = Client()
    client.force_login(viewer, backend="django.contrib.auth.backends.ModelBackend")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(runbook.get_absolute_url()).status_code == 200
    assert any(
        'FROM "auth_user"' in query["sql"] and "runbooks_runbook" not in query["sql"]
        for query in ctx.captured_queries
    )


def test_an_idle_session_is_sent_to_log_in_from_a_runbook_page(viewer_client, runbook, settings):
    settings.SESSION_IDLE_TIMEOUT = 60 * 60
    viewer_client.get(runbook.get_absolute_url())
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=2)):
        response = viewer_client.get(runbook.get_absolute_url())
    assert login_redirect(response, runbook)
    assert SESSION_KEY not in viewer_client.session
