"""What responders actually did with a runbook, fed back to its page and its review.

From the incidents and standalone runs that followed a runbook: how often it
was followed, the median time from the first to the last step of the runs
that dealt with every step, and the steps most often skipped or deviated from
(with the notes people left). A step skipped or deviated from in more than half
of the recent runs (at least MIN_RUNS of them) asks for a review of the runbook
with that evidence.

Steps are grouped by their text, so the same step counts across revisions and
across changes in how steps are read.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Q

from runbooks.models import Runbook

from .checklist import parse_steps
from .models import StepProgress, StepState

RECENT_RUNS = 10
MIN_RUNS = 3
TOP_STEPS = 5
_DIVERGED = (StepState.SKIPPED, StepState.DEVIATED)


@dataclass
class StepDivergence:
    text: str
    skipped: int = 0
    deviated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.skipped + self.deviated


@dataclass
class Feedback:
    followed: int
    recent: int
    median_duration: dt.timedelta | None
    steps: list[StepDivergence]

    @property
    def median_label(self) -> str:
        if self.median_duration is None:
            return ""
        minutes = int(self.median_duration.total_seconds() // 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"

    def diverging(self) -> list[StepDivergence]:
        """Steps skipped or deviated from in more than half of the recent runs."""
        if self.recent < MIN_RUNS:
            return []
        return [step for step in self.steps if step.count * 2 > self.recent]


def runbook_feedback(runbook: Runbook, recent: int = RECENT_RUNS) -> Feedback:
    """Two queries at most: which checklists followed it, then the recent ones' progress."""
    of_runbook = Q(attachment__runbook=runbook) | Q(run__runbook=runbook)
    followed = list(
        StepProgress.objects.filter(of_runbook)
        .values("attachment_id", "run_id")
        .annotate(last=Max("at"))
        .order_by("-last", "-attachment_id", "-run_id")
    )
    if not followed:
        return Feedback(followed=0, recent=0, median_duration=None, steps=[])
    chosen = followed[:recent]
    rows = StepProgress.objects.filter(
        Q(attachment_id__in=[f["attachment_id"] for f in chosen if f["attachment_id"]])
        | Q(run_id__in=[f["run_id"] for f in chosen if f["run_id"]])
    ).select_related("attachment__revision", "run__revision")
    per_checklist: dict[tuple[int | None, int | None], list[StepProgress]] = defaultdict(list)
    for row in rows.order_by("at", "id"):
        per_checklist[(row.attachment_id, row.run_id)].append(row)

    durations: list[float] = []
    by_text: dict[str, StepDivergence] = {}
    for checklist_rows in per_checklist.values():
        latest: dict[str, StepProgress] = {}
        for row in checklist_rows:
            latest[row.step_key] = row
        current = {key: row for key, row in latest.items() if row.state != StepState.UNDONE}
        parent = checklist_rows[0].attachment or checklist_rows[0].run
        revision = parent.revision if parent is not None else None
        if revision is not None and all(step.key in current for step in parse_steps(revision.body)):
            durations.append((checklist_rows[-1].at - checklist_rows[0].at).total_seconds())
        for progress in current.values():
            if progress.state not in _DIVERGED:
                continue
            entry = by_text.setdefault(progress.step_text, StepDivergence(text=progress.step_text))
            if progress.state == StepState.SKIPPED:
                entry.skipped += 1
            else:
                entry.deviated += 1
            if progress.note:
                entry.notes.append(progress.note)
    steps = sorted(by_text.values(), key=lambda s: (-s.count, s.text))[:TOP_STEPS]
    median = dt.timedelta(seconds=statistics.median(durations)) if durations else None
    return Feedback(followed=len(followed), recent=len(chosen), median_duration=median, steps=steps)


def request_review_if_steps_diverge(runbook: Runbook, *, by: Any = None) -> bool:
    """Ask for a review when responders keep skipping or changing the same step; True if asked."""
    feedback = runbook_feedback(runbook)
    diverging = feedback.diverging()
    if not diverging or runbook.review_requested_at is not None:
        return False
    worst = diverging[0]
    evidence = f"Step “{worst.text[:80]}” skipped or changed in {worst.count} of the last {feedback.recent} runs"
    if worst.notes:
        evidence += f": {worst.notes[-1][:60]}"
    runbook.request_review(reason=evidence, by=by)
    return True
