import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from reviews import reminders
from reviews.models import ComplianceSnapshot, ReminderDigest, ReminderPreference
from runbooks.models import Runbook, Team
from tests.concurrency import run_in_parallel
from tests.reviews.conftest import committed

pytestmark = pytest.mark.django_db


def test_owner_gets_one_digest_listing_every_runbook_needing_review(
    overdue_runbook, make_runbook, editor
):
    overdue_runbook(days=3, title="Disk full")
    overdue_runbook(days=10, title="Replica lag")
    make_runbook(
        title="Soon", review_cadence="weekly", next_review_due=timezone.now() + dt.timedelta(days=1)
    )
    make_runbook(title="Fine", next_review_due=timezone.now() + dt.timedelta(days=25))
    reminders.send_review_reminders()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [editor.email]
    assert message.subject == "[FixIt Runbooks] 3 runbooks to review (2 overdue)"
    assert (
        message.body.index("Replica lag")
        < message.body.index("Disk full")
        < message.body.index("Soon")
    )
    assert "Fine" not in message.body


def test_digest_has_days_overdue_last_reviewer_and_absolute_links(
    overdue_runbook, reviewer, settings
):
    settings.SITE_URL = "https://runbooks.example.org"
    runbook = overdue_runbook(days=4, title="Disk full")
    Runbook.objects.filter(pk=runbook.pk).update(
        last_reviewed_by=reviewer, last_reviewed_at=timezone.now()
    )
    reminders.send_review_reminders()
    text = mail.outbox[0].body
    html = mail.outbox[0].alternatives[0][0]
    assert "4 days overdue" in text and "by rhea" in text
    assert f"https://runbooks.example.org/runbooks/{runbook.slug}/review/" in text
    assert f'href="https://runbooks.example.org/runbooks/{runbook.slug}/"' in html
    assert f'href="https://runbooks.example.org/runbooks/{runbook.slug}/review/"' in html


def test_nothing_to_review_sends_nothing(make_runbook):
    make_runbook()
    reminders.send_review_reminders()
    assert mail.outbox == []


def test_running_twice_the_same_day_sends_once(overdue_runbook):
    overdue_runbook()
    first = reminders.send_review_reminders()
    second = reminders.send_review_reminders()
    assert len(mail.outbox) == 1
    assert (len(first.sent), len(second.sent), second.already_sent) == (1, 0, 1)


def test_next_day_sends_again(overdue_runbook):
    overdue_runbook()
    reminders.send_review_reminders()
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        reminders.send_review_reminders()
    assert len(mail.outbox) == 2
    assert ReminderDigest.objects.filter(status="sent").count() == 2


def test_management_command_does_the_same_work(overdue_runbook, capsys):
    overdue_runbook()
    call_command("send_review_reminders")
    call_command("send_review_reminders")
    assert len(mail.outbox) == 1
    assert "already sent today" in capsys.readouterr().out


def test_sending_a_reminder_does_not_restart_the_clock(overdue_runbook):
    runbook = overdue_runbook(days=5)
    reminders.send_review_reminders()
    assert Runbook.objects.get(pk=runbook.pk).review_state() == "overdue"


def test_team_lead_gets_an_escalation_for_runbooks_overdue_more_than_twice_their_cadence(
    overdue_runbook, make_user
):
    lead = make_user("lena", "reviewer")
    team = Team.objects.create(name="Storage", lead=lead)
    overdue_runbook(days=70, title="Ancient monthly", team=team)
    overdue_runbook(days=20, title="Recent monthly", team=team)
    reminders.send_review_reminders()
    escalation = [m for m in mail.outbox if m.to == [lead.email]]
    assert len(escalation) == 1
    assert "Escalation: 1 runbook" in escalation[0].subject
    assert "Ancient monthly" in escalation[0].body and "Recent monthly" not in escalation[0].body


def test_owner_on_leave_with_delegate_has_digest_sent_to_delegate(
    overdue_runbook, editor, make_user
):
    delegate = make_user("dana", "editor")
    ReminderPreference.objects.create(user=editor, on_leave=True, delegate=delegate)
    overdue_runbook(title="Disk full")
    reminders.send_review_reminders()
    assert [m.to for m in mail.outbox] == [[delegate.email]]
    assert "on behalf of eddie" in mail.outbox[0].body
    assert ReminderDigest.objects.get().on_behalf_of == ["eddie"]


