"""Review sign-off, review requests, the compliance dashboard and reminder settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from runbooks.models import (
    AuditEvent,
    HistoryTrigger,
    ReviewOutcome,
    ReviewRefused,
    ReviewState,
    Runbook,
    StaleReview,
)
from runbooks.request_types import AuthenticatedHttpRequest, HtmxHttpRequest
from runbooks.roles import EDITOR, REVIEWER, VIEWER, role_required

from . import compliance
from .forms import ReminderPreferenceForm, RequestReviewForm, ReviewForm
from .models import ReminderDigest, ReminderPreference

OVERDUE_LIST_LIMIT = 100
# What the review badge reads, so listing rows never loads a deferred field per row.
STATE_FIELDS = (
    "title",
    "slug",
    "review_cadence",
    "next_review_due",
    "last_reviewed_at",
    "review_requested_at",
    "review_request_kind",
    "review_requested_reason",
)
RECENT_REVIEWS = 10


def _runbook(slug: str) -> Runbook:
    return get_object_or_404(
        Runbook.objects.active().select_related(
            "owner",
            "team",
            "current_revision",
            "current_revision__author",
            "last_reviewed_by",
            "review_requested_for",
        ),
        slug=slug,
    )


def _fresh_form(runbook: Runbook) -> ReviewForm:
    revision = runbook.current_revision
    return ReviewForm(initial={"revision": revision.number if revision else None})


def _review_page(
    request: HtmxHttpRequest,
    runbook: Runbook,
    *,
    form: ReviewForm | None = None,
    request_form: RequestReviewForm | None = None,
    status: int = 200,
    done: str = "",
    error: str = "",
) -> HttpResponse:
    context = {
        "done": done,
        "error": error,
        "runbook": runbook,
        "revision": runbook.current_revision,
        "form": form or _fresh_form(runbook),
        "request_form": request_form or RequestReviewForm(),
        "reviews": runbook.history.filter(trigger=HistoryTrigger.REVIEW).select_related(
            "reviewer_user", "revision"
        )[:RECENT_REVIEWS],
        "own_revision": runbook.current_revision is not None
        and runbook.current_revision.author_id == request.user.pk,
    }
    template = "reviews/review.html#panel" if request.htmx else "reviews/review.html"
    return render(request, template, context, status=status)


@role_required(VIEWER)
@require_GET
def review(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The page a reminder's "Review" link opens: state, due date and the sign-off form."""
    return _review_page(request, _runbook(slug))


