import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from runbooks import review_policy
from runbooks.models import ReviewState, Runbook

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cadence", "start", "due"),
    [
        ("monthly", at(2028, 1, 31, 9), at(2028, 2, 29, 9)),
        ("monthly", at(2027, 1, 31, 9), at(2027, 2, 28, 9)),
        ("quarterly", at(2027, 11, 30, 9), at(2028, 2, 29, 9)),
        ("quarterly", at(2026, 11, 30, 9), at(2027, 2, 28, 9)),
        ("weekly", at(2027, 12, 29, 9), at(2028, 1, 5, 9)),
    ],
)
def test_sign_off_sets_next_due_with_calendar_arithmetic(
    make_runbook, reviewer, cadence, start, due
):
    runbook = make_runbook(review_cadence=cadence)
    with time_machine.travel(start, tick=False):
        runbook.mark_reviewed(reviewer)
    runbook.refresh_from_db()
    assert runbook.next_review_due == due


def reviewed(runbook: Runbook, when: dt.datetime | None = None) -> Runbook:
    """Mark as signed off at some point, keeping the due date the test chose."""
    when = when or timezone.now() - dt.timedelta(days=40)
    Runbook.objects.filter(pk=runbook.pk).update(last_reviewed_at=when)
    runbook.last_reviewed_at = when
    return runbook


def test_never_reviewed_runbook_shows_as_never_reviewed_not_current(make_runbook):
    runbook = make_runbook()
    assert runbook.review_state() == ReviewState.NEVER_REVIEWED
    assert runbook.review_state_label() == "Never reviewed"


def test_never_reviewed_stays_so_even_far_from_its_first_due_date(make_runbook):
    runbook = make_runbook(next_review_due=timezone.now() + dt.timedelta(days=300))
    assert runbook.review_state() == ReviewState.NEVER_REVIEWED


def test_signed_off_runbook_far_from_due_is_current(make_runbook, reviewer):
    runbook = make_runbook()
    runbook.mark_reviewed(reviewer, revision_number=runbook.current_revision.number)
    assert runbook.review_state() == ReviewState.CURRENT


def test_monthly_runbook_is_due_soon_within_twenty_percent_of_its_cadence(make_runbook):
    now = timezone.now()
    runbook = reviewed(
        make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=5))
    )
    assert runbook.review_state(now) == ReviewState.DUE_SOON


def test_weekly_runbook_is_due_soon_within_three_days(make_runbook):
    now = timezone.now()
    runbook = reviewed(
        make_runbook(review_cadence="weekly", next_review_due=now + dt.timedelta(days=2, hours=23))
    )
    assert runbook.review_state(now) == ReviewState.DUE_SOON


def test_quarterly_runbook_a_week_from_due_is_due_soon_but_a_month_away_is_current(make_runbook):
    now = timezone.now()
    soon = reviewed(
        make_runbook(review_cadence="quarterly", next_review_due=now + dt.timedelta(days=7))
    )
    later = reviewed(
        make_runbook(review_cadence="quarterly", next_review_due=now + dt.timedelta(days=30))
    )
    assert (soon.review_state(now), later.review_state(now)) == (
        ReviewState.DUE_SOON,
        ReviewState.CURRENT,
    )


def test_past_due_date_is_overdue(make_runbook):
    now = timezone.now()
    runbook = reviewed(make_runbook(next_review_due=now - dt.timedelta(minutes=1)))
    assert runbook.review_state(now) == ReviewState.OVERDUE
    assert runbook.days_overdue(now + dt.timedelta(days=3)) == 3


def test_requested_review_wins_over_every_other_state(make_runbook, editor):
    runbook = make_runbook(next_review_due=timezone.now() - dt.timedelta(days=40))
    runbook.request_review(reason="After INC-7", by=editor)
    assert runbook.review_state() == ReviewState.REQUESTED


def test_queryset_states_agree_with_review_state_row_by_row(make_runbook, editor, reviewer):
    now = timezone.now()
    rows = [
        reviewed(make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=1))),
        reviewed(make_runbook(review_cadence="weekly", next_review_due=now + dt.timedelta(days=2))),
        reviewed(
            make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=5))
        ),
        reviewed(
            make_runbook(review_cadence="quarterly", next_review_due=now + dt.timedelta(days=60))
        ),
        reviewed(
            make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=20))
        ),
        reviewed(
            make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=20))
        ),
        make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=9)),
        make_runbook(review_cadence="monthly"),
    ]
    Runbook.objects.filter(pk=rows[4].pk).update(next_review_due=None)
    rows[3].request_review(reason="drill", by=editor)
    rows[5].mark_reviewed(reviewer, note="Step 3 is wrong", outcome="needs_changes")
    expected = {r.pk: Runbook.objects.get(pk=r.pk).review_state(now) for r in rows}
    found = {}
    for state, condition in review_policy.state_q(now).items():
        for pk in Runbook.objects.filter(condition).values_list("pk", flat=True):
            assert pk not in found, "states must be disjoint"
            found[pk] = state
    assert found == expected
    assert set(expected.values()) == set(ReviewState.values)


def test_escalated_means_overdue_by_more_than_twice_the_cadence(make_runbook):
    now = timezone.now()
    barely = reviewed(
        make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=13))
    )
    long_ago = reviewed(
        make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=15))
    )
    assert list(Runbook.objects.escalated(now).values_list("pk", flat=True)) == [long_ago.pk]
    assert barely.review_state(now) == ReviewState.OVERDUE


def test_search_rank_sql_orders_states_as_the_policy_says(make_runbook, editor):
    now = timezone.now()
    current = reviewed(make_runbook(next_review_due=now + dt.timedelta(days=25)))
    overdue = reviewed(make_runbook(next_review_due=now - dt.timedelta(days=2)))
    never = make_runbook()
    sql, params = review_policy.state_rank_sql(now, alias="r")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r.id, {sql} FROM runbooks_runbook r", params)
        ranks = dict(cursor.fetchall())
    assert ranks == {
        current.pk: review_policy.STATE_RANK[ReviewState.CURRENT],
        overdue.pk: review_policy.STATE_RANK[ReviewState.OVERDUE],
        never.pk: review_policy.STATE_RANK[ReviewState.NEVER_REVIEWED],
    }


def test_archived_runbooks_are_not_needing_review(make_runbook):
    runbook = make_runbook(next_review_due=timezone.now() - dt.timedelta(days=5))
    Runbook.objects.filter(pk=runbook.pk).update(archived_at=timezone.now())
    assert runbook in Runbook.objects.needing_review()
    assert not Runbook.objects.active().needing_review().exists()
