"""The review-state rule: one module for states, due dates, the per-row rule and its SQL.

The runbook page, the index, search ranking and filters, the reminder scan and
the compliance dashboard all ask this module, so a badge can never disagree
with a digest or a dashboard bar. It reads only Runbook columns
(`review_cadence`, `last_reviewed_at`, `next_review_due`,
`review_requested_at`, `review_request_kind`), which is why it sits with the
library that owns them rather than in the reviews app.

States, first match wins:

- changes requested: a reviewer answered "needs changes". The runbook is known
  to be wrong somewhere; it stays so until someone signs it off again.
- review requested: someone asked for a review: after an incident or a drill
  that used the runbook (the source libraries review "after every incident or
  drill"), or by hand when the system changed. It is kept apart from
  "changes requested" because nobody has yet said the text is wrong, only that
  reality moved and a reviewer should look, and apart from "overdue" because it
  arrives on an event, not on the calendar.
- never reviewed: nobody ever signed it off, so nobody vouches for it, however
  far away its first due date is.
- overdue: the due date has passed.
- due soon: the due date is within 3 days, or within the last 20 % of the
  cadence, whichever is longer.
- current: signed off and not due soon.

Only a sign-off restarts the clock (`due_after(sign-off moment)`); a reminder
or an edit does not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, models


class ReviewCadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


# Calendar arithmetic, so "monthly" from 31 January is 29 February in a leap year.
CADENCE_DELTAS: dict[str, relativedelta] = {
    ReviewCadence.WEEKLY: relativedelta(weeks=1),
    ReviewCadence.MONTHLY: relativedelta(months=1),
    ReviewCadence.QUARTERLY: relativedelta(months=3),
}


class ReviewState(models.TextChoices):
    NEVER_REVIEWED = "never_reviewed", "Never reviewed"
    CURRENT = "current", "Current"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    REQUESTED = "requested", "Review requested"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class RequestKind(models.TextChoices):
    """What an open review request asks for (Runbook.review_request_kind)."""

    REVIEW = "review", "Review"
    CHANGES = "changes", "Changes"


# Display order of the dashboard bars and the digest counts, best first.
STATES: tuple[str, ...] = (
    ReviewState.CURRENT,
    ReviewState.DUE_SOON,
    ReviewState.OVERDUE,
    ReviewState.NEVER_REVIEWED,
    ReviewState.REQUESTED,
    ReviewState.CHANGES_REQUESTED,
)

# Search ranking: among equally relevant hits, the runbook a team vouches for comes first.
STATE_RANK: dict[str, int] = {
    ReviewState.CURRENT: 0,
    ReviewState.DUE_SOON: 1,
    ReviewState.NEVER_REVIEWED: 2,
    ReviewState.REQUESTED: 2,
    ReviewState.OVERDUE: 3,
    ReviewState.CHANGES_REQUESTED: 4,
}

DUE_SOON_MIN = dt.timedelta(days=3)


def cadence_delta(cadence: str) -> relativedelta:
    return CADENCE_DELTAS[cadence]


def due_after(cadence: str, moment: dt.datetime) -> dt.datetime:
    """The next due date when a runbook with this cadence is signed off at `moment`."""
    return moment + CADENCE_DELTAS[cadence]


def due_soon_window(cadence: str, now: dt.datetime) -> dt.timedelta:
    """Due soon: within 3 days, or within the last 20% of the cadence, whichever is longer."""
    span = (now + CADENCE_DELTAS[cadence]) - now
    return max(DUE_SOON_MIN, span * 0.2)


def state_of(
    *,
    cadence: str,
    last_reviewed_at: dt.datetime | None,
    next_review_due: dt.datetime | None,
    requested_at: dt.datetime | None,
    request_kind: str,
    now: dt.datetime,
) -> str:
    """The per-row rule; `state_q(now)` is the same rule as SQL filters."""
    if requested_at is not None:
        return (
            ReviewState.CHANGES_REQUESTED
            if request_kind == RequestKind.CHANGES
            else ReviewState.REQUESTED
        )
    if last_reviewed_at is None:
        return ReviewState.NEVER_REVIEWED
    if next_review_due is None or next_review_due - now > due_soon_window(cadence, now):
        return ReviewState.CURRENT
    if next_review_due < now:
        return ReviewState.OVERDUE
    return ReviewState.DUE_SOON


def runbook_state(runbook: Any, now: dt.datetime) -> str:
    return state_of(
        cadence=runbook.review_cadence,
        last_reviewed_at=runbook.last_reviewed_at,
        next_review_due=runbook.next_review_due,
        requested_at=runbook.review_requested_at,
        request_kind=runbook.review_request_kind,
        now=now,
    )


def _due_within_q(now: dt.datetime) -> models.Q:
    """Due before the end of its cadence's due-soon window (overdue included)."""
    condition = models.Q()
    for cadence in ReviewCadence.values:
        condition |= models.Q(
            review_cadence=cadence, next_review_due__lte=now + due_soon_window(cadence, now)
        )
    return condition


