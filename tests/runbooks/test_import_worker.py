"""A browser zip import run by a real Celery worker process, off the request."""

import pytest

from runbooks.importing.tasks import import_zip
from runbooks.models import ImportJob, Runbook
from tests.reviews.conftest import celery_worker_factory, committed, smtp_server, wait_until  # noqa: F401 (fixtures)
from tests.runbooks.test_docs_views import fixture_zip

pytestmark = [committed, pytest.mark.celery_worker]


def test_import_task_runs_in_a_real_worker(editor, smtp_server, celery_worker_factory):  # noqa: F811
    from fixit_runbooks.celery import app

    job = ImportJob.objects.create(
        created_by=editor,
        archive_name="runbooks.zip",
        archive=fixture_zip(),
        collection="runbooks",
        team="Payments",
    )
    worker = celery_worker_factory(smtp_server)
    worker.start()

    with app.connection_for_write(transport_options=worker.transport_options) as conn:
        import_zip.apply_async(args=[job.pk], connection=conn, queue=worker.queue)

    finished = wait_until(
        lambda: ImportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).first(),
        timeout=60,
        message=f"the import never finished:\n{worker.log_text()}",
    )
    assert (finished.status, finished.error) == ("done", "")
    assert (finished.files_done, finished.files_total) == (4, 4)
    assert "4 created" in worker.log_text()
    assert Runbook.objects.get(slug="restore-backup").team.name == "Payments"
