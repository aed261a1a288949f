import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from runbooks.models import ReviewState, Runbook, review_state_q

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
def test_sign_off_sets_next_due_with_calendar_arithmetic(make_runbook, reviewer, cadence, start, due):
    runbook = make_runbook(review_cadence=cadence)
    with time_machine.travel(start, tick=False):
        runbook.mark_reviewed(reviewer)
    runbook.refresh_from_db()
    assert runbook.next_review_due == due


def test_new_runbook_is_current(make_runbook):
    assert make_runbook().review_state() == ReviewState.CURRENT


def test_monthly_runbook_is_due_soon_within_twenty_percent_of_its_cadence(make_runbook):
    now = timezone.now()
    runbook = make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=5))
    assert runbook.review_state(now) == ReviewState.DUE_SOON


def test_weekly_runbook_is_due_soon_within_three_days(make_runbook):
    now = timezone.now()
    runbook = make_runbook(review_cadence="weekly", next_review_due=now + dt.timedelta(days=2, hours=23))
    assert runbook.review_state(now) == ReviewState.DUE_SOON


def test_quarterly_runbook_a_week_from_due_is_due_soon_but_a_month_away_is_current(make_runbook):
    now = timezone.now()
    soon = make_runbook(review_cadence="quarterly", next_review_due=now + dt.timedelta(days=7))
    later = make_runbook(review_cadence="quarterly", next_review_due=now + dt.timedelta(days=30))
    assert (soon.review_state(now), later.review_state(now)) == (ReviewState.DUE_SOON, ReviewState.CURRENT)


def test_past_due_date_is_overdue(make_runbook):
    now = timezone.now()
    runbook = make_runbook(next_review_due=now - dt.timedelta(minutes=1))
    assert runbook.review_state(now) == ReviewState.OVERDUE
    assert runbook.days_overdue(now + dt.timedelta(days=3)) == 3


def test_requested_review_wins_over_every_other_state(make_runbook, editor):
    runbook = make_runbook(next_review_due=timezone.now() - dt.timedelta(days=40))
    runbook.request_review(reason="After INC-7", by=editor)
    assert runbook.review_state() == ReviewState.REQUESTED


def test_queryset_states_agree_with_review_state_row_by_row(make_runbook, editor):
    now = timezone.now()
    rows = [
        make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=1)),
        make_runbook(review_cadence="weekly", next_review_due=now + dt.timedelta(days=2)),
        make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=5)),
        make_runbook(review_cadence="quarterly", next_review_due=now + dt.timedelta(days=60)),
        make_runbook(review_cadence="monthly", next_review_due=now + dt.timedelta(days=20)),
    ]
    Runbook.objects.filter(pk=rows[4].pk).update(next_review_due=None)
    rows[3].request_review(reason="drill", by=editor)
    expected = {r.pk: Runbook.objects.get(pk=r.pk).review_state(now) for r in rows}
    found = {}
    for state, condition in review_state_q(now).items():
        for pk in Runbook.objects.filter(condition).values_list("pk", flat=True):
            assert pk not in found, "states must be disjoint"
            found[pk] = state
    assert found == expected


def test_escalated_means_overdue_by_more_than_twice_the_cadence(make_runbook):
    now = timezone.now()
    barely = make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=13))
    long_ago = make_runbook(review_cadence="weekly", next_review_due=now - dt.timedelta(days=15))
    assert list(Runbook.objects.escalated(now).values_list("pk", flat=True)) == [long_ago.pk]
    assert barely.review_state(now) == ReviewState.OVERDUE
