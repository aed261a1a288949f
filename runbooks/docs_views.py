"""Docs-as-code in the browser: upload a .zip of markdown runbooks, download the library as one.

An upload is checked (names, sizes, ratio) in the request, stored as an
ImportJob and imported by a Celery task; the job's page polls its progress
with htmx and shows the per-file report at the end, with a choice for each
file that changed both here and in the upload.
"""

import io
from pathlib import PurePosixPath

from django import forms
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .exporter import write_zip
from .importing import OURS, THEIRS, ImportReport, UnsafeArchive
from .importing.archive import check_zip
from .importing.tasks import queue_import
from .models import ImportJob
from .request_types import AuthenticatedHttpRequest, HtmxHttpRequest
from .roles import EDITOR, VIEWER, role_required


class ImportUploadForm(forms.Form):
    archive = forms.FileField(
        label="Runbook folder (.zip)",
        help_text="A zip of your docs/runbooks folder: markdown files, front matter optional.",
    )
    collection = forms.CharField(
        required=False,
        max_length=200,
        help_text="The name this folder is remembered by; importing it again updates the same runbooks. "
        "Default: the zip's folder (or file) name.",
    )
    team = forms.CharField(
        required=False,
        max_length=100,
        help_text="For runbooks whose files name no team (created if new).",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: show the report, change nothing")

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if not archive.name.lower().endswith(".zip"):
            raise forms.ValidationError("Upload a .zip file.")
        try:
            check_zip(archive)
        except UnsafeArchive as exc:
            raise forms.ValidationError(str(exc)) from exc
        archive.seek(0)
        return archive


def _default_collection(archive_name: str) -> str:
    return PurePosixPath(archive_name).stem or "upload"


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "runbooks/import.html", {"form": ImportUploadForm()})
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "runbooks/import.html", {"form": form}, status=400)
    data = form.cleaned_data
    upload = data["archive"]
    job = ImportJob.objects.create(
        created_by=request.user,
        archive_name=upload.name[:255],
        archive=upload.read(),
        collection=data["collection"].strip() or _default_collection(upload.name),
        team=data["team"],
        dry_run=data["dry_run"],
    )
    queue_import(job)
    return redirect("runbooks:import_job", job_id=job.pk)


def _job_for(request: HttpRequest, job_id: int) -> ImportJob:
    job = get_object_or_404(ImportJob.objects.defer("archive"), pk=job_id)
    # Reports name files and runbooks; only the person who uploaded (or an admin) sees them.
    if job.created_by_id != request.user.pk and not request.user.is_superuser:
        raise Http404("No such import.")
    return job


@role_required(EDITOR)
@require_GET
def import_job(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    report = ImportReport.from_dict(job.report) if job.report else None
    context = {"job": job, "report": report}
    if request.htmx:
        return render(request, "runbooks/import_job.html#job-status", context)
    return render(request, "runbooks/import_job.html", context)


@role_required(EDITOR)
@require_POST
def resolve_conflicts(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    """Import the same upload again with the user's choice for each "changed in both" file."""
    job = _job_for(request, job_id)
    report = ImportReport.from_dict(job.report) if job.report else None
    if report is None or not report.conflicts:
        return render(
            request, "runbooks/import_job.html", {"job": job, "report": report}, status=400
        )
    resolutions = {}
    for result in report.conflicts:
        choice = request.POST.get(f"choice:{result.path}", "")
        if choice in (THEIRS, OURS):
            resolutions[result.path] = choice
    if not resolutions:
        context = {
            "job": job,
            "report": report,
            "choice_error": "Choose a version for at least one file.",
        }
        return render(request, "runbooks/import_job.html", context, status=400)
    archive = ImportJob.objects.values_list("archive", flat=True).get(pk=job.pk)
    again = ImportJob.objects.create(
        created_by=request.user,
        archive_name=job.archive_name,
        archive=archive,
        collection=job.collection,
        team=job.team,
        dry_run=False,
        resolutions=resolutions,
    )
    queue_import(again)
    return redirect("runbooks:import_job", job_id=again.pk)


@role_required(VIEWER)
@require_GET
def export_zip(request: HttpRequest) -> FileResponse:
    html = request.GET.get("format") == "html"
    buffer = io.BytesIO()
    stamp = timezone.localdate().isoformat()
    write_zip(buffer, folder=f"runbooks-{stamp}", html=html)
    buffer.seek(0)
    name = f"runbooks-{'offline-' if html else ''}{stamp}.zip"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type="application/zip")
