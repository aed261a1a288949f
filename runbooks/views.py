from collections.abc import Callable
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changes import drafts
from changes.proposals import edits_are_proposals
from changes.views import propose_edit, propose_restore
from fixit_runbooks import session_user

from . import diffs, page_cache, page_row, services, shapes
from .forms import MAX_BODY_CHARS, IndexFilterForm, NewRunbookKindForm, RunbookForm
from .markdown import RenderTooComplex
from .markdown import render as render_markdown_with_toc
from .models import AuditEvent, Category, EditConflict, Kind, Runbook
from .render_limits import preview_budget, save_budget
from .request_types import HtmxHttpRequest
from .roles import (
    ADMIN,
    EDITOR,
    VIEWER,
    has_role,
    remember_role_rank,
    role_required,
)

INDEX_PAGE_SIZE = 200
# Index columns and the sort each heading links to ("" = not sortable).
SORT_COLUMNS = (
    ("title", "Runbook"),
    ("audience", "Audience"),
    ("severity", "Severity"),
    ("", "Summary"),
    ("owner", "Owner"),
    ("reviewed", "Last reviewed"),
)


@role_required(VIEWER)
@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    filters = IndexFilterForm(request.GET or None)
    runbooks = filters.filter(Runbook.objects.visible_to(request.user).active().with_list_data())
    page = Paginator(runbooks, INDEX_PAGE_SIZE).get_page(request.GET.get("page"))
    category_labels = dict(Category.choices)
    groups = [
        (category, category_labels.get(category, category), list(rows))
        for category, rows in groupby(page.object_list, key=lambda r: r.category)
    ]
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    context = {
        "filters": filters,
        "page": page,
        "groups": groups,
        "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
        "sort": request.GET.get("sort") if request.GET.get("sort") in IndexFilterForm.SORTS else "title",
        "sort_columns": SORT_COLUMNS,
    }
    template = "runbooks/index.html#library" if request.htmx else "runbooks/index.html"
    return render(request, template, context)


# The page reads the viewer with the runbook's row (see `_viewer_and_row`), so it checks the login itself.
@login_not_required
@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    # The page's cache entry is asked for by slug first, so Redis answers while the rows are read.
    with page_cache.PageRead(request, slug) as read:
        user, runbook = _viewer_and_row(request, slug)
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if runbook is not None:
            remember_role_rank(user, getattr(runbook, "viewer_group_rank", None))
        if not has_role(user, VIEWER):
            raise PermissionDenied(f"This needs the {VIEWER} role.")
        if runbook is None:
            raise Http404("No runbook matches the given query.")
        return HttpResponse(page_cache.render_page(request, runbook, read, _page_context(user, runbook)))


def _viewer_and_row(request: HttpRequest, slug: str) -> tuple[Any, Runbook | None]:
    """The viewer and the runbook's page row: one statement when the session's user is still unread."""
    claimed = session_user.claimed_user_pk(request)
    if claimed is not None:
        viewer, runbook = page_row.viewer_and_runbook_rows(slug, claimed)
        if session_user.adopt(request, viewer):
            return viewer, runbook
    user = request.user
    if not user.is_authenticated:
        return user, None
    return user, page_row.runbook_row(slug, user)


def _page_context(user: Any, runbook: Runbook) -> Callable[[], dict[str, Any]]:
    def fill_context() -> dict[str, Any]:
        """What a cold render of the cached page reads; lazy querysets run only then."""
        full = Runbook.objects.visible_to(user).select_related(
            "owner", "team", "current_revision", "current_revision__author", "last_reviewed_by"
        ).get(pk=runbook.pk)
        return {
            "runbook": full,
            "revision": full.current_revision,
            "history": full.history.select_related("reviewer_user", "created_by"),
            "related": full.related.only("slug", "title", "severity"),
            "alert_names": full.alert_names.all(),
            "services": full.services.all(),
            "tags": full.tags.all(),
        }

    return fill_context


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
@save_budget
def create(request: HttpRequest) -> HttpResponse:
    kind_form = NewRunbookKindForm(request.GET)
    kind = kind_form.cleaned_data["kind"] if kind_form.is_valid() and kind_form.cleaned_data["kind"] else ""
    if request.method == "GET" and not kind:
        return render(request, "runbooks/choose_template.html", {"kinds": Kind.choices})
    if request.method == "POST":
        form = RunbookForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            fields = {name: data[name] for name in RunbookForm.Meta.fields}
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
                    **fields,
                )
            except RenderTooComplex as refusal:
                form.add_error("body", f"Not saved. {refusal}")
            else:
                drafts.discard(request.user, drafts.key_for(None, kind))
                _warn_missing_sections(request, runbook)
                messages.success(request, f"Created “{runbook.title}” (version 1.0).")
                return redirect(runbook)
    else:
        initial = {
            "kind": kind,
            "body": shapes.TEMPLATES[kind],
            "owner": request.user.pk,
            "alert_names": request.GET.get("alert", "")[:200],
            "title": request.GET.get("title", "")[:200],
        }
        draft = drafts.offer(request, key=drafts.key_for(None, kind), current=str(initial["body"]))
        form = RunbookForm(initial=initial | draft.pop("initial", {}))
    if request.method == "POST":
        draft = {"draft_key": drafts.key_for(None, kind)}
    status = 400 if form.is_bound else 200
    return render(request, "runbooks/edit.html", {"form": form, "runbook": None, **draft}, status=status)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
