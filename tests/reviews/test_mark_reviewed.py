import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from runbooks.models import (
    AuditEvent,
    HistoryEntry,
    ReviewRefused,
    ReviewState,
    Runbook,
    StaleReview,
    Team,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 3, 10, 8, 0, tzinfo=dt.UTC)


def test_sign_off_writes_a_review_history_row_with_reviewer_revision_and_version(runbook, reviewer):
    entry = runbook.mark_reviewed(reviewer, note="Checked the dashboards", outcome="updated")
    assert entry.trigger == "review"
    assert (entry.reviewer, entry.reviewer_user, entry.revision, entry.version) == (
        "rhea",
        reviewer,
        runbook.current_revision,
        "1.0",
    )
    assert entry.summary == "Reviewed: updated — Checked the dashboards"


def test_sign_off_restarts_the_clock_from_now_and_clears_the_request(runbook, reviewer, editor):
    runbook.request_review(reason="After INC-12", by=editor)
    with time_machine.travel(NOW, tick=False):
        runbook.mark_reviewed(reviewer)
    runbook.refresh_from_db()
    assert runbook.last_reviewed_at == NOW
    assert runbook.last_reviewed_by == reviewer
    assert runbook.next_review_due == dt.datetime(2027, 4, 10, 8, 0, tzinfo=dt.UTC)
    assert (runbook.review_requested_at, runbook.review_requested_reason) == (None, "")


def test_sign_off_is_audited(runbook, reviewer):
    runbook.mark_reviewed(reviewer, outcome="updated")
    event = AuditEvent.objects.get(action="runbook.reviewed")
    assert (event.actor, event.runbook, event.detail["outcome"]) == (reviewer, runbook, "updated")


def test_editing_the_text_does_not_restart_the_clock(runbook, editor):
    due = runbook.next_review_due
    runbook.add_revision(author=editor, body="## Symptoms\n\nNew text\n", change_summary="Edit")
    runbook.refresh_from_db()
    assert runbook.next_review_due == due


def test_author_of_current_revision_cannot_sign_it_off(make_runbook, reviewer, settings):
    settings.REVIEW_REQUIRES_SECOND_REVIEWER = True
    runbook = make_runbook(author=reviewer)
    due = runbook.next_review_due
    with pytest.raises(ReviewRefused, match="another reviewer"):
        runbook.mark_reviewed(reviewer)
    assert Runbook.objects.get(pk=runbook.pk).next_review_due == due
    assert not HistoryEntry.objects.filter(runbook=runbook, trigger="review").exists()


def test_author_may_sign_off_when_a_second_reviewer_is_not_required(
    make_runbook, reviewer, settings
):
    settings.REVIEW_REQUIRES_SECOND_REVIEWER = False
    runbook = make_runbook(author=reviewer)
    runbook.mark_reviewed(reviewer)
    assert HistoryEntry.objects.filter(runbook=runbook, trigger="review").count() == 1


def test_unknown_outcome_is_refused(runbook, reviewer):
    with pytest.raises(ReviewRefused):
        runbook.mark_reviewed(reviewer, outcome="looks-fine")


def test_sign_off_overrides_a_stale_in_memory_instance(runbook, reviewer):
    stale = Runbook.objects.get(pk=runbook.pk)
    Runbook.objects.filter(pk=runbook.pk).update(
        next_review_due=timezone.now() - dt.timedelta(days=9)
    )
    stale.mark_reviewed(reviewer)
    assert Runbook.objects.get(pk=runbook.pk).review_state() == "current"


def test_sign_off_of_a_stale_revision_is_refused_and_writes_nothing(runbook, reviewer, editor):
    runbook.add_revision(author=editor, body="## Symptoms\n\nNew text\n", change_summary="Edit")
    before = Runbook.objects.values(
        "last_reviewed_at", "next_review_due", "review_requested_at"
    ).get(pk=runbook.pk)
    with pytest.raises(StaleReview, match="revision 2"):
        runbook.mark_reviewed(reviewer, outcome="accurate", revision_number=1)
    assert (
        Runbook.objects.values("last_reviewed_at", "next_review_due", "review_requested_at").get(
            pk=runbook.pk
        )
        == before
    )
    assert not HistoryEntry.objects.filter(runbook=runbook, trigger="review").exists()
    assert not AuditEvent.objects.filter(action="runbook.reviewed").exists()


def test_sign_off_of_the_current_revision_records_that_revision(runbook, reviewer, editor):
    revision = runbook.add_revision(
        author=editor, body="## Symptoms\n\nNew text\n", change_summary="Edit"
    )
    entry = runbook.mark_reviewed(reviewer, revision_number=revision.number)
    assert entry.revision == revision


def test_needs_changes_opens_a_request_assigned_to_the_owner_and_is_not_current(
    runbook, reviewer, editor
):
    due = runbook.next_review_due
    entry = runbook.mark_reviewed(
        reviewer, note="Step 3 uses the old host", outcome="needs_changes", revision_number=1
    )
    runbook.refresh_from_db()
    assert runbook.review_state() == ReviewState.CHANGES_REQUESTED
    assert (runbook.review_requested_for, runbook.review_requested_reason) == (
        editor,
        "Step 3 uses the old host",
    )
    assert (runbook.last_reviewed_at, runbook.next_review_due) == (None, due)
    assert (entry.summary, entry.reviewer, entry.reviewer_user) == (
        "Review: needs changes — Step 3 uses the old host",
        "",
        None,
    )
    assert (
        AuditEvent.objects.get(action="runbook.changes_requested").detail["assigned_to"] == "eddie"
    )


def test_changes_requested_stays_until_signed_off_again(runbook, reviewer, editor):
    runbook.mark_reviewed(reviewer, note="Wrong host", outcome="needs_changes")
    runbook.add_revision(
        author=editor, body="## Symptoms\n\nRight host\n", change_summary="Fix host"
    )
    runbook.request_review(reason="After INC-9", by=editor)
    runbook.refresh_from_db()
    assert runbook.review_state() == ReviewState.CHANGES_REQUESTED
    assert runbook.review_requested_reason == "Wrong host"
    runbook.mark_reviewed(reviewer, revision_number=2)
    runbook.refresh_from_db()
    assert runbook.review_state() == ReviewState.CURRENT
    assert (
        runbook.review_requested_at,
        runbook.review_request_kind,
        runbook.review_requested_for,
    ) == (None, "", None)


def test_needs_changes_on_an_unowned_runbook_is_assigned_to_the_team_lead(
    make_runbook, make_user, reviewer
):
    lead = make_user("lena", "editor")
    runbook = make_runbook(owner=None, team=Team.objects.create(name="Storage", lead=lead))
    runbook.mark_reviewed(reviewer, note="Outdated", outcome="needs_changes")
    assert Runbook.objects.get(pk=runbook.pk).review_requested_for == lead


def test_the_author_may_ask_for_changes_on_their_own_revision(make_runbook, reviewer, settings):
    settings.REVIEW_REQUIRES_SECOND_REVIEWER = True
    runbook = make_runbook(author=reviewer)
    runbook.mark_reviewed(reviewer, note="I got step 2 wrong", outcome="needs_changes")
    assert runbook.review_state() == ReviewState.CHANGES_REQUESTED
