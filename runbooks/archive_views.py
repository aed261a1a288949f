"""Archive, restore and delete a runbook; the list of archived runbooks.

Each action is a GET confirmation page (works without JavaScript) and a POST
that calls one function in runbooks.archiving.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import archiving
from .models import Runbook
from .roles import ADMIN, EDITOR, VIEWER, role_required

ARCHIVE_PAGE_SIZE = 100


def _runbook(request: HttpRequest, slug: str) -> Runbook:
    return get_object_or_404(
        Runbook.objects.visible_to(request.user).select_related("current_revision"), slug=slug
    )


def _confirm(request: HttpRequest, runbook: Runbook, action: str, **extra: object) -> HttpResponse:
    context = {"runbook": runbook, "action": action, **extra}
    status = 409 if extra.get("refusal") else 200
    return render(request, "runbooks/archive_confirm.html", context, status=status)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def archive(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = _runbook(request, slug)
    if request.method == "GET":
        refusal = f"“{runbook.title}” is already archived." if runbook.archived_at else ""
        return _confirm(request, runbook, "archive", refusal=refusal)
    try:
        archiving.archive(runbook, by=request.user, reason=request.POST.get("reason", ""))
    except archiving.ArchiveRefused as refused:
        return _confirm(request, runbook, "archive", refusal=str(refused))
    messages.success(
        request, f"Archived “{runbook.title}”. It no longer shows in the library or search."
    )
    return redirect(runbook)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def unarchive(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = _runbook(request, slug)
    if request.method == "GET":
        refusal = "" if runbook.archived_at else f"“{runbook.title}” is not archived."
        return _confirm(request, runbook, "unarchive", refusal=refusal)
    try:
        archiving.unarchive(runbook, by=request.user)
    except archiving.ArchiveRefused as refused:
        return _confirm(request, runbook, "unarchive", refusal=str(refused))
    messages.success(request, f"Restored “{runbook.title}” to the library.")
    return redirect(runbook)


@role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = _runbook(request, slug)
    if request.method == "GET":
        used_in = archiving.usage(runbook)
        refusal = (
            f"“{runbook.title}” was used in {', '.join(used_in[:5])}, so it cannot be deleted. "
            "Archive it instead: it leaves the library and search but keeps its history."
            if used_in
            else ""
        )
        return _confirm(
            request, runbook, "delete", refusal=refusal, revisions=runbook.revisions.count()
        )
    title = runbook.title
    try:
        archiving.delete_if_unused(runbook, by=request.user)
    except archiving.ArchiveRefused as refused:
        return _confirm(request, runbook, "delete", refusal=str(refused))
    messages.success(request, f"Deleted “{title}” and its revisions.")
    return redirect("runbooks:index")


@role_required(VIEWER)
@require_GET
def archived_list(request: HttpRequest) -> HttpResponse:
    runbooks = (
        Runbook.objects.visible_to(request.user)
        .filter(archived_at__isnull=False)
        .select_related("owner")
        .order_by("-archived_at", "title")
    )
    page = Paginator(runbooks, ARCHIVE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "runbooks/archived.html", {"page": page})
