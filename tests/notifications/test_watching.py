"""Watchers: a runbook's or a service's changes (with the diff) and review outcomes, in one batched email."""

from typing import Any

from django.core import mail
from django.test import Client

from notifications.models import Watch, WatchNews
from notifications.watching import record_revision, send_watch_digests


def edit(runbook: Any, editor: Any, capture: Any, text: str, summary: str = "Clarify") -> None:
    with capture(execute=True):
        runbook.add_revision(
            author=editor, body=runbook.current_revision.body + text, change_summary=summary
        )


def test_watch_button_toggles_watching(viewer_client: Client, viewer: Any, runbook: Any) -> None:
    url = f"/notifications/watch/runbook/{runbook.slug}/"

    viewer_client.post(url)
    assert Watch.objects.filter(user=viewer, runbook=runbook).exists()
    assert "Stop watching" in viewer_client.get(runbook.get_absolute_url()).content.decode()

    viewer_client.post(url)
    assert not Watch.objects.exists()


def test_a_change_gives_watchers_news_with_the_diff(
    viewer: Any, editor: Any, runbook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Watch.objects.create(user=viewer, runbook=runbook)

    edit(
        runbook,
        editor,
        django_capture_on_commit_callbacks,
        "\n## Escalation\n\nCall the DBA.\n",
        "Add escalation",
    )

    [news] = WatchNews.objects.filter(user=viewer)
    assert news.kind == "changed"
    assert news.summary == "Version 1.1 by eddie: Add escalation"
    assert "+Call the DBA." in news.diff


def test_watching_a_service_covers_its_runbooks(
    viewer: Any, editor: Any, runbook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Watch.objects.create(user=viewer, service=runbook.services.get())

    edit(runbook, editor, django_capture_on_commit_callbacks, "\nMore.\n")

    assert WatchNews.objects.filter(user=viewer, runbook=runbook).count() == 1


def test_a_review_outcome_reaches_watchers(
    viewer: Any, reviewer: Any, runbook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Watch.objects.create(user=viewer, runbook=runbook)

    with django_capture_on_commit_callbacks(execute=True):
        runbook.mark_reviewed(reviewer, note="Still true")

    [news] = WatchNews.objects.filter(user=viewer)
    assert news.kind == "reviewed"
    assert "Still true" in news.summary and "rhea" in news.summary


def test_digest_batches_everything_into_one_email_and_sends_once(
    viewer: Any, editor: Any, runbook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Watch.objects.create(user=viewer, runbook=runbook)
    edit(runbook, editor, django_capture_on_commit_callbacks, "\nFirst.\n", "First change")
    edit(runbook, editor, django_capture_on_commit_callbacks, "\nSecond.\n", "Second change")

    assert send_watch_digests() == 1
    assert send_watch_digests() == 0

    [message] = mail.outbox
    assert message.to == [viewer.email]
    assert "2 updates to runbooks you watch" in message.subject
    assert "First change" in message.body and "Second change" in message.body
    assert "+Second." in message.body


def test_people_who_watch_nothing_get_nothing(
    editor: Any, runbook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    edit(runbook, editor, django_capture_on_commit_callbacks, "\nMore.\n")

    assert send_watch_digests() == 0
    assert not WatchNews.objects.exists()


def test_a_revision_nobody_watches_costs_one_query(
    runbook: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        record_revision(runbook.current_revision_id, runbook.pk)
