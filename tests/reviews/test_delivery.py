"""Reminders are never lost: leases, retries, a fixed scan day and a stable Message-ID."""

import datetime as dt
import smtplib
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reviews import reminders, tasks
from reviews.models import ReminderDigest
from runbooks.models import Runbook, Team
from tests.reviews.conftest import Inbox

pytestmark = pytest.mark.django_db


def _claim_left_by_a_dead_worker(recipient: Any, *, lease_left: dt.timedelta) -> ReminderDigest:
    day = timezone.localdate()
    return ReminderDigest.objects.create(
        recipient=recipient,
        kind="owner",
        day=day,
        status="sending",
        attempts=1,
        message_id=reminders.message_id(recipient.pk, "owner", day),
        lease_expires_at=timezone.now() + lease_left,
    )


def test_claim_stuck_in_sending_past_its_lease_is_sent_exactly_once_afterwards(
    overdue_runbook, editor
):
    overdue_runbook(title="Disk full")
    claim = _claim_left_by_a_dead_worker(editor, lease_left=-dt.timedelta(seconds=1))
    reminders.send_review_reminders()
    reminders.send_review_reminders()
    assert [m.to for m in mail.outbox] == [[editor.email]]
    assert mail.outbox[0].extra_headers["Message-ID"] == claim.message_id
    claim.refresh_from_db()
    assert (claim.status, claim.attempts) == ("sent", 2)


def test_claim_within_its_lease_is_left_to_the_worker_holding_it(overdue_runbook, editor):
    overdue_runbook()
    _claim_left_by_a_dead_worker(editor, lease_left=dt.timedelta(minutes=4))
    report = reminders.send_review_reminders()
    assert (mail.outbox, report.in_flight) == ([], 1)


def test_retry_sweep_sends_a_dead_workers_digest_once_its_lease_runs_out(
    overdue_runbook, editor, settings
):
    overdue_runbook()
    _claim_left_by_a_dead_worker(
        editor, lease_left=dt.timedelta(seconds=settings.REVIEW_REMINDER_LEASE_SECONDS)
    )
    assert reminders.retry_unfinished() == []
    later = timezone.now() + dt.timedelta(seconds=settings.REVIEW_REMINDER_LEASE_SECONDS + 1)
    with time_machine.travel(later):
        reminders.retry_unfinished()
        reminders.retry_unfinished()
    assert len(mail.outbox) == 1
    assert ReminderDigest.objects.get().status == "sent"


def test_every_digest_carries_a_message_id_stable_per_recipient_kind_and_day(
    overdue_runbook, editor, settings
):
    settings.SITE_URL = "https://runbooks.example.org"
    overdue_runbook()
    with time_machine.travel(dt.datetime(2027, 3, 10, 7, tzinfo=dt.UTC)):
        overdue_runbook()
        reminders.send_review_reminders()
    expected = f"<review-digest.20270310.owner.{editor.pk}@runbooks.example.org>"
    assert mail.outbox[0].message()["Message-ID"] == expected
    assert ReminderDigest.objects.get().message_id == expected


class HangUpAfterAccepting(Inbox):
    """Keeps the message, then drops the connection before answering: the ambiguous SMTP case."""

    def __init__(self) -> None:
        super().__init__()
        self.hang_up = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        answer = await super().handle_DATA(server, session, envelope)
        if self.hang_up:
            self.hang_up = False
            server.transport.close()
        return answer


def test_server_hanging_up_after_accepting_gives_a_resend_with_the_same_message_id(
    overdue_runbook, smtp_down, use_smtp
):
    smtp_down.inbox = HangUpAfterAccepting()
    smtp_down.start()
    use_smtp(smtp_down)
    overdue_runbook()
    reminders.send_review_reminders()
    digest = ReminderDigest.objects.get()
    assert digest.status == "retrying"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=6)):
        reminders.send_review_reminders()
    first, second = smtp_down.inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == digest.message_id
    digest.refresh_from_db()
    assert (digest.status, digest.attempts) == ("sent", 2)


def test_permanent_refusal_marks_the_digest_failed_with_the_smtp_reason(
    overdue_runbook, monkeypatch
):
    overdue_runbook()

    def refuse(self: Any, fail_silently: bool = False) -> int:
        raise smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    report = reminders.send_review_reminders()
    digest = ReminderDigest.objects.get()
    assert (digest.status, digest.last_error, report.retry_in) == (
        "failed",
        "554 5.7.1 Message rejected as spam",
        None,
    )
    monkeypatch.undo()
    reminders.send_review_reminders()
    assert mail.outbox == []


