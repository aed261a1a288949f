from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from runbooks.models import Kind, Runbook
from runbooks.request_types import HtmxHttpRequest
from runbooks.roles import EDITOR, VIEWER, role_required
from search.engine import search
from search.learning import record_use as record_search_use
from search.queries import MAX_QUERY_CHARS

from . import services
from .communications import status_updates
from .forms import (
    ActionStatusForm,
    AttachRunbookForm,
    CorrectiveActionForm,
    CorrectiveActionFormSet,
    DrillForm,
    IncidentEditForm,
    IncidentFilterForm,
    IncidentForm,
    ReviewForm,
    RunDrillForm,
    RunStartForm,
    StatusForm,
    StepForm,
    TimelineEntryForm,
)
from .models import (
    REVIEW_FIELDS,
    ActionStatus,
    ChecklistRun,
    CorrectiveAction,
    Drill,
    FollowedRunbook,
    Incident,
    IncidentRunbook,
    InvalidTransition,
    Status,
    StepProgress,
    TimelineEntry,
    open_incident_with_runbook,
)

LIST_PAGE_SIZE = 50
SUGGESTIONS = 10


def _refused(request: HttpRequest, message: str, status: int = 409) -> HttpResponse:
    """The action does not fit the current state: say why, with a 409 (or 400 for bad input)."""
    title = "Not possible right now" if status == 409 else "Bad request"
    return render(
        request, "error.html", {"title": title, "message": message, "status": status}, status=status
    )


def _incident(number: str) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("commander", "created_by"), number=number
    )


def _timeline(incident: Incident) -> Any:
    return TimelineEntry.objects.filter(incident=incident).select_related("author")


# --- incidents -----------------------------------------------------------


