"""Incidents, drills and search over /api/v1/, through the browser's forms and model methods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import Field

from incidents.forms import DrillForm, IncidentForm, StepForm, TimelineEntryForm
from incidents.models import (
    Drill,
    Incident,
    IncidentRunbook,
    InvalidTransition,
    Status,
)
from runbooks.models import Runbook, Service
from search.engine import DEFAULT_LIMIT, search
from search.forms import SearchForm

from . import auth
from .auth import ApiError
from .common import form_refused, iso, plain, user_pk, username

router = Router(tags=["incidents"])
drills = Router(tags=["drills"])
searching = Router(tags=["search"])

MAX_PAGE = 200


class IncidentIn(Schema):
    title: str
    severity: str = "P2"
    commander: str | None = Field(None, description="Username.")
    services: list[str] = Field(default_factory=list, description="Service names.")
    detected_at: dt.datetime | None = None
    user_impact: str = ""
    business_impact: str = ""


class StatusIn(Schema):
    status: str = Field(description="investigating, identified, mitigating or resolved.")


class NoteIn(Schema):
    text: str
    kind: str = Field("note", description="note or communication.")


class AttachIn(Schema):
    runbook: str = Field(description="Slug (or title) of the runbook.")


class StepIn(Schema):
    step: int | str = Field(
        description="Step number (1, 2, …) or its key from the incident detail."
    )
    state: str = Field(description="done, skipped, deviated or undone.")
    note: str = ""


class DrillIn(Schema):
    runbooks: list[str] = Field(description="Slugs of the runbooks exercised.")
    date: dt.date
    participants: str
    outcome: str = Field(description="passed or gaps.")
    findings: str = ""


class SearchParams(Schema):
    """Documented here; the search page's own form checks them."""

    q: str = Field("", description='Words, "phrases", or, -not.')
    kind: str = ""
    category: str = ""
    severity: str = ""
    team: str = Field("", description="Team slug.")
    service: str = Field("", description="Service name.")
    tag: str = ""
    review: str = Field("", description="Review state.")
    limit: str = Field("", description="How many results (up to the search page's maximum).")


class IncidentFilters(Schema):
    status: str | None = None
    open: bool | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)


class Page(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)


def _attachment_json(attachment: IncidentRunbook) -> dict[str, Any]:
    latest = attachment.latest_progress()
    return {
        "runbook": attachment.runbook.slug,
        "title": attachment.runbook.title,
        "version": attachment.revision.version,
        "revision": attachment.revision.number,
        "steps": [
            {
                "number": step.index,
                "key": step.key,
                "section": step.section,
                "text": step.text,
                "state": latest[step.key].state if step.key in latest else None,
            }
            for step in attachment.steps
        ],
    }


def incident_json(incident: Incident, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": incident.number,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "detected_at": iso(incident.detected_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "mitigated_at": iso(incident.mitigated_at),
        "resolved_at": iso(incident.resolved_at),
        "commander": username(incident.commander),
        "services": [s.name for s in incident.services.all()],
        "url": incident.get_absolute_url(),
    }
    if detail:
        attachments = incident.attachments.select_related("runbook", "revision").order_by("pk")
        data["runbooks"] = [_attachment_json(a) for a in attachments]
        data["timeline"] = [
            {"at": iso(e.at), "kind": e.kind, "author": username(e.author), "text": e.text}
            for e in incident.timeline.select_related("author").order_by("at", "pk")
        ]
    return data


def _local(value: dt.datetime) -> dt.datetime:
    # The form reads wall-clock time in the site's zone, as a browser posts it.
    return timezone.localtime(value) if timezone.is_aware(value) else value


def get_incident(number: str) -> Incident:
    incident = (
        Incident.objects.select_related("commander")
        .prefetch_related("services")
        .filter(number=plain(number, 20).upper())
        .first()
    )
    if incident is None:
        raise ApiError(404, f"There is no incident {plain(number, 20)}.")
    return incident


@router.get("/incidents", auth=auth.read, summary="List incidents, newest first")
def list_incidents(request: HttpRequest, filters: Query[IncidentFilters]) -> dict[str, Any]:
    queryset = Incident.objects.select_related("commander").prefetch_related("services")
    if filters.status:
        if filters.status not in Status.values:
            raise ApiError(
                400, f"status: “{filters.status}” is not one of {', '.join(Status.values)}."
            )
        queryset = queryset.filter(status=filters.status)
    if filters.open is not None:
        queryset = (
            queryset.open() if filters.open else queryset.exclude(pk__in=Incident.objects.open())
        )
    total = queryset.count()
    page = queryset[filters.offset : filters.offset + filters.limit]
    return {"count": total, "results": [incident_json(i) for i in page]}


@router.get(
    "/incidents/{number}", auth=auth.read, summary="One incident with runbooks, steps and timeline"
)
def incident_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return incident_json(get_incident(number), detail=True)


