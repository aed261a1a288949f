"""Docs-as-code in the browser: upload a .zip of markdown runbooks, download the library as one."""

import io
import tempfile
from pathlib import Path

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from .exporter import write_zip
from .importer import UnsafeArchive, extract_zip, import_directory
from .roles import EDITOR, VIEWER, role_required


class ImportUploadForm(forms.Form):
    archive = forms.FileField(
        label="Runbook folder (.zip)",
        help_text="A zip of your docs/runbooks folder: markdown files, front matter optional.",
    )
    team = forms.CharField(
        required=False, max_length=100, help_text="For runbooks whose files name no team (created if new)."
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: show the report, change nothing")

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if not archive.name.lower().endswith(".zip"):
            raise forms.ValidationError("Upload a .zip file.")
        return archive


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "runbooks/import.html", {"form": ImportUploadForm()})
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "runbooks/import.html", {"form": form}, status=400)
    data = form.cleaned_data
    with tempfile.TemporaryDirectory(prefix="fixit-import-") as folder:
        try:
            extract_zip(data["archive"], Path(folder))
        except UnsafeArchive as exc:
            form.add_error("archive", str(exc))
            return render(request, "runbooks/import.html", {"form": form}, status=400)
        report = import_directory(Path(folder), team=data["team"] or None, dry_run=data["dry_run"], author=request.user)
    report.root = data["archive"].name
    # Failed files are listed in the report; the others were imported, so this is not an error page.
    return render(request, "runbooks/import.html", {"form": ImportUploadForm(), "report": report})


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