@role_required(VIEWER)
@require_GET
def incident_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = IncidentFilterForm(request.GET or None)
    if request.GET and not filters.is_valid():
        return render(
            request, "incidents/list.html", {"filters": filters, "page": None}, status=400
        )
    incidents = filters.filter(Incident.objects.with_list_data()).open_first()
    page = Paginator(incidents, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "query": query.urlencode()}
    template = "incidents/list.html#incident-table" if request.htmx else "incidents/list.html"
    return render(request, template, context)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def incident_create(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            services = data.pop("services")
            incident = Incident.open_incident(by=request.user, services=services, **data)
            messages.success(request, f"Opened {incident.number}.")
            return redirect(incident)
        return render(request, "incidents/form.html", {"form": form, "incident": None}, status=400)
    return render(request, "incidents/form.html", {"form": form, "incident": None})


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def incident_edit(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    if not incident.is_open:
        return _refused(request, services.closed_message(incident))
    form = IncidentEditForm(request.POST or None, instance=incident)
    if request.method == "GET":
        return render(request, "incidents/form.html", {"form": form, "incident": incident})
    if not form.is_valid():
        # Validation copied posted values onto the instance; head the page with the stored ones.
        incident.refresh_from_db()
        return render(request, "incidents/form.html", {"form": form, "incident": incident}, status=400)
    try:
        written = services.edit_incident(
            incident,
            by=request.user,
            base_version=form.cleaned_data["row_version"] or 0,
            seen=form.seen(),
            changes=form.changes(),
        )
    except services.IncidentClosed as refused:
        return _refused(request, str(refused))
    except services.IncidentEditConflict as conflict:
        return _edit_conflict(request, conflict, changed=set(form.changes()))
    if written:
        messages.success(request, "Incident details saved.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect(incident)


def _edit_conflict(
    request: HttpRequest, conflict: services.IncidentEditConflict, *, changed: set[str]
) -> HttpResponse:
    """Show what the other person saved next to this user's values; saving again keeps this user's.

    The form comes back drawn from the current row: fields this user did not
    change show the stored values, the ones they changed keep their input.
    """
    current = conflict.incident
    drawn = IncidentEditForm(instance=current)
    data = request.POST.copy()
    data["row_version"] = str(current.row_version)
    for name in IncidentEditForm.Meta.fields:
        shown = drawn[name].value()
        values = [str(v) for v in shown] if isinstance(shown, list | tuple) else ["" if shown is None else str(shown)]
        data.setlist(drawn.add_initial_prefix(drawn.add_prefix(name)), values)
        if name not in changed:
            data.setlist(drawn.add_prefix(name), values)
    form = IncidentEditForm(data, instance=current)
    form.is_valid()
    context = {"form": form, "incident": current, "conflicts": conflict.conflicts}
    return render(request, "incidents/form.html", context, status=409)


@role_required(VIEWER)
@require_GET
def incident_detail(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    services = list(incident.services.all())
    attachments = list(
        incident.attachments.select_related("runbook", "revision", "attached_by").prefetch_related(
            Prefetch("progress", queryset=StepProgress.objects.select_related("by"))
        )
    )
    today = timezone.localdate()
    actions = list(incident.corrective_actions.select_related("owner"))
    context = {
        "incident": incident,
        "services": services,
        "timeline": _timeline(incident),
        "attachments": attachments,
        "actions": actions,
        "overdue_actions": [a for a in actions if a.is_overdue(today)],
        "status_updates": status_updates(incident, services),
        "entry_form": TimelineEntryForm(),
        "status_form": StatusForm(initial={"status": incident.status}),
        "attach_form": AttachRunbookForm(),
        "action_form": CorrectiveActionForm(),
        "action_statuses": ActionStatus.choices,
    }
    return render(request, "incidents/detail.html", context)


@role_required(VIEWER)
@require_GET
def timeline(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    context = {"incident": incident, "timeline": _timeline(incident)}
    return render(request, "incidents/detail.html#timeline-entries", context)


@role_required(EDITOR)
@require_POST
def timeline_add(request: HtmxHttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    form = TimelineEntryForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            incident.add_note(
                by=request.user, text=form.cleaned_data["text"], kind=form.cleaned_data["kind"]
            )
        except InvalidTransition as refused:
            error = str(refused)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:
        context = {"incident": incident, "timeline": _timeline(incident), "timeline_error": error}
        return render(
            request, "incidents/detail.html#timeline", context, status=400 if error else 200
        )
    if error:
        return _refused(request, error, status=400)
    return redirect(f"{incident.get_absolute_url()}#timeline")


@role_required(EDITOR)
@require_POST
def change_status(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _refused(request, "Pick one of the listed statuses.", status=400)
    try:
        incident.change_status(form.cleaned_data["status"], by=request.user)
    except InvalidTransition as refused:
        return _refused(request, str(refused))
    messages.success(request, f"{incident.number} is now {incident.get_status_display().lower()}.")
    return redirect(incident)


@role_required(EDITOR)
@require_POST
def acknowledge(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    try:
        incident.acknowledge(by=request.user)
    except InvalidTransition as refused:
        return _refused(request, str(refused))
    return redirect(incident)


@role_required(EDITOR)
@require_POST
def attach_runbook(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    form = AttachRunbookForm(request.POST)
    if not form.is_valid():
        return _refused(
            request,
            " ".join(str(e) for e in form.errors.get("runbook", ["Name a runbook."])),
            status=400,
        )
    runbook = form.cleaned_data["runbook"]
    if runbook.kind == Kind.BREAK_GLASS:
        return redirect(f"{reverse('emergency:invoke', args=[runbook.slug])}?follow=incident&incident={incident.number}")
    try:
        attachment = incident.attach_runbook(runbook, by=request.user)
    except InvalidTransition as refused:
        return _refused(request, str(refused))
    # The words searched before attaching teach search (search.learning).
    record_search_use(request.POST.get("q", ""), runbook, incident)
    messages.success(
        request, f"“{runbook.title}” version {attachment.revision.version} is attached."
    )
    return redirect(incident)


@role_required(VIEWER)
@require_GET
def runbook_suggestions(request: HttpRequest) -> HttpResponse:
    """<option>s for a runbook input's <datalist>, from the search engine, as the user types.

    The attach box sends `runbook` (one title or slug); the drill form sends
    `runbooks` (slugs separated by commas), where only the last one is being typed
    and each option keeps the ones before it.
    """
    if "runbooks" in request.GET:
        typed = request.GET["runbooks"][:5000].replace("\x00", "")
        done, _, query = typed.rpartition(",")
        keep = ", ".join(s.strip() for s in done.split(",") if s.strip())
        prefix = f"{keep}, " if keep else ""
    else:
        query, prefix = request.GET.get("runbook", "").replace("\x00", ""), ""
    query = query.strip()[:MAX_QUERY_CHARS]
    hits = search(query, limit=SUGGESTIONS).hits if query else []
    options = [(prefix + hit.runbook.slug, hit.runbook.title) for hit in hits]
    return render(request, "incidents/detail.html#runbook-options", {"options": options})


def _attachment(number: str, slug: str) -> IncidentRunbook:
    return get_object_or_404(
        IncidentRunbook.objects.select_related("incident", "runbook", "revision").prefetch_related(
            Prefetch("progress", queryset=StepProgress.objects.select_related("by"))
        ),
        incident__number=number,
        runbook__slug=slug,
    )


def _checklist_context(followed: FollowedRunbook, **extra: Any) -> dict[str, Any]:
    rows = followed.checklist()
    return {
        "rows": rows,
        "current": next((step for step, progress in rows if progress is None), None),
        "runbook_url": followed.runbook.get_absolute_url(),
        **extra,
    }


def _incident_checklist_context(attachment: IncidentRunbook, error: str = "") -> dict[str, Any]:
    incident = attachment.incident
    slug = attachment.runbook.slug
    return _checklist_context(
        attachment,
        attachment=attachment,
        incident=incident,
        is_open=incident.is_open,
        closed_message=f"{incident.number} is {incident.get_status_display().lower()}; the checklist is read-only.",
        step_url=reverse("incidents:step", args=[incident.number, slug]),
        poll_url=reverse("incidents:checklist", args=[incident.number, slug]),
        timeline_url=f"{incident.get_absolute_url()}#timeline",
        checklist_error=error,
    )


@role_required(VIEWER)
@require_GET
def checklist(request: HtmxHttpRequest, number: str, slug: str) -> HttpResponse:
    attachment = _attachment(number, slug)
    context = _incident_checklist_context(attachment)
    template = "incidents/_checklist.html#updates" if request.htmx else "incidents/checklist.html"
    return render(request, template, context)


def _record_step(request: HtmxHttpRequest, followed: FollowedRunbook) -> tuple[str, int]:
    """Apply the step form to a checklist: ("", 200), or why it was refused with 400 or 409."""
    form = StepForm(request.POST)
    if not form.is_valid():
        return " ".join(str(e) for errors in form.errors.values() for e in errors), 400
    data = form.cleaned_data
    try:
        followed.record_step(data["step"], data["state"], by=request.user, note=data["note"])
    except InvalidTransition as refused:
        return str(refused), 409
    return "", 200


@role_required(EDITOR)
@require_POST
def step(request: HtmxHttpRequest, number: str, slug: str) -> HttpResponse:
    error, status = _record_step(request, _attachment(number, slug))
    if request.htmx:
        context = _incident_checklist_context(_attachment(number, slug), error)
        return render(request, "incidents/_checklist.html#updates", context, status=status)
    if error:
        return _refused(request, error, status=status)
    return redirect("incidents:checklist", number=number, slug=slug)


@role_required(EDITOR)
@require_POST
def start_with_runbook(request: HttpRequest, slug: str) -> HttpResponse:
    """One click from a runbook page to an open incident following it."""
    runbook = get_object_or_404(Runbook.objects.active(), slug=slug)
    if runbook.kind == Kind.BREAK_GLASS:
        return redirect(f"{reverse('emergency:invoke', args=[slug])}?follow=new_incident")
    try:
        attachment = open_incident_with_runbook(runbook, by=request.user)
    except InvalidTransition as refused:
        return _refused(request, str(refused))
    messages.success(request, f"Opened {attachment.incident.number}; rename it once you know more.")
    return redirect("incidents:checklist", number=attachment.incident.number, slug=runbook.slug)


# --- runbooks followed on their own ---------------------------------------


def _run(pk: int) -> ChecklistRun:
    return get_object_or_404(
        ChecklistRun.objects.select_related(
            "runbook", "revision", "started_by", "drill"
        ).prefetch_related(
            Prefetch("progress", queryset=StepProgress.objects.select_related("by"))
        ),
        pk=pk,
    )


def _run_context(run: ChecklistRun, error: str = "") -> dict[str, Any]:
    return _checklist_context(
        run,
        run=run,
        is_open=run.is_open,
        closed_message="This run is finished; the checklist is read-only.",
        step_url=reverse("drills:run_step", args=[run.pk]),
        poll_url=reverse("drills:run", args=[run.pk]),
        timeline_url="#run-timeline",
        checklist_error=error,
    )


@role_required(EDITOR)
@require_POST
def run_start(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.active(), slug=slug)
    form = RunStartForm(request.POST)
    if not form.is_valid():
        return _refused(request, "Pick why you are following this runbook.", status=400)
    if runbook.kind == Kind.BREAK_GLASS:
        purpose = form.cleaned_data["purpose"]
        return redirect(f"{reverse('emergency:invoke', args=[slug])}?follow=run&purpose={purpose}")
    try:
        run = ChecklistRun.start(runbook, by=request.user, **form.cleaned_data)
    except InvalidTransition as refused:
        return _refused(request, str(refused))
    return redirect(run)


@role_required(VIEWER)
@require_GET
def run_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    run = _run(pk)
    if request.htmx:
        return render(request, "incidents/_checklist.html#updates", _run_context(run))
    context = {**_run_context(run), "drill_form": RunDrillForm()}
    return render(request, "incidents/run.html", context)


@role_required(EDITOR)
@require_POST
def run_step(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    error, status = _record_step(request, _run(pk))
    if request.htmx:
        return render(
            request,
            "incidents/_checklist.html#updates",
            _run_context(_run(pk), error),
            status=status,
        )
    if error:
        return _refused(request, error, status=status)
    return redirect("drills:run", pk=pk)


@role_required(EDITOR)
@require_POST
def run_finish(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(pk)
    form = RunDrillForm(request.POST) if "record_drill" in request.POST else None
    if form is not None and not form.is_valid():
        message = "; ".join(" ".join(str(e) for e in errors) for errors in form.errors.values())
        return _refused(request, message, status=400)
    try:
        if form is not None:
            drill = run.record_drill(by=request.user, **form.cleaned_data)
            messages.success(request, f"Recorded {drill.number} from this run.")
            return redirect(drill)
        run.finish(by=request.user)
    except InvalidTransition as refused:
        return _refused(request, str(refused))
    messages.success(request, "Run finished.")
    return redirect(run)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    if incident.status != Status.RESOLVED:
        if incident.status == Status.REVIEWED:
            return _refused(request, f"The review of {incident.number} was already completed.")
        return _refused(
            request, f"{incident.number} is still open: resolve it before the post-incident review."
        )
    initial = {name: getattr(incident, name) for name in REVIEW_FIELDS}
    form = ReviewForm(request.POST or None, initial=initial)
    actions = CorrectiveActionFormSet(request.POST or None, prefix="actions")
    if request.method == "POST":
        if form.is_valid() and actions.is_valid():
            rows = [a.cleaned_data for a in actions.forms if a.has_changed() and a.cleaned_data]
            try:
                incident.complete_review(request.user, actions=rows, **form.cleaned_data)
            except InvalidTransition as refused:
                return _refused(request, str(refused))
            except ValidationError as invalid:
                return _refused(request, " ".join(invalid.messages), status=400)
            messages.success(request, f"Review of {incident.number} completed.")
            return redirect(incident)
        status = 400
    else:
        status = 200
    context = {
        "incident": incident,
        "form": form,
        "actions": actions,
        "timeline": _timeline(incident),
    }
    return render(request, "incidents/review.html", context, status=status)


@role_required(EDITOR)
@require_POST
def action_add(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(number)
    form = CorrectiveActionForm(request.POST)
    if not form.is_valid():
        message = "; ".join(
            f"{form.fields[name].label or name}: {' '.join(str(e) for e in errs)}"
            for name, errs in form.errors.items()
        )
        return _refused(request, message, status=400)
    incident.add_corrective_action(by=request.user, **form.cleaned_data)
    messages.success(request, "Corrective action added.")
    return redirect(f"{incident.get_absolute_url()}#actions")


@role_required(VIEWER)
@require_GET
def action_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    show_all = request.GET.get("show") == "all"
    actions = CorrectiveAction.objects.select_related("incident", "owner")
    actions = actions.unfinished() if not show_all else actions
    overdue = list(CorrectiveAction.objects.overdue(today).select_related("incident", "owner"))
    context = {
        "overdue": overdue,
        "page": Paginator(actions, 100).get_page(request.GET.get("page")),
        "show_all": show_all,
        "today": today,
        "action_statuses": ActionStatus.choices,
    }
    return render(request, "incidents/actions.html", context)


@role_required(EDITOR)
@require_POST
def action_status(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(CorrectiveAction.objects.select_related("incident"), pk=pk)
    form = ActionStatusForm(request.POST)
    if not form.is_valid():
        return _refused(request, "Pick one of the listed statuses.", status=400)
    action.set_status(form.cleaned_data["status"], by=request.user)
    messages.success(request, f"“{action.title}” is now {action.get_status_display().lower()}.")
    next_url = request.POST.get("next", "")
    if next_url == "incident":
        return redirect(f"{action.incident.get_absolute_url()}#actions")
    return redirect("incidents:actions")


# --- drills --------------------------------------------------------------


@role_required(VIEWER)
@require_GET
def drill_list(request: HttpRequest) -> HttpResponse:
    drills = Drill.objects.select_related("recorded_by").prefetch_related("runbooks")
    page = Paginator(drills, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/drill_list.html", {"page": page})


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def drill_create(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {}
    if request.method == "GET" and request.GET.get("runbook"):
        # Only prefilled text: the form checks the slug on submit, like a typed one.
        initial["runbooks"] = request.GET["runbook"][:200]
    form = DrillForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                drill = Drill.record(
                    by=request.user,
                    runbooks=data["runbooks"],
                    date=data["date"],
                    participants=data["participants"],
                    outcome=data["outcome"],
                    findings=data["findings"],
                )
            except InvalidTransition as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, f"Recorded {drill.number}.")
                return redirect(drill)
        return render(request, "incidents/drill_form.html", {"form": form}, status=400)
    return render(request, "incidents/drill_form.html", {"form": form})


@role_required(VIEWER)
@require_GET
def drill_detail(request: HttpRequest, number: str) -> HttpResponse:
    drill = get_object_or_404(Drill.objects.select_related("recorded_by"), number=number)
    links = drill.links.select_related("runbook", "revision")
    return render(request, "incidents/drill_detail.html", {"drill": drill, "links": links})
