import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews import reminders
from reviews.models import ReminderPreference
from runbooks.models import AuditEvent, HistoryEntry, Runbook

pytestmark = pytest.mark.django_db


def test_reviewer_signs_off_from_the_review_page(reviewer_client, runbook):
    response = reviewer_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]),
        {"outcome": "accurate", "note": "All good", "revision": 1},
    )
    assert response.status_code == 302
    entry = HistoryEntry.objects.get(runbook=runbook, trigger="review")
    assert entry.summary == "Reviewed: still accurate — All good"


def test_editor_cannot_sign_off(editor_client, runbook):
    response = editor_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]), {"outcome": "accurate"}
    )
    assert response.status_code == 403
    assert not HistoryEntry.objects.filter(trigger="review").exists()


def test_author_sign_off_is_refused_with_a_form_message(
    make_runbook, reviewer, reviewer_client, settings
):
    settings.REVIEW_REQUIRES_SECOND_REVIEWER = True
    runbook = make_runbook(author=reviewer)
    response = reviewer_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]), {"outcome": "accurate", "revision": 1}
    )
    assert response.status_code == 403
    assert "another reviewer has to sign it off" in response.content.decode()


def test_bad_outcome_is_a_400_with_the_form(reviewer_client, runbook):
    response = reviewer_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]), {"outcome": "meh"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_editor_requests_a_review_by_hand(editor_client, runbook):
    response = editor_client.post(
        reverse("reviews:request_review", args=[runbook.slug]), {"reason": "System changed"}
    )
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert (runbook.review_state(), runbook.review_requested_reason) == (
        "requested",
        "System changed",
    )


def test_viewer_cannot_request_a_review(viewer_client, runbook):
    response = viewer_client.post(
        reverse("reviews:request_review", args=[runbook.slug]), {"reason": "x"}
    )
    assert response.status_code == 403


def test_outsider_cannot_open_the_dashboard(outsider_client):
    assert outsider_client.get(reverse("reviews:dashboard")).status_code == 403


def test_runbook_page_shows_overdue_badge_and_review_buttons(reviewer_client, runbook):
    Runbook.objects.filter(pk=runbook.pk).update(
        last_reviewed_at=timezone.now() - dt.timedelta(days=32),
        next_review_due=timezone.now() - dt.timedelta(days=2),
    )
    html = reviewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "review overdue" in html
    assert reverse("reviews:review", args=[runbook.slug]) in html
    assert "Request review" in html


def test_viewer_sees_state_but_no_review_buttons(viewer_client, runbook, reviewer):
    runbook.mark_reviewed(reviewer, revision_number=1)
    html = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "review current</span>" in html
    assert "Mark reviewed" not in html and "Request review" not in html


def test_review_page_shows_the_sign_off_form_to_reviewers(reviewer_client, runbook):
    html = reviewer_client.get(reverse("reviews:review", args=[runbook.slug])).content.decode()
    assert 'name="outcome"' in html and "version 1.0" in html


def test_dashboard_counts_states_by_team_and_category_in_constant_queries(
    viewer_client, make_runbook, team, editor, django_assert_max_num_queries
):
    now = timezone.now()
    for n in range(6):
        make_runbook(
            team=team if n % 2 else None,
            category="database" if n % 3 else "security",
            next_review_due=now - dt.timedelta(days=n + 1)
            if n < 4
            else now + dt.timedelta(days=40),
        )
    Runbook.objects.first().request_review(reason="After INC-3", by=editor)
    reminders.send_review_reminders()
    with django_assert_max_num_queries(12):
        response = viewer_client.get(reverse("reviews:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "All 6 runbooks" in html and "Payments" in html and "Database" in html
    assert (
        html.count("<svg") >= 2 + 2 + 2
    )  # overall bar, trend, a bar per team and per category row
    assert "After INC-3" in html


def test_dashboard_lists_overdue_oldest_first_with_review_links(viewer_client, make_runbook):
    now = timezone.now()
    make_runbook(
        title="Newer overdue", next_review_due=now - dt.timedelta(days=2), last_reviewed_at=now
    )
    older = make_runbook(
        title="Older overdue", next_review_due=now - dt.timedelta(days=20), last_reviewed_at=now
    )
    html = viewer_client.get(reverse("reviews:dashboard")).content.decode()
    assert html.index("Older overdue") < html.index("Newer overdue")
    assert reverse("reviews:review", args=[older.slug]) in html


def test_my_reminders_lists_the_digests_i_was_sent(editor_client, overdue_runbook):
    overdue_runbook(title="Disk full")
    reminders.send_review_reminders()
    html = editor_client.get(reverse("reviews:my_reminders")).content.decode()
    assert "1 runbook to review (1 overdue)" in html and "Disk full" in html


def test_preferences_are_saved_and_audited(editor_client, editor, make_user):
    delegate = make_user("dana", "editor")
    response = editor_client.post(
        reverse("reviews:preferences"),
        {"frequency": "weekly", "on_leave": "on", "delegate": delegate.pk},
    )
    assert response.status_code == 302
    pref = ReminderPreference.objects.get(user=editor)
    assert (pref.frequency, pref.on_leave, pref.delegate) == ("weekly", True, delegate)
    assert AuditEvent.objects.filter(action="reminders.preferences_changed").exists()


def test_preferences_refuse_a_delegate_without_email(editor_client, make_user):
    delegate = make_user("nomail", "editor")
    delegate.email = ""
    delegate.save()
    response = editor_client.post(
        reverse("reviews:preferences"),
        {"frequency": "daily", "on_leave": "on", "delegate": delegate.pk},
    )
    assert response.status_code == 400
    assert "has no email address" in response.content.decode()


def test_preferences_refuse_an_unknown_frequency(editor_client):
    response = editor_client.post(reverse("reviews:preferences"), {"frequency": "hourly"})
    assert response.status_code == 400
    assert not ReminderPreference.objects.exists()


def test_sign_off_of_a_stale_revision_answers_409_and_writes_nothing(
    reviewer_client, runbook, editor
):
    runbook.add_revision(author=editor, body="## Symptoms\n\nNew text\n", change_summary="Edit")
    response = reviewer_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]), {"outcome": "accurate", "revision": 1}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "You reviewed revision 1, but revision 2" in html
    assert 'name="revision" value="2"' in html
    assert not HistoryEntry.objects.filter(runbook=runbook, trigger="review").exists()
    assert Runbook.objects.get(pk=runbook.pk).last_reviewed_at is None


def test_sign_off_without_the_revision_read_is_a_400(reviewer_client, runbook):
    response = reviewer_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]), {"outcome": "accurate"}
    )
    assert response.status_code == 400
    assert "did not say which revision you reviewed" in response.content.decode()
    assert not HistoryEntry.objects.filter(runbook=runbook, trigger="review").exists()