@router.post("/incidents", auth=auth.write, summary="Declare an incident", response={201: dict})
def declare_incident(request: HttpRequest, payload: IncidentIn) -> Reply:
    service_ids = []
    for name in payload.services:
        found = (
            Service.objects.filter(name__iexact=plain(name, 100))
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            raise ApiError(400, f"services: there is no service named “{name}”.")
        service_ids.append(found)
    form = IncidentForm(
        {
            "title": payload.title,
            "severity": payload.severity,
            "commander": user_pk(payload.commander, field="commander") or "",
            "services": service_ids,
            "detected_at": _local(payload.detected_at or timezone.now()).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "user_impact": payload.user_impact,
            "business_impact": payload.business_impact,
        }
    )
    if not form.is_valid():
        raise form_refused("The incident", form)
    data = dict(form.cleaned_data)
    chosen = data.pop("services")
    incident = Incident.open_incident(by=request.user, services=chosen, **data)
    return Reply(201, incident_json(get_incident(incident.number), detail=True))


@router.post("/incidents/{number}/status", auth=auth.write, summary="Change an incident's status")
def change_status(request: HttpRequest, number: str, payload: StatusIn) -> dict[str, Any]:
    incident = get_incident(number)
    try:
        incident.change_status(payload.status, by=request.user)
    except InvalidTransition as refused:
        raise ApiError(409, str(refused)) from refused
    return incident_json(get_incident(incident.number))


@router.post(
    "/incidents/{number}/timeline",
    auth=auth.write,
    summary="Add a note to the timeline",
    response={201: dict},
)
def add_note(request: HttpRequest, number: str, payload: NoteIn) -> Reply:
    incident = get_incident(number)
    form = TimelineEntryForm({"kind": payload.kind, "text": payload.text})
    if not form.is_valid():
        raise form_refused("The timeline entry", form)
    try:
        entry = incident.add_note(
            by=request.user, text=form.cleaned_data["text"], kind=form.cleaned_data["kind"]
        )
    except InvalidTransition as refused:
        raise ApiError(400, str(refused)) from refused
    return Reply(
        201,
        {
            "at": iso(entry.at),
            "kind": entry.kind,
            "author": username(entry.author),
            "text": entry.text,
        },
    )


@router.post(
    "/incidents/{number}/runbooks",
    auth=auth.write,
    summary="Attach a runbook, pinned to its current revision",
    response={201: dict},
)
def attach_runbook(request: HttpRequest, number: str, payload: AttachIn) -> Reply:
    incident = get_incident(number)
    wanted = plain(payload.runbook)
    runbook = Runbook.objects.filter(slug=wanted).first()
    if runbook is None:
        raise ApiError(404, f"There is no runbook with the slug “{wanted}”.")
    if runbook.archived_at is not None:
        raise ApiError(409, f"“{runbook.title}” is archived; restore it before attaching it.")
    try:
        attachment = incident.attach_runbook(runbook, by=request.user)
    except InvalidTransition as refused:
        raise ApiError(409, str(refused)) from refused
    attachment = IncidentRunbook.objects.select_related("runbook", "revision").get(pk=attachment.pk)
    return Reply(201, _attachment_json(attachment))


@router.post(
    "/incidents/{number}/runbooks/{slug}/steps",
    auth=auth.write,
    summary="Mark a checklist step done, skipped, deviated or undone",
)
def record_step(request: HttpRequest, number: str, slug: str, payload: StepIn) -> dict[str, Any]:
    incident = get_incident(number)
    attachment = (
        IncidentRunbook.objects.select_related("runbook", "revision", "incident")
        .filter(incident=incident, runbook__slug=plain(slug))
        .first()
    )
    if attachment is None:
        raise ApiError(404, f"{incident.number} has no runbook “{plain(slug)}” attached.")
    form = StepForm({"step": str(payload.step), "state": payload.state, "note": payload.note})
    if not form.is_valid():
        raise form_refused("The step", form)
    ref: int | str = payload.step
    if isinstance(ref, str) and ref.isdigit() and not any(s.key == ref for s in attachment.steps):
        ref = int(ref)
    try:
        attachment.record_step(
            ref, form.cleaned_data["state"], by=request.user, note=form.cleaned_data["note"]
        )
    except InvalidTransition as refused:
        raise ApiError(409, str(refused)) from refused
    return _attachment_json(attachment)


def drill_json(drill: Drill) -> dict[str, Any]:
    return {
        "number": drill.number,
        "date": drill.date.isoformat(),
        "outcome": drill.outcome,
        "participants": drill.participants,
        "findings": drill.findings,
        "runbooks": [r.slug for r in drill.runbooks.all()],
        "recorded_by": username(drill.recorded_by),
        "url": drill.get_absolute_url(),
    }


@drills.get("/drills", auth=auth.read, summary="List drills, newest first")
def list_drills(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    queryset = Drill.objects.select_related("recorded_by").prefetch_related("runbooks")
    total = queryset.count()
    return {
        "count": total,
        "results": [drill_json(d) for d in queryset[page.offset : page.offset + page.limit]],
    }


@drills.get("/drills/{number}", auth=auth.read, summary="One drill")
def drill_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    drill = (
        Drill.objects.select_related("recorded_by").filter(number=plain(number, 20).upper()).first()
    )
    if drill is None:
        raise ApiError(404, f"There is no drill {plain(number, 20)}.")
    return drill_json(drill)


@drills.post("/drills", auth=auth.write, summary="Record a drill", response={201: dict})
def record_drill(request: HttpRequest, payload: DrillIn) -> Reply:
    form = DrillForm(
        {
            "runbooks": ", ".join(payload.runbooks),
            "date": payload.date.isoformat(),
            "participants": payload.participants,
            "outcome": payload.outcome,
            "findings": payload.findings,
        }
    )
    if not form.is_valid():
        raise form_refused("The drill", form)
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
        raise ApiError(400, str(refused)) from refused
    return Reply(201, drill_json(drill))


@searching.get(
    "/search",
    auth=auth.read,
    summary="Full-text search",
    description="The same query and filters as the search page (q, kind, service, team, …); "
    "the answer has the shape of GET /api/search/.",
)
def search_runbooks(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    form = SearchForm(request.GET)
    if not form.is_valid():
        raise ApiError(400, "Invalid parameters.", fields=form.errors.get_json_data())
    q, filters = form.query(), form.filters()
    if not q and not filters.any():
        raise ApiError(400, "Give a query (?q=…) or at least one filter.")
    result = search(q, filters, limit=form.cleaned_data.get("limit") or DEFAULT_LIMIT)
    return result.as_json()