@role_required(REVIEWER)
@require_POST
def sign_off(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    runbook = _runbook(slug)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _review_page(request, runbook, form=form, status=400)
    data = form.cleaned_data
    try:
        entry = runbook.mark_reviewed(
            request.user,
            note=data["note"],
            outcome=data["outcome"],
            revision_number=data["revision"],
        )
    except StaleReview as stale:
        # A fresh form for the current revision, with the reason the old one was refused.
        return _review_page(request, _runbook(slug), error=str(stale), status=409)
    except ReviewRefused as refused:
        form.add_error(None, str(refused))
        return _review_page(request, runbook, form=form, status=403)
    if data["outcome"] == ReviewOutcome.NEEDS_CHANGES:
        assignee = runbook.review_requested_for
        done = f"Changes requested on version {entry.version}" + (
            f"; assigned to {assignee.get_username()}." if assignee else "; the admins will see it."
        )
    else:
        done = f"Signed off version {entry.version}; next review due {runbook.next_review_due:%Y-%m-%d}."
    if request.htmx:
        return _review_page(request, _runbook(slug), done=done)
    messages.success(request, done)
    return redirect(runbook)


@role_required(EDITOR)
@require_POST
def request_review(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    runbook = _runbook(slug)
    form = RequestReviewForm(request.POST)
    if not form.is_valid():
        return _review_page(request, runbook, request_form=form, status=400)
    runbook.request_review(reason=form.cleaned_data["reason"], by=request.user)
    messages.success(
        request,
        "Review requested; reviewers will see it on the dashboard and in the owner's digest.",
    )
    return redirect(runbook)


def _bar(row: compliance.ComplianceRow, width: int = 600) -> list[dict[str, Any]]:
    """Stacked-bar segments (x, width) for one row of the compliance chart."""
    segments, x = [], 0.0
    for state, label, count, percent in row.shares:
        w = width * row.share(state)
        segments.append(
            {
                "state": state,
                "label": label,
                "count": count,
                "percent": percent,
                "x": round(x, 2),
                "w": round(w, 2),
            }
        )
        x += w
    return segments


def _trend_bars(
    points: list[tuple[Any, Any]], height: int = 100, step: int = 50
) -> list[dict[str, Any]]:
    bars = []
    for n, (week, snapshot) in enumerate(points):
        share = snapshot.overdue_share if snapshot else None
        h = round(height * share, 2) if share is not None else 0
        bars.append(
            {
                "week": week,
                "snapshot": snapshot,
                "percent": round(100 * share, 1) if share is not None else None,
                "x": n * step + 8,
                "y": height - h + 10,
                "ty": height - h + 7,
                "h": h,
            }
        )
    return bars


@role_required(VIEWER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    library = Runbook.objects.visible_to(request.user).active()
    overall = compliance.overall(library, now)
    unowned = compliance.without_owner(library, now)
    overdue = list(
        library.overdue(now)
        .select_related("owner", "team", "last_reviewed_by")
        .only(*STATE_FIELDS, "owner__username", "team__name", "last_reviewed_by__username")
        .order_by("next_review_due", "pk")[:OVERDUE_LIST_LIMIT]
    )
    requested = list(
        library.filter(review_requested_at__isnull=False)
        .select_related("owner", "team", "review_requested_for")
        .only(
            *STATE_FIELDS,
            "review_requested_reason",
            "owner__username",
            "team__name",
            "review_requested_for__username",
        )
        .order_by("review_requested_at", "pk")[:OVERDUE_LIST_LIMIT]
    )
    context = {
        "now": now,
        "overall": overall,
        "overall_bar": _bar(overall),
        "unowned": unowned,
        "unowned_bar": _bar(unowned),
        "teams": [(row, _bar(row, 300)) for row in compliance.by_team(library, now)],
        "categories": [(row, _bar(row, 300)) for row in compliance.by_category(library, now)],
        "trend": _trend_bars(compliance.trend(now)),
        "state_labels": [ReviewState(state).label for state in compliance.STATES],
        "overdue": [(r, r.days_overdue(now)) for r in overdue],
        "requested": requested,
        "limit": OVERDUE_LIST_LIMIT,
        "states": ReviewState,
    }
    return render(request, "reviews/dashboard.html", context)


@role_required(VIEWER)
@require_GET
def my_reminders(request: AuthenticatedHttpRequest) -> HttpResponse:
    digests = ReminderDigest.objects.filter(recipient=request.user).order_by("-day", "kind")[:60]
    return render(request, "reviews/reminders.html", {"digests": digests})


@role_required(VIEWER)
@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    instance = ReminderPreference.objects.filter(user=request.user).first() or ReminderPreference(
        user=request.user
    )
    form = ReminderPreferenceForm(request.POST or None, instance=instance, user=request.user)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "reviews/preferences.html", {"form": form}, status=400)
        with transaction.atomic():
            pref = form.save(commit=False)
            pref.updated_at = timezone.now()
            pref.save()
            AuditEvent.record(
                request.user,
                "reminders.preferences_changed",
                pref,
                {
                    "frequency": pref.frequency,
                    "on_leave": pref.on_leave,
                    "delegate": pref.delegate.get_username() if pref.delegate else None,
                },
            )
        messages.success(request, "Reminder preferences saved.")
        return redirect("reviews:preferences")
    return render(request, "reviews/preferences.html", {"form": form})
