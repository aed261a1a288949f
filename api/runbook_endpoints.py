"""Runbooks over /api/v1/: the same form, merge, audit and archive rules as the browser."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import Field

from changes import proposals
from runbooks import archiving, services
from runbooks.forms import RunbookForm
from runbooks.markdown import RenderTooComplex
from runbooks.models import DETAIL_FIELDS, Runbook, Team

from . import auth
from .auth import ApiError
from .common import form_refused, iso, plain, user_pk, username

router = Router(tags=["runbooks"])

MAX_PAGE = 200


class Labels(Schema):
    alert_names: list[str] | None = None
    services: list[str] | None = None
    tags: list[str] | None = None
    related: list[str] | None = Field(None, description="Slugs of related runbooks.")


class RunbookIn(Schema):
    title: str | None = None
    slug: str | None = None
    summary: str | None = None
    kind: str | None = None
    category: str | None = None
    severity: str | None = None
    audience: str | None = None
    owner: str | None = Field(None, description="Username; defaults to the token's user on create.")
    team: str | None = Field(None, description="Team slug.")
    review_cadence: str | None = None
    labels: Labels | None = None
    body: str | None = Field(None, description="Markdown text; a new revision when it changes.")
    change_summary: str = ""
    major: bool = False
    base_revision: int | None = Field(
        None, description="Revision number the body was edited from; required with body on edit."
    )


class ArchiveIn(Schema):
    reason: str = ""


class RunbookFilters(Schema):
    kind: str | None = None
    service: str | None = None
    tag: str | None = None
    archived: bool = False
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)


def _with_labels(queryset: QuerySet[Runbook]) -> QuerySet[Runbook]:
    return queryset.select_related("owner", "team", "current_revision").prefetch_related(
        "alert_names", "services", "tags", Prefetch("related", Runbook.objects.only("slug"))
    )


def labels_of(runbook: Runbook) -> dict[str, list[str]]:
    return {
        "alert_names": [a.name for a in runbook.alert_names.all()],
        "services": [s.name for s in runbook.services.all()],
        "tags": [t.name for t in runbook.tags.all()],
        "related": [r.slug for r in runbook.related.all()],
    }


def runbook_json(runbook: Runbook, *, body: bool = False) -> dict[str, Any]:
    revision = runbook.current_revision
    data: dict[str, Any] = {
        "slug": runbook.slug,
        "title": runbook.title,
        "summary": runbook.summary,
        "kind": runbook.kind,
        "category": runbook.category,
        "severity": runbook.severity,
        "audience": runbook.audience,
        "owner": username(runbook.owner),
        "team": runbook.team.slug if runbook.team else None,
        "review_cadence": runbook.review_cadence,
        "version": runbook.version,
        "revision": revision.number if revision else None,
        "archived_at": iso(runbook.archived_at),
        "url": runbook.get_absolute_url(),
        "labels": labels_of(runbook),
    }
    if body:
        data["body"] = revision.body if revision else ""
    return data


def get_runbook(slug: str) -> Runbook:
    slug = plain(slug)
    runbook = _with_labels(Runbook.objects.filter(slug=slug)).first()
    if runbook is None:
        raise ApiError(404, f"There is no runbook with the slug “{slug}”.")
    return runbook


def _form_data(payload: dict[str, Any], start: dict[str, Any]) -> dict[str, Any]:
    """The edit form's fields: what the request gives laid over ``start``."""
    data = dict(start)
    for name in DETAIL_FIELDS:
        if name in payload and name not in ("owner", "team"):
            data[name] = payload[name] if payload[name] is not None else ""
    if "owner" in payload:
        data["owner"] = user_pk(payload["owner"], field="owner") or ""
    if "team" in payload:
        team = plain(payload["team"] or "")
        if team:
            found = Team.objects.filter(slug=team).values_list("pk", flat=True).first()
            if found is None:
                raise ApiError(400, f"team: there is no team with the slug “{team}”.")
            data["team"] = found
        else:
            data["team"] = ""
    labels = payload.get("labels") or {}
    for kind, field in (
        ("alert_names", "alert_names"),
        ("services", "services_list"),
        ("tags", "tags_list"),
        ("related", "related_slugs"),
    ):
        if labels.get(kind) is not None:
            names = labels[kind]
            if any("," in name for name in names):
                raise ApiError(400, f"labels.{kind}: a name cannot contain a comma.")
            data[field] = ", ".join(names)
    for name in ("body", "change_summary", "major"):
        if name in payload and payload[name] is not None:
            data[name] = payload[name]
    if not data.get("major"):
        data.pop("major", None)
    return data


@router.get("/runbooks", auth=auth.read, summary="List runbooks")
def list_runbooks(request: HttpRequest, filters: Query[RunbookFilters]) -> dict[str, Any]:
    queryset = Runbook.objects.all() if filters.archived else Runbook.objects.active()
    if filters.kind:
        queryset = queryset.filter(kind=plain(filters.kind))
    if filters.service:
        queryset = queryset.filter(services__name__iexact=plain(filters.service))
    if filters.tag:
        queryset = queryset.filter(tags__name__iexact=plain(filters.tag))
    queryset = queryset.order_by("title", "pk").distinct()
    total = queryset.count()
    page = _with_labels(queryset)[filters.offset : filters.offset + filters.limit]
    return {"count": total, "results": [runbook_json(r) for r in page]}


@router.get("/runbooks/{slug}", auth=auth.read, summary="One runbook with its current text")
def runbook_detail(request: HttpRequest, slug: str) -> dict[str, Any]:
    return runbook_json(get_runbook(slug), body=True)