@save_budget
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.select_related("current_revision"), slug=slug)
    if request.method == "GET":
        current_body = runbook.current_revision.body if runbook.current_revision else ""
        draft = drafts.offer(request, key=drafts.key_for(runbook), current=current_body)
        form = RunbookForm(instance=runbook, initial=draft.pop("initial", None))
        return render(request, "runbooks/edit.html", {"form": form, "runbook": runbook, **draft})

    form = RunbookForm(request.POST, instance=runbook)
    if not form.is_valid():
        # Validation copied the posted slug and title onto the instance; the
        # form must still post back to, and be headed by, the stored runbook.
        runbook.refresh_from_db(fields=["slug", "title"])
        return render(request, "runbooks/edit.html", {"form": form, "runbook": runbook}, status=400)
    try:
        if edits_are_proposals(runbook):
            return propose_edit(request, runbook, form.edit_request())
        result = services.save_edit(runbook, by=request.user, request=form.edit_request())
    except services.EditRefused as refusal:
        return _conflict(request, refusal)
    except RenderTooComplex as refusal:
        # Nothing was written; the form keeps every word that was typed.
        form.add_error("body", f"Not saved. {refusal}")
        runbook.refresh_from_db(fields=["slug", "title"])
        return render(request, "runbooks/edit.html", {"form": form, "runbook": runbook}, status=400)
    except services.SaveRaced:
        runbook.refresh_from_db(fields=["slug", "title"])
        messages.error(request, "Others saved this runbook several times while you did; nothing was saved. Save again.")
        return render(request, "runbooks/edit.html", {"form": form, "runbook": runbook}, status=409)
    saved = result.runbook
    revision = result.revision
    changed_details = bool(result.details["changes"] or result.details["labels"])
    if revision is not None and result.merged_with is not None:
        theirs = result.merged_with
        messages.success(
            request,
            f"Saved version {revision.version} (revision {revision.number}), merged with revision "
            f"{theirs.number} by {theirs.author.get_username() if theirs.author else 'someone'}: "
            "below is what your edit added to theirs.",
        )
    elif revision is not None:
        messages.success(request, f"Saved version {revision.version} (revision {revision.number}).")
    elif changed_details:
        messages.success(request, "Details saved; the text is unchanged, so no new revision.")
    else:
        messages.info(request, "Nothing changed.")
    if result.unresolved_conflicts:
        messages.warning(
            request,
            f"The text still holds {result.unresolved_conflicts} conflict(s) marked with <<<<<<< and >>>>>>>: "
            "both versions are kept until someone edits them.",
        )
    drafts.discard(request.user, drafts.key_for(saved))
    _warn_missing_sections(request, saved)
    if revision is not None and result.merged_with is not None:
        diff_url = reverse("runbooks:diff", args=[saved.slug])
        return redirect(f"{diff_url}?a={result.merged_with.number}&b={revision.number}")
    return redirect(saved)


def _conflict(request: HttpRequest, refusal: services.EditRefused) -> HttpResponse:
    """Keep everything this person typed, show what the other person saved, and let them choose."""
    current = refusal.runbook
    data = request.POST.copy()
    for key in [key for key in data if key.startswith("conflict_")]:
        del data[key]
    for name, value in refusal.values.items():
        data[name] = "" if value is None else str(getattr(value, "pk", value))
    label_inputs = {"alert_names": "alert_names", "services": "services_list", "tags": "tags_list", "related": "related_slugs"}
    for kind, names in refusal.labels.items():
        data[label_inputs[kind]] = ", ".join(names)
    data["body"] = refusal.body
    data["base_revision"] = str(current.current_revision.number) if current.current_revision else ""
    data["shown"] = services.sign_snapshot(services.snapshot(current))
    # A separate instance: binding must not put a posted (possibly empty) slug
    # onto the runbook whose stored slug the page links to.
    form = RunbookForm(data, instance=Runbook.objects.get(pk=current.pk))
    context = {
        "form": form,
        "runbook": current,
        "conflict": refusal.their_revision,
        "merge": refusal.text,
        "field_conflicts": refusal.fields,
    }
    return render(request, "runbooks/edit.html", context, status=409)


