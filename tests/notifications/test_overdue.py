"""'Review overdue' from the daily review scan: watchers' digest and team channels, once a day."""

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from notifications.models import Delivery, Event, OverdueNotice, Watch, WatchNews
from notifications.overdue import announce_overdue
from reviews.reminders import send_review_reminders
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(runbook: Runbook) -> Runbook:
    now = timezone.now()
    Runbook.objects.filter(pk=runbook.pk).update(
        last_reviewed_at=now - dt.timedelta(days=40),
        next_review_due=now - dt.timedelta(days=3, hours=1),
    )
    runbook.refresh_from_db()
    return runbook


def test_watcher_gets_review_overdue_news(viewer: Any, overdue: Runbook) -> None:
    Watch.objects.create(user=viewer, runbook=overdue)
    assert announce_overdue() == 1
    news = WatchNews.objects.get(user=viewer)
    assert news.kind == "overdue" and "Review overdue by 3 days" in news.summary


def test_service_watcher_hears_too(viewer: Any, overdue: Runbook) -> None:
    Watch.objects.create(user=viewer, service=overdue.services.get())
    announce_overdue()
    assert WatchNews.objects.filter(user=viewer, kind="overdue").exists()


def test_second_scan_the_same_day_sends_nothing(
    viewer: Any,
    overdue: Runbook,
    make_channel: Any,
    receiver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Watch.objects.create(user=viewer, runbook=overdue)
    make_channel(events=[Event.REVIEW_OVERDUE])
    with django_capture_on_commit_callbacks(execute=True):
        announce_overdue()
        assert announce_overdue() == 0
    assert WatchNews.objects.count() == 1
    assert Delivery.objects.filter(event=Event.REVIEW_OVERDUE).count() == 1
    assert OverdueNotice.objects.count() == 1


def test_next_day_announces_again(viewer: Any, overdue: Runbook) -> None:
    Watch.objects.create(user=viewer, runbook=overdue)
    today = timezone.localdate()
    announce_overdue(day=today)
    assert announce_overdue(day=today + dt.timedelta(days=1)) == 1


def test_team_channel_receives_the_event(
    overdue: Runbook,
    team: Any,
    make_channel: Any,
    receiver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Runbook.objects.filter(pk=overdue.pk).update(team=team)
    make_channel(team=team, events=[Event.REVIEW_OVERDUE])
    with django_capture_on_commit_callbacks(execute=True):
        announce_overdue()
    payload = json.loads(receiver.requests[0].body)
    assert payload["event"] == "runbook.review_overdue"
    assert payload["runbook"]["slug"] == overdue.slug


def test_other_teams_channel_does_not_hear(overdue: Runbook, team: Any, make_channel: Any) -> None:
    make_channel(team=team, events=[Event.REVIEW_OVERDUE])
    assert announce_overdue() == 0
    assert not OverdueNotice.objects.exists()


def test_unfollowed_or_current_runbooks_are_quiet(viewer: Any, runbook: Runbook) -> None:
    Watch.objects.create(user=viewer, runbook=runbook)
    assert announce_overdue() == 0


def test_daily_review_scan_announces(viewer: Any, overdue: Runbook) -> None:
    Watch.objects.create(user=viewer, runbook=overdue)
    send_review_reminders()
    assert WatchNews.objects.filter(user=viewer, kind="overdue").count() == 1
