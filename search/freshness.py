"""Review state as search uses it: the one place search reads the review rule.

The rule itself belongs to the library (runbooks); search only asks it, here,
so pointing search at another home of the rule is a change to this module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from runbooks import review_policy
from runbooks.review_policy import ReviewState

# Relevance × this factor. Small on purpose: it reorders runbooks of nearly
# equal relevance (a current runbook before an overdue one), it never lifts a
# poor match over a good one.
FACTORS = {
    ReviewState.CURRENT: 1.00,
    ReviewState.DUE_SOON: 0.98,
    ReviewState.REQUESTED: 0.96,
    ReviewState.NEVER_REVIEWED: 0.95,
    ReviewState.OVERDUE: 0.93,
    ReviewState.CHANGES_REQUESTED: 0.93,
}
RECENT_DRILL = dt.timedelta(days=90)
DRILL_FACTOR = 1.02
# Sort key for exact ties: current first.
ORDER = {
    ReviewState.CURRENT: 0,
    ReviewState.DUE_SOON: 1,
    ReviewState.REQUESTED: 2,
    ReviewState.NEVER_REVIEWED: 3,
    ReviewState.OVERDUE: 4,
    ReviewState.CHANGES_REQUESTED: 5,
}

FIELDS = (
    "review_requested_at",
    "review_request_kind",
    "last_reviewed_at",
    "next_review_due",
    "review_cadence",
    "last_drilled_at",
)


def review_state(runbook: Any, now: dt.datetime) -> str:
    """The ReviewState value of a runbook, or of any object carrying FIELDS (ranking reads plain rows)."""
    return str(review_policy.runbook_state(runbook, now))


def review_state_filter(state: str, now: dt.datetime) -> Q:
    """The runbooks whose review state is `state`, as one filter."""
    return review_policy.state_filter(state, now)


def freshness_factor(runbook: Any, state: str, now: dt.datetime) -> float:
    drilled = runbook.last_drilled_at is not None and now - runbook.last_drilled_at <= RECENT_DRILL
    return FACTORS[ReviewState(state)] * (DRILL_FACTOR if drilled else 1.0)