@router.post("/runbooks", auth=auth.write, summary="Create a runbook", response={201: dict})
def create_runbook(request: HttpRequest, payload: RunbookIn) -> Reply:
    given = payload.model_dump(exclude_unset=True)
    start = {
        "owner": request.user.pk,
        "category": "service",
        "severity": "P2",
        "review_cadence": "monthly",
    }
    form = RunbookForm(_form_data(given, start))
    if not form.is_valid():
        raise form_refused("The runbook", form)
    data = form.cleaned_data
    labels = form.labels()
    try:
        runbook = Runbook.create_with_revision(
            author=request.user,
            body=data["body"],
            change_summary=data["change_summary"] or "Created",
            alert_names=labels["alert_names"],
            services=labels["services"],
            tags=labels["tags"],
            related=labels["related"],
            **{name: data[name] for name in RunbookForm.Meta.fields},
        )
    except RenderTooComplex as refusal:
        raise ApiError(400, f"The runbook was not saved. {refusal}") from refusal
    return Reply(201, runbook_json(get_runbook(runbook.slug), body=True))


def _current_form_values(runbook: Runbook) -> dict[str, Any]:
    labels = labels_of(runbook)
    revision = runbook.current_revision
    return {
        **{name: getattr(runbook, name) for name in DETAIL_FIELDS if name not in ("owner", "team")},
        "owner": runbook.owner_id or "",
        "team": runbook.team_id or "",
        "alert_names": ", ".join(labels["alert_names"]),
        "services_list": ", ".join(labels["services"]),
        "tags_list": ", ".join(labels["tags"]),
        "related_slugs": ", ".join(labels["related"]),
        "body": revision.body if revision else "",
        "base_revision": revision.number if revision else 0,
    }


@router.patch(
    "/runbooks/{slug}",
    auth=auth.write,
    summary="Edit a runbook",
    description=(
        "Only the fields given change. A new body needs base_revision, the revision it was "
        "edited from: edits to different lines merge as in the browser, overlapping ones "
        "are refused with 409 and nothing is written."
    ),
)
def edit_runbook(request: HttpRequest, slug: str, payload: RunbookIn) -> dict[str, Any]:
    runbook = get_runbook(slug)
    if runbook.archived_at is not None:
        raise ApiError(
            409, f"“{runbook.title}” is archived; restore it (POST …/unarchive) before editing."
        )
    given = payload.model_dump(exclude_unset=True)
    start = _current_form_values(runbook)
    if given.get("body") is not None:
        if payload.base_revision is None:
            raise ApiError(
                400,
                "base_revision is required with body: the revision number your text was edited from "
                f"(the current one is {start['base_revision']}).",
            )
        start["base_revision"] = payload.base_revision
    form = RunbookForm(_form_data(given, start), instance=runbook)
    if not form.is_valid():
        raise form_refused("The runbook", form)
    try:
        if proposals.edits_are_proposals(runbook):
            return _save_or_propose(request, runbook, form.edit_request())
        result = services.save_edit(runbook, by=request.user, request=form.edit_request())
    except services.EditRefused as refusal:
        current = refusal.runbook.current_revision
        raise ApiError(
            409,
            "Someone else changed the same thing meanwhile; nothing was saved. "
            "Fetch the runbook again and re-apply your change.",
            current_revision=current.number if current else None,
            fields=[{"name": c.name, "mine": c.mine, "theirs": c.theirs} for c in refusal.fields],
            text_conflict=refusal.text is not None and not refusal.text.clean,
        ) from refusal
    except services.SaveRaced as raced:
        raise ApiError(
            409, "Others kept saving this runbook meanwhile; nothing was saved. Try again."
        ) from raced
    except RenderTooComplex as refusal:
        raise ApiError(400, f"The runbook was not saved. {refusal}") from refusal
    data = runbook_json(get_runbook(result.runbook.slug), body=True)
    data["saved_revision"] = result.revision.number if result.revision else None
    data["merged_with"] = result.merged_with.number if result.merged_with else None
    data["unresolved_conflicts"] = result.unresolved_conflicts
    return data


def _save_or_propose(
    request: HttpRequest, runbook: Runbook, edit: services.EditRequest
) -> dict[str, Any]:
    """Under change control, as in the editor: details apply now, new text waits for approval."""
    try:
        outcome = proposals.save_or_propose(runbook, by=request.user, edit=edit)
    except proposals.ProposalRefused as refusal:
        raise ApiError(refusal.status, str(refusal)) from refusal
    data = runbook_json(get_runbook(outcome.details.runbook.slug), body=True)
    data["saved_revision"] = None
    data["proposal"] = (
        {
            "id": outcome.proposal.pk,
            "url": request.build_absolute_uri(outcome.proposal.get_absolute_url()),
        }
        if outcome.proposal
        else None
    )
    return data


@router.post("/runbooks/{slug}/archive", auth=auth.write, summary="Archive a runbook")
def archive_runbook(request: HttpRequest, slug: str, payload: ArchiveIn) -> dict[str, Any]:
    runbook = get_runbook(slug)
    try:
        archiving.archive(runbook, by=request.user, reason=payload.reason)
    except archiving.ArchiveRefused as refused:
        raise ApiError(409, str(refused)) from refused
    return runbook_json(get_runbook(slug))


@router.post("/runbooks/{slug}/unarchive", auth=auth.write, summary="Restore an archived runbook")
def unarchive_runbook(request: HttpRequest, slug: str) -> dict[str, Any]:
    runbook = get_runbook(slug)
    try:
        archiving.unarchive(runbook, by=request.user)
    except archiving.ArchiveRefused as refused:
        raise ApiError(409, str(refused)) from refused
    return runbook_json(get_runbook(slug))
