"""The runbook page is one cached fragment: what depends on the viewer, the clock or a
panel's own source still shows fresh on the next page view."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import ChecklistRun
from notifications.models import Watch
from runbooks.templatetags.runbook_cache import csrf_standin

pytestmark = pytest.mark.django_db

# Session, user, runbook (with its page stamp and watch state), role, and the
# two per-request panels' reads that are not cached (review state is on the runbook).
WARM_PAGE_MAX_QUERIES = 4


def page(client, runbook) -> str:
    response = client.get(runbook.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_warm_runbook_page_runs_a_handful_of_queries(viewer_client, runbook):
    page(viewer_client, runbook)
    with CaptureQueriesContext(connection) as ctx:
        page(viewer_client, runbook)
    assert len(ctx.captured_queries) <= WARM_PAGE_MAX_QUERIES


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
