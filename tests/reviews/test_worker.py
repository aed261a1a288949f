"""The beat task run by a real Celery worker process, sending through a real SMTP server."""

import asyncio
import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from reviews import reminders
from reviews.models import ReminderDigest
from runbooks.models import Runbook
from tests.reviews.conftest import Inbox, committed, wait_until

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


class StallingInbox(Inbox):
    """Holds the first message's DATA without answering, as a slow server would."""

    def __init__(self) -> None:
        super().__init__()
        self.stall = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.stall:
            await asyncio.sleep(60)
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


def test_worker_killed_mid_send_leaves_a_claim_the_retry_sends_exactly_once(
    owned_overdue, editor, smtp_down, celery_worker_factory, use_smtp, settings
):
    smtp_down.inbox = StallingInbox()
    smtp_down.start()
    worker = celery_worker_factory(smtp_down)
    worker.start()
    worker.enqueue()
    claim = wait_until(
        lambda: ReminderDigest.objects.filter(status="sending").first(), message="never claimed"
    )
    worker.processes[0].kill()
    worker.processes[0].wait()
    smtp_down.inbox.stall = False
    use_smtp(smtp_down)
    assert reminders.retry_unfinished() == []  # the lease still runs: the holder might be alive
    after_lease = timezone.now() + dt.timedelta(seconds=settings.REVIEW_REMINDER_LEASE_SECONDS + 1)
    with time_machine.travel(after_lease):
        reminders.retry_unfinished()
        reminders.retry_unfinished()
    (message,) = smtp_down.inbox.to(editor.email)
    assert message["Message-ID"] == claim.message_id
    claim.refresh_from_db()
    assert (claim.status, claim.attempts) == ("sent", 2)