def test_review_page_form_carries_the_current_revision(reviewer_client, runbook):
    html = reviewer_client.get(reverse("reviews:review", args=[runbook.slug])).content.decode()
    assert 'name="revision" value="1"' in html


def test_needs_changes_from_the_form_shows_changes_requested_on_the_runbook(
    reviewer_client, runbook
):
    response = reviewer_client.post(
        reverse("reviews:sign_off", args=[runbook.slug]),
        {"outcome": "needs_changes", "note": "Wrong host", "revision": 1},
    )
    assert response.status_code == 302
    html = reviewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "changes requested</span>" in html and "review current" not in html


def test_never_reviewed_runbook_page_says_never_reviewed(viewer_client, runbook):
    html = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "never reviewed</span>" in html and "review current" not in html


def test_dashboard_shows_runbooks_without_owner_as_their_own_bar(viewer_client, make_runbook):
    make_runbook(title="Orphan", owner=None)
    make_runbook(title="Owned")
    html = viewer_client.get(reverse("reviews:dashboard")).content.decode()
    assert "No owner: 1 runbook" in html
    section = html[html.index('id="unowned-title"') : html.index('id="trend-title"')]
    assert "<svg" in section and "Never reviewed: 1" in section


def test_dashboard_leaves_archived_runbooks_out(viewer_client, make_runbook):
    make_runbook(title="Live")
    gone = make_runbook(title="Retired", next_review_due=timezone.now() - dt.timedelta(days=30))
    Runbook.objects.filter(pk=gone.pk).update(
        archived_at=timezone.now(), last_reviewed_at=timezone.now()
    )
    html = viewer_client.get(reverse("reviews:dashboard")).content.decode()
    assert "All 1 runbooks" in html and "Retired" not in html
