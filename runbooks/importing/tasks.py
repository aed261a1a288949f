"""The Celery task that imports a zip uploaded in the browser, off the request."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from ..models import ImportJob, ImportJobStatus
from . import import_directory
from .archive import UnsafeArchive, extract_zip, single_top_folder

# Progress is written at most this often (in files), so a 1,000-file import adds ~50 small updates.
PROGRESS_EVERY = 20


def queue_import(job: ImportJob) -> None:
    """Queue the job once the transaction that stored it has committed (a worker must be able to read it)."""
    transaction.on_commit(lambda: import_zip.delay(job.pk))


@shared_task(name="runbooks.import_zip", acks_late=False)
def import_zip(job_id: int) -> str:
    """Import one stored upload; claims the job first so a redelivered message never imports twice.

    acks_late is off for this task: an import interrupted half-way is reported
    failed rather than re-run behind the user's back (each file is its own
    transaction, so what was written is whole, and re-importing is safe).
    """
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING
    )
    if claimed != 1:
        return "already claimed"
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)

    def progress(done: int, total: int) -> None:
        if done == total or done % PROGRESS_EVERY == 0:
            ImportJob.objects.filter(pk=job_id).update(files_done=done, files_total=total)

    try:
        with tempfile.TemporaryDirectory(prefix="fixit-import-") as folder:
            extract_zip(io.BytesIO(bytes(job.archive)), Path(folder))
            report = import_directory(
                single_top_folder(Path(folder)),
                team=job.team or None,
                dry_run=job.dry_run,
                author=job.created_by,
                collection=job.collection,
                resolutions=job.resolutions,
                on_progress=progress,
            )
        report.root = job.archive_name
    except (UnsafeArchive, ValueError, OSError) as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJobStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return "failed"
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJobStatus.DONE, report=report.as_dict(), finished_at=timezone.now()
    )
    return report.summary_line()
