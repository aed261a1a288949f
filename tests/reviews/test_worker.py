"""The beat task run by a real Celery worker process, sending through a real SMTP server."""

import pytest

from reviews.models import ReminderDigest
from runbooks.models import Runbook
from tests.reviews.conftest import committed, wait_until

pytestmark = [committed, pytest.mark.celery_worker]


@pytest.fixture
def owned_overdue(overdue_runbook, editor):
    return overdue_runbook(title="Disk full", days=6)


def _sent() -> list[ReminderDigest]:
    return list(ReminderDigest.objects.filter(status="sent"))


def test_worker_sends_the_digest_through_smtp(
    owned_overdue, editor, smtp_server, celery_worker_factory
):
    worker = celery_worker_factory(smtp_server)
    worker.start()
    worker.enqueue()
    (message,) = wait_until(lambda: smtp_server.inbox.to(editor.email), message="no digest arrived")
    assert "Disk full" in message.as_string()
    assert (
        f"https://runbooks.example.org/runbooks/{owned_overdue.slug}/review/" in message.as_string()
    )
    wait_until(_sent, message="digest never marked sent")


def test_task_queued_twice_sends_one_digest(
    owned_overdue, editor, smtp_server, celery_worker_factory
):
    worker = celery_worker_factory(smtp_server)
    worker.start()
    worker.enqueue()
    worker.enqueue()
    wait_until(
        lambda: worker.log_text().count("succeeded") >= 2, message="tasks did not both finish"
    )
    assert len(smtp_server.inbox.to(editor.email)) == 1
    assert ReminderDigest.objects.count() == 1


def test_two_workers_at_once_send_one_digest(
    owned_overdue, editor, smtp_server, celery_worker_factory
):
    worker = celery_worker_factory(smtp_server)
    worker.start("w1")
    worker.start("w2")
    for _ in range(4):
        worker.enqueue()
    wait_until(
        lambda: worker.log_text().count("succeeded") >= 4, message="tasks did not all finish"
    )
    assert len(smtp_server.inbox.to(editor.email)) == 1


def test_smtp_down_then_up_retries_and_sends_once(
    owned_overdue, editor, smtp_down, celery_worker_factory
):
    worker = celery_worker_factory(smtp_down)
    worker.start()
    worker.enqueue()
    wait_until(lambda: "Retry in" in worker.log_text(), message="task did not retry")
    digest = ReminderDigest.objects.get()
    assert digest.status == "retrying" and "Connection refused" in digest.last_error
    assert Runbook.objects.get(pk=owned_overdue.pk).review_state() == "overdue"
    smtp_down.start()
    wait_until(
        lambda: smtp_down.inbox.to(editor.email), timeout=60, message="retry never sent the digest"
    )
    wait_until(_sent, message="digest never marked sent")
    assert len(smtp_down.inbox.messages) == 1