def _warn_missing_sections(request: HttpRequest, runbook: Runbook) -> None:
    if runbook.missing_sections:
        messages.warning(
            request,
            f"This {runbook.get_kind_display().lower()} is missing: {', '.join(runbook.missing_sections)}.",
        )


@role_required(EDITOR)
@require_POST
@preview_budget
def preview(request: HttpRequest) -> HttpResponse:
    body = request.POST.get("body", "")
    if len(body) > MAX_BODY_CHARS:
        return HttpResponseBadRequest("The text is too long to preview (200,000 characters at most).")
    rendered = render_markdown_with_toc(body)
    kind = request.POST.get("kind", "")
    missing = shapes.missing_sections(kind, rendered.headings) if kind in shapes.REQUIRED_SECTIONS else []
    return render(request, "runbooks/_preview.html", {"html": rendered.html, "missing": missing})


@role_required(VIEWER)
@require_GET
def history(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.select_related("current_revision"), slug=slug)
    revisions = runbook.revisions.select_related("author", "restored_from").defer("body", "body_html", "toc")
    context = {
        "runbook": runbook,
        "revisions": revisions,
        "history": runbook.history.select_related("reviewer_user", "created_by"),
    }
    return render(request, "runbooks/history.html", context)


# Revision numbers are stored as 32-bit integers; anything outside is a typo, not a lookup.
MAX_REVISION_NUMBER = 2**31 - 1


def _revision_number(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_REVISION_NUMBER else None


@role_required(VIEWER)
@require_GET
def diff(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.select_related("current_revision"), slug=slug)
    latest = runbook.current_revision.number if runbook.current_revision else 0
    a = _revision_number(request.GET.get("a"), max(latest - 1, 1))
    b = _revision_number(request.GET.get("b"), latest)
    if a is None or b is None:
        return render(
            request,
            "runbooks/diff.html",
            {"runbook": runbook, "error": "Revision numbers must be positive whole numbers, like ?a=2&b=5."},
            status=400,
        )
    found = {r.number: r for r in runbook.revisions.filter(number__in=[a, b]).select_related("author")}
    missing = [n for n in (a, b) if n not in found]
    if missing:
        return render(
            request,
            "runbooks/diff.html",
            {"runbook": runbook, "error": f"Revision {missing[0]} does not exist for this runbook."},
            status=404,
        )
    old, new = found[a], found[b]
    mode = "side" if request.GET.get("mode") == "side" else "inline"
    context = {
        "runbook": runbook,
        "old": old,
        "new": new,
        "mode": mode,
        "rows": diffs.side_by_side(old.body, new.body) if mode == "side" else None,
        "lines": diffs.inline(old.body, new.body) if mode == "inline" else None,
        "stats": diffs.stats(old.body, new.body),
    }
    return render(request, "runbooks/diff.html", context)


@role_required(VIEWER)
@require_GET
def revision(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.select_related("current_revision"), slug=slug)
    if number > MAX_REVISION_NUMBER:
        raise Http404("No such revision.")
    rev = get_object_or_404(runbook.revisions.select_related("author"), number=number)
    return render(request, "runbooks/revision.html", {"runbook": runbook, "revision": rev})


@role_required(EDITOR)
@require_POST
def restore(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    runbook = get_object_or_404(Runbook.objects.select_related("current_revision"), slug=slug)
    if number > MAX_REVISION_NUMBER:
        raise Http404("No such revision.")
    old = get_object_or_404(runbook.revisions, number=number)
    # Without the revision the user was looking at, a restore could undo an
    # edit they never saw, so a missing or bad base is refused.
    base = _revision_number(request.POST.get("base_revision"), 0)
    if not base:
        raise BadRequest("The restore form is missing the revision it was based on; reload the history page.")
    if edits_are_proposals(runbook):
        return propose_restore(request, runbook, old, base)
    try:
        new = runbook.restore(old, by=request.user, base_revision=base)
    except EditConflict as conflict:
        messages.error(
            request,
            f"Not restored: revision {conflict.current.number} was saved while you were looking. "
            "Check the history and try again.",
        )
        return redirect("runbooks:history", slug=runbook.slug)
    except RenderTooComplex as refusal:
        messages.error(request, f"Not restored. {refusal}")
        return redirect("runbooks:history", slug=runbook.slug)
    messages.success(request, f"Restored revision {old.number} as revision {new.number} (version {new.version}).")
    return redirect(runbook)


@role_required(ADMIN)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("actor", "runbook")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "runbooks/audit.html", {"page": page})