def test_owner_on_leave_without_delegate_is_paused(overdue_runbook, editor):
    ReminderPreference.objects.create(user=editor, on_leave=True)
    overdue_runbook()
    report = reminders.send_review_reminders()
    assert (mail.outbox, report.paused) == ([], 1)


def test_weekly_preference_sends_only_on_mondays(overdue_runbook, editor):
    ReminderPreference.objects.create(user=editor, frequency="weekly")
    overdue_runbook(days=30)
    with time_machine.travel(dt.datetime(2027, 3, 9, 7, tzinfo=dt.UTC)):  # a Tuesday
        reminders.send_review_reminders()
    assert mail.outbox == []
    with time_machine.travel(dt.datetime(2027, 3, 15, 7, tzinfo=dt.UTC)):  # a Monday
        reminders.send_review_reminders()
    assert len(mail.outbox) == 1


def test_digest_lists_at_most_the_cap_and_counts_the_rest(overdue_runbook, monkeypatch):
    monkeypatch.setattr(reminders, "DIGEST_MAX_ITEMS", 2)
    for days in (1, 2, 3):
        overdue_runbook(days=days)
    reminders.send_review_reminders()
    digest = ReminderDigest.objects.get()
    assert (digest.runbook_count, len(digest.items)) == (3, 2)
    assert "and 1 more" in mail.outbox[0].body


def test_scan_uses_a_constant_number_of_queries(
    overdue_runbook, make_user, django_assert_max_num_queries
):
    owners = [make_user(f"owner{n}", "editor") for n in range(3)]
    for n in range(3):
        overdue_runbook(owner=owners[n])
    # Per recipient: claim, savepoint, mark sent; the rest does not grow with the library.
    with django_assert_max_num_queries(40) as few:
        reminders.send_review_reminders()
    for n in range(12):
        overdue_runbook(owner=owners[n % 3], days=n + 1)
    with (
        time_machine.travel(timezone.now() + dt.timedelta(days=1)),
        django_assert_max_num_queries(len(few)),
    ):
        reminders.send_review_reminders()


def test_scan_writes_this_weeks_compliance_snapshot(overdue_runbook, make_runbook):
    with time_machine.travel(dt.datetime(2027, 3, 10, 7, tzinfo=dt.UTC)):
        overdue_runbook()
        make_runbook()
        reminders.send_review_reminders()
    snapshot = ComplianceSnapshot.objects.get()
    assert (snapshot.week_ending, snapshot.total, snapshot.overdue) == (dt.date(2027, 3, 14), 2, 1)


def test_smtp_down_records_retrying_with_the_reason_and_a_later_retry_sends_once(
    overdue_runbook, smtp_down, use_smtp
):
    use_smtp(smtp_down)
    overdue_runbook()
    report = reminders.send_review_reminders()
    digest = ReminderDigest.objects.get()
    assert (digest.status, digest.attempts, report.retry_in) == ("retrying", 1, 5.0)
    assert "Connection refused" in digest.last_error
    smtp_down.start()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=6)):
        reminders.send_review_reminders()
        reminders.send_review_reminders()
    assert len(smtp_down.inbox.messages) == 1
    digest.refresh_from_db()
    assert (digest.status, digest.attempts, digest.last_error) == ("sent", 2, "")


def test_digest_reaches_a_real_smtp_server_as_text_and_html(
    overdue_runbook, smtp_server, use_smtp, editor
):
    use_smtp(smtp_server)
    overdue_runbook(title="Disk full")
    reminders.send_review_reminders()
    (message,) = smtp_server.inbox.to(editor.email)
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types


@committed
def test_two_concurrent_scans_send_each_digest_once(overdue_runbook, smtp_server, use_smtp):
    use_smtp(smtp_server)
    overdue_runbook()
    errors = run_in_parallel(reminders.send_review_reminders, reminders.send_review_reminders)
    assert errors == []
    assert len(smtp_server.inbox.messages) == 1
    assert ReminderDigest.objects.count() == 1
