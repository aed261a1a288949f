"""The runbook page is one cached fragment: what depends on the viewer, the clock or a
panel's own source still shows fresh on the next page view."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.models import ChecklistRun
from notifications.models import Watch
from runbooks.templatetags.runbook_cache import csrf_standin

pytestmark = pytest.mark.django_db

# The session, then the viewer with the runbook row, its page stamp, watch state and the viewer's role.
WARM_PAGE_MAX_QUERIES = 2


def page(client, runbook) -> str:
    response = client.get(runbook.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def queries_of_a_view(client, runbook) -> int:
    with CaptureQueriesContext(connection) as ctx:
        page(client, runbook)
    return len(ctx.captured_queries)


def test_warm_runbook_page_runs_a_handful_of_queries(viewer_client, runbook):
    page(viewer_client, runbook)
    assert queries_of_a_view(viewer_client, runbook) <= WARM_PAGE_MAX_QUERIES


def test_each_roles_page_stays_cached_when_another_role_views_it(
    viewer_client, editor_client, runbook
):
    page(viewer_client, runbook)
    page(editor_client, runbook)
    assert queries_of_a_view(viewer_client, runbook) <= WARM_PAGE_MAX_QUERIES


def test_a_page_renders_after_a_missing_one_and_a_refused_one(
    viewer_client, outsider_client, runbook
):
    assert viewer_client.get("/runbooks/no-such-runbook/").status_code == 404
    assert outsider_client.get(runbook.get_absolute_url()).status_code == 403
    assert runbook.title in page(viewer_client, runbook)
    assert viewer_client.get("/runbooks/no-such-runbook/").status_code == 404
    assert runbook.title in page(viewer_client, runbook)


def test_cached_page_carries_each_viewers_own_csrf_token(editor_client, viewer_client, runbook):
    page(viewer_client, runbook)
    html = page(editor_client, runbook)
    assert csrf_standin() not in html
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    assert tokens and all(len(token) == 64 for token in tokens)
    start = editor_client.post(
        f"/drills/run/{runbook.slug}/start/",
        {"purpose": "maintenance", "csrfmiddlewaretoken": tokens.pop()},
    )
    assert start.status_code != 403


def test_watch_button_follows_the_viewer_after_the_page_is_cached(
    viewer_client, viewer, editor_client, runbook
):
    page(editor_client, runbook)
    assert ">Watch</button>" in page(viewer_client, runbook)
    Watch.objects.create(user=viewer, runbook=runbook)
    assert ">Stop watching</button>" in page(viewer_client, runbook)
    assert ">Watch</button>" in page(editor_client, runbook)


def test_edit_button_shows_by_role_on_a_cached_page(viewer_client, editor_client, runbook):
    assert f'href="/runbooks/{runbook.slug}/edit/"' not in page(viewer_client, runbook)
    assert f'href="/runbooks/{runbook.slug}/edit/"' in page(editor_client, runbook)
    assert f'href="/runbooks/{runbook.slug}/edit/"' not in page(viewer_client, runbook)


def test_review_badge_turns_overdue_with_the_clock_on_a_cached_page(viewer_client, runbook):
    due = timezone.now() + dt.timedelta(hours=1)
    type(runbook).objects.filter(pk=runbook.pk).update(
        next_review_due=due, last_reviewed_at=timezone.now()
    )
    assert "review overdue" not in page(viewer_client, runbook)
    with time_machine.travel(due + dt.timedelta(hours=1), tick=False):
        assert "review overdue" in page(viewer_client, runbook)


def test_a_recorded_step_shows_in_the_feedback_panel_on_the_next_view(
    viewer_client, editor, runbook
):
    assert "Not followed as a checklist yet." in page(viewer_client, runbook)
    run = ChecklistRun.start(runbook, by=editor)
    run.record_step(1, "skipped", by=editor)
    html = page(viewer_client, runbook)
    assert "Not followed as a checklist yet." not in html
    assert "Followed 1 time" in html


def test_a_role_granted_shows_on_the_next_view_of_a_cached_page(viewer_client, viewer, runbook):
    from django.contrib.auth.models import Group

    edit_link = f'href="/runbooks/{runbook.slug}/edit/"'
    assert edit_link not in page(viewer_client, runbook)
    viewer.groups.add(Group.objects.get_or_create(name="editor")[0])
    assert edit_link in page(viewer_client, runbook)


def test_someone_without_a_role_is_refused_a_runbook_page(outsider_client, runbook):
    assert outsider_client.get(runbook.get_absolute_url()).status_code == 403
    assert outsider_client.get("/runbooks/no-such-runbook/").status_code == 403


def test_an_opened_and_a_withdrawn_proposal_show_on_the_next_view(viewer_client, runbook, editor):
    from changes import proposals

    assert "Needs a second look" not in page(viewer_client, runbook)
    proposal = proposals.open_proposal(
        runbook,
        by=editor,
        body=runbook.current_revision.body + "\nOne more step.\n",
        base_revision=runbook.current_revision.number,
        summary="Needs a second look",
    )
    assert "Needs a second look" in page(viewer_client, runbook)
    proposals.withdraw(proposal, by=editor)
    assert "Needs a second look" not in page(viewer_client, runbook)


def test_a_new_review_request_reason_shows_on_the_next_view(viewer_client, runbook):
    runbook.request_review(reason="After the March outage")
    assert "After the March outage" in page(viewer_client, runbook)
    type(runbook).objects.filter(pk=runbook.pk).update(review_requested_at=None)
    runbook.refresh_from_db()
    runbook.request_review(reason="Ports changed")
    html = page(viewer_client, runbook)
    assert "Ports changed" in html
    assert "After the March outage" not in html


def test_each_viewer_sees_their_own_name_on_a_cached_page(viewer_client, make_user, runbook):
    from django.test import Client

    other = Client()
    other.force_login(make_user("victor.viewer", "viewer"))
    assert "victor.viewer" not in page(viewer_client, runbook)
    html = page(other, runbook)
    assert "victor.viewer" in html


def test_a_message_shows_once_on_a_cached_page(viewer_client, runbook):
    page(viewer_client, runbook)
    viewer_client.post(reverse("notifications:watch_runbook", args=[runbook.slug]))
    html = page(viewer_client, runbook)
    assert 'class="messages"' in html
    assert 'class="messages"' not in page(viewer_client, runbook)


@pytest.fixture
def prepared_statements(monkeypatch):
    """The connection as DATABASE_PREPARED_STATEMENTS=1 opens it (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL setting")
    connection.ensure_connection()
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", 0)
    monkeypatch.setattr(connection.connection, "prepare_threshold", 0)


def prepared_page_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement LIKE %s",
            ['%FROM "runbooks_runbook"%', '%"history_stamp"%'],
        )
        return cursor.fetchone()[0]


