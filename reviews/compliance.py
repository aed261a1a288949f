"""Review compliance figures shared by the dashboard and the reminder scan.

Every figure is one aggregate query with conditional counts over the disjoint
state filters of runbooks.review_policy, the rule the runbook pages show.
Archived runbooks are left out: nobody is asked to keep them true.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from runbooks import review_policy
from runbooks.models import Category, ReviewState, Runbook

from .models import ComplianceSnapshot

STATES = review_policy.STATES
TREND_WEEKS = 12


def state_counts(now: dt.datetime) -> dict[str, Any]:
    """Count("pk", filter=...) per state; keys are the ReviewState values plus "total"."""
    states = review_policy.state_q(now)
    return {"total": Count("pk"), **{state: Count("pk", filter=states[state]) for state in STATES}}


@dataclass
class ComplianceRow:
    label: str
    total: int
    counts: dict[str, int]

    def share(self, state: str) -> float:
        return self.counts[state] / self.total if self.total else 0.0

    @property
    def shares(self) -> list[tuple[str, str, int, float]]:
        """(state, label, count, percent) for each state, in display order."""
        labels = dict(ReviewState.choices)
        return [(s, labels[s], self.counts[s], round(100 * self.share(s), 1)) for s in STATES]


def _row(label: str, totals: dict[str, Any]) -> ComplianceRow:
    return ComplianceRow(label=label, total=totals["total"], counts={s: totals[s] for s in STATES})


def _rows(
    queryset: QuerySet[Runbook], group_field: str, labels: dict[Any, str], now: dt.datetime
) -> list[ComplianceRow]:
    aggregates = queryset.values(group_field).annotate(**state_counts(now)).order_by(group_field)
    return [
        _row(labels.get(row[group_field], row[group_field]) or "No team", row) for row in aggregates
    ]


def overall(queryset: QuerySet[Runbook], now: dt.datetime) -> ComplianceRow:
    return _row("All runbooks", queryset.aggregate(**state_counts(now)))


def without_owner(queryset: QuerySet[Runbook], now: dt.datetime) -> ComplianceRow:
    """The runbooks nobody owns: their reminders go to a team lead or the admins."""
    return _row("No owner", queryset.filter(owner__isnull=True).aggregate(**state_counts(now)))


def by_team(queryset: QuerySet[Runbook], now: dt.datetime) -> list[ComplianceRow]:
    return _rows(queryset, "team__name", {}, now)


def by_category(queryset: QuerySet[Runbook], now: dt.datetime) -> list[ComplianceRow]:
    return _rows(queryset, "category", dict(Category.choices), now)


def week_ending(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=6 - day.weekday())


def record_snapshot(now: dt.datetime | None = None) -> ComplianceSnapshot:
    """Write this week's row; the last write of the week is its week-end state."""
    now = now or timezone.now()
    totals = overall(Runbook.objects.active(), now)
    snapshot, _ = ComplianceSnapshot.objects.update_or_create(
        week_ending=week_ending(timezone.localdate(now)),
        defaults={"total": totals.total, "taken_at": now, **totals.counts},
    )
    return snapshot


def trend(now: dt.datetime) -> list[tuple[dt.date, ComplianceSnapshot | None]]:
    """The last TREND_WEEKS week-ends, oldest first, each with its snapshot if one was taken."""
    last = week_ending(timezone.localdate(now))
    weeks = [last - dt.timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
    found = {s.week_ending: s for s in ComplianceSnapshot.objects.filter(week_ending__in=weeks)}
    return [(week, found.get(week)) for week in weeks]