def test_retry_after_midnight_does_not_resend_the_day(overdue_runbook):
    overdue_runbook()
    evening = dt.datetime(2027, 3, 10, 23, 50, tzinfo=dt.UTC)
    with time_machine.travel(evening):
        overdue_runbook()
        reminders.send_review_reminders()
    with time_machine.travel(evening + dt.timedelta(minutes=20)):
        report = reminders.send_review_reminders(day=dt.date(2027, 3, 10))
    assert len(mail.outbox) == 1
    assert report.already_sent == 1
    assert list(ReminderDigest.objects.values_list("day", flat=True)) == [dt.date(2027, 3, 10)]


def test_retry_after_midnight_finishes_the_failed_digest_under_its_own_day(
    overdue_runbook, monkeypatch
):
    overdue_runbook()
    evening = dt.datetime(2027, 3, 10, 23, 50, tzinfo=dt.UTC)

    def unreachable(self: Any, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError("Connection refused")

    with time_machine.travel(evening):
        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", unreachable)
        reminders.send_review_reminders()
        monkeypatch.undo()
    with time_machine.travel(evening + dt.timedelta(minutes=20)):
        reminders.send_review_reminders(day=dt.date(2027, 3, 10))
        reminders.send_review_reminders(day=dt.date(2027, 3, 10))
    assert len(mail.outbox) == 1
    digest = ReminderDigest.objects.get()
    assert (digest.day, digest.status) == (dt.date(2027, 3, 10), "sent")
    assert "20270310" in mail.outbox[0].extra_headers["Message-ID"]


def test_task_hands_its_scan_day_to_its_retry(overdue_runbook, monkeypatch):
    overdue_runbook()
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda self, fail_silently=False: (_ for _ in ()).throw(ConnectionRefusedError("refused")),
    )
    retried: dict[str, Any] = {}

    def record_retry(**options: Any) -> Exception:
        retried.update(options)
        return RuntimeError("retry scheduled")

    monkeypatch.setattr(tasks.send_review_reminders, "retry", record_retry)
    with (
        time_machine.travel(dt.datetime(2027, 3, 10, 23, 59, 59, tzinfo=dt.UTC)),
        pytest.raises(RuntimeError),
    ):
        tasks.send_review_reminders.run()
    assert retried["kwargs"] == {"day": "2027-03-10"}
    assert retried["countdown"] == 5.0


def test_unowned_runbooks_remind_their_team_lead(overdue_runbook, make_user):
    lead = make_user("lena", "editor")
    overdue_runbook(title="Orphan", owner=None, team=Team.objects.create(name="Storage", lead=lead))
    reminders.send_review_reminders()
    (message,) = mail.outbox
    assert message.to == [lead.email]
    assert "without an owner" in message.subject and "Orphan" in message.body
    assert ReminderDigest.objects.get().kind == "unowned"


def test_unowned_runbooks_without_a_team_lead_remind_the_admins(
    overdue_runbook, admin_user, make_user, team
):
    root = make_user("root", is_superuser=True)
    make_user("vic", "viewer")
    overdue_runbook(title="No team", owner=None)
    overdue_runbook(title="Leaderless team", owner=None, team=team)
    reminders.send_review_reminders()
    assert sorted(m.to[0] for m in mail.outbox) == [admin_user.email, root.email]
    assert all("No team" in m.body and "Leaderless team" in m.body for m in mail.outbox)


def test_never_reviewed_runbook_past_its_first_due_date_is_reminded(make_runbook, editor):
    make_runbook(title="Imported", next_review_due=timezone.now() - dt.timedelta(days=1))
    make_runbook(title="Brand new")
    reminders.send_review_reminders()
    (message,) = mail.outbox
    assert (
        "Imported" in message.body
        and "Never reviewed" in message.body
        and "Brand new" not in message.body
    )


def test_archived_runbooks_are_left_out_of_the_scan(overdue_runbook):
    runbook = overdue_runbook()
    Runbook.objects.filter(pk=runbook.pk).update(archived_at=timezone.now())
    report = reminders.send_review_reminders()
    assert mail.outbox == []
    assert report.snapshot.total == 0


def test_admin_lists_each_digest_with_its_state_and_reason_read_only(
    admin_client, overdue_runbook, editor
):
    overdue_runbook()
    ReminderDigest.objects.create(
        recipient=editor,
        kind="owner",
        day=dt.date(2027, 3, 9),
        status="failed",
        last_error="550 mailbox unknown",
    )
    reminders.send_review_reminders()
    listing = admin_client.get(reverse("admin:reviews_reminderdigest_changelist"))
    html = listing.content.decode()
    assert listing.status_code == 200
    assert "550 mailbox unknown" in html and "Failed" in html and "Sent" in html
    assert admin_client.get(reverse("admin:reviews_reminderdigest_add")).status_code == 403