def test_page_row_is_prepared_once_with_prepared_statements_on(
    prepared_statements, viewer_client, runbook, make_runbook
):
    page(viewer_client, runbook)
    page(viewer_client, runbook)
    page(viewer_client, make_runbook(title="Disk full"))
    assert prepared_page_rows() == 1


def test_warm_page_query_count_is_the_same_with_prepared_statements_on(
    prepared_statements, viewer_client, runbook
):
    page(viewer_client, runbook)
    with CaptureQueriesContext(connection) as ctx:
        html = page(viewer_client, runbook)
    assert len(ctx.captured_queries) <= WARM_PAGE_MAX_QUERIES
    assert runbook.title in html


def test_prepared_page_row_follows_the_viewers_watch(
    prepared_statements, viewer_client, viewer, runbook
):
    assert ">Watch</button>" in page(viewer_client, runbook)
    Watch.objects.create(user=viewer, runbook=runbook)
    assert ">Stop watching</button>" in page(viewer_client, runbook)


def test_page_row_is_not_prepared_by_default(viewer_client, runbook):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL setting")
    before = prepared_page_rows()
    page(viewer_client, runbook)
    page(viewer_client, runbook)
    assert prepared_page_rows() == before


@pytest.mark.parametrize(("value", "threshold"), [("1", 0), ("0", None), (None, None)])
def test_database_prepared_statements_sets_the_connections_prepare_threshold(
    tmp_path, value, threshold
):
    from tests.runbooks.test_settings_env import run_with_settings

    env = {"DEBUG": "1", "DATABASE_URL": "postgres://fixit@db.example.com/fixit"}
    if value is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = value
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(repr(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold')))"
    )
    result = run_with_settings(tmp_path, code, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(threshold)