def state_q(now: dt.datetime) -> dict[str, models.Q]:
    """Disjoint filters, one per ReviewState, matching `state_of` row by row."""
    open_request = models.Q(review_requested_at__isnull=False)
    changes = models.Q(review_request_kind=RequestKind.CHANGES)
    no_request = models.Q(review_requested_at__isnull=True)
    reviewed = no_request & models.Q(last_reviewed_at__isnull=False)
    overdue = models.Q(next_review_due__lt=now)
    due_within = _due_within_q(now)
    return {
        ReviewState.CHANGES_REQUESTED: open_request & changes,
        ReviewState.REQUESTED: open_request & ~changes,
        ReviewState.NEVER_REVIEWED: no_request & models.Q(last_reviewed_at__isnull=True),
        ReviewState.OVERDUE: reviewed & overdue,
        ReviewState.DUE_SOON: reviewed & due_within & ~overdue,
        ReviewState.CURRENT: reviewed & (models.Q(next_review_due__isnull=True) | ~due_within),
    }


def state_filter(state: str, now: dt.datetime) -> models.Q:
    """The rows in `state`; an unknown state matches nothing."""
    return state_q(now).get(state, models.Q(pk__in=[]))


def needs_reminder_q(now: dt.datetime) -> models.Q:
    """What a reminder digest lists: every state but current, where a never-reviewed
    runbook waits for its first due date to come near (a new runbook is not nagged
    about on its first day, an imported one is once its first cycle runs out)."""
    states = state_q(now)
    return (
        states[ReviewState.CHANGES_REQUESTED]
        | states[ReviewState.REQUESTED]
        | states[ReviewState.OVERDUE]
        | states[ReviewState.DUE_SOON]
        | (
            states[ReviewState.NEVER_REVIEWED]
            & (models.Q(next_review_due__isnull=True) | _due_within_q(now))
        )
    )


def escalated_q(now: dt.datetime) -> models.Q:
    """Due more than twice the cadence ago (a sign-off would have moved the date): the team lead hears of it."""
    condition = models.Q()
    for cadence, delta in CADENCE_DELTAS.items():
        condition |= models.Q(review_cadence=cadence, next_review_due__lt=now - delta * 2)
    return condition


def state_rank(now: dt.datetime) -> models.Case:
    """STATE_RANK as an expression, for ORDER BY."""
    return models.Case(
        *(
            models.When(condition, then=models.Value(STATE_RANK[state]))
            for state, condition in state_q(now).items()
        ),
        default=models.Value(0),
        output_field=models.IntegerField(),
    )


def state_rank_sql(now: dt.datetime, alias: str) -> tuple[str, list[Any]]:
    """`state_rank(now)` as raw SQL over the runbook table aliased `alias`, with its parameters.

    For hand-written queries (search ranking) that join runbooks_runbook under
    an alias: the SQL is compiled by Django from the same filters, so it cannot
    drift from the rule.
    """
    from .models import Runbook

    query = Runbook.objects.annotate(review_rank=state_rank(now)).values("review_rank").query
    sql, params = query.get_compiler(connection=connection).compile(
        query.annotations["review_rank"]
    )
    table = connection.ops.quote_name(Runbook._meta.db_table)
    return sql.replace(f"{table}.", f"{alias}."), list(params)
