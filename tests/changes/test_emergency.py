"""Break-glass and rollback runbooks: their sections, the invocation record and the revoke-by reminder."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import mail

from changes import emergency
from changes.models import BreakGlassInvocation
from incidents.models import ChecklistRun, Incident
from runbooks import shapes
from runbooks.models import AuditEvent, Runbook

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def break_glass(make_runbook: Callable[..., Runbook]) -> Runbook:
    return make_runbook(
        title="Production database access", kind="break_glass", body=shapes.TEMPLATES["break_glass"]
    )


@pytest.mark.parametrize("kind", ["break_glass", "rollback"])
def test_template_has_every_required_section(kind: str) -> None:
    assert shapes.missing_sections_in(kind, shapes.TEMPLATES[kind]) == []


def test_break_glass_requires_its_six_sections() -> None:
    assert shapes.missing_sections_in("break_glass", "## Steps\n") == [
        "Who may invoke it",
        "Granting access",
        "Duration",
        "Logging",
        "Revocation",
        "Notifying security",
    ]


def test_rollback_requires_its_five_sections() -> None:
    assert shapes.missing_sections_in("rollback", "## Overview\n") == [
        "Trigger",
        "Pre-checks",
        "Steps",
        "Verification",
        "Communication",
    ]


def test_runbook_without_a_revocation_section_is_flagged(
    make_runbook: Callable[..., Runbook],
) -> None:
    body = shapes.TEMPLATES["break_glass"].replace("## Revocation", "## Afterwards")
    assert make_runbook(kind="break_glass", body=body).missing_sections == ["Revocation"]


def test_invoking_records_who_why_and_until_when(break_glass: Runbook, editor: Any) -> None:
    with time_machine.travel(START, tick=False):
        invoked = emergency.invoke(
            break_glass,
            by=editor,
            reason="Primary is down",
            revoke_by=START + dt.timedelta(hours=2),
        )
    invocation = BreakGlassInvocation.objects.get()
    assert (invocation.invoked_by, invocation.reason, invocation.revoke_by) == (
        editor,
        "Primary is down",
        START + dt.timedelta(hours=2),
    )
    assert invocation.run == invoked.run and invoked.run is not None
    assert AuditEvent.objects.filter(action="break_glass.invoked", runbook=break_glass).exists()


@pytest.mark.parametrize(
    ("reason", "hours"),
    [("", 1), ("Outage", -1), ("Outage", 24 * 8)],
    ids=["no reason", "revoke time passed", "longer than 7 days"],
)
def test_invocation_without_a_sound_reason_or_time_writes_nothing(
    break_glass: Runbook, editor: Any, reason: str, hours: int
) -> None:
    with pytest.raises(emergency.InvocationRefused):
        emergency.invoke(
            break_glass,
            by=editor,
            reason=reason,
            revoke_by=dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours),
        )
    assert not BreakGlassInvocation.objects.exists() and not ChecklistRun.objects.exists()


def test_reminder_goes_to_invoker_and_security_once_the_time_passes(
    break_glass: Runbook, editor: Any, settings: Any
) -> None:
    settings.SECURITY_CONTACT_EMAIL = "security@example.com"
    with time_machine.travel(START, tick=False):
        emergency.invoke(
            break_glass,
            by=editor,
            reason="Primary is down",
            revoke_by=START + dt.timedelta(hours=1),
        )
    with time_machine.travel(START + dt.timedelta(minutes=59), tick=False):
        assert emergency.send_due_reminders() == []
    with time_machine.travel(START + dt.timedelta(hours=1, minutes=5), tick=False):
        assert len(emergency.send_due_reminders()) == 1
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"eddie@example.com", "security@example.com"}
    assert "Production database access" in mail.outbox[0].subject
    assert "Primary is down" in mail.outbox[0].body


def test_reminder_is_sent_only_once(break_glass: Runbook, editor: Any) -> None:
    with time_machine.travel(START, tick=False):
        emergency.invoke(
            break_glass, by=editor, reason="Outage", revoke_by=START + dt.timedelta(hours=1)
        )
    with time_machine.travel(START + dt.timedelta(hours=2), tick=False):
        emergency.send_due_reminders()
        assert emergency.send_due_reminders() == []
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        assert emergency.send_due_reminders() == []
    assert len(mail.outbox) == 1


def test_claimed_reminder_is_left_to_its_claimer_until_the_lease_ends(
    break_glass: Runbook, editor: Any
) -> None:
    with time_machine.travel(START, tick=False):
        emergency.invoke(
            break_glass, by=editor, reason="Outage", revoke_by=START + dt.timedelta(hours=1)
        )
    claimed_at = START + dt.timedelta(hours=1)
    BreakGlassInvocation.objects.update(reminder_claimed_at=claimed_at)
    with time_machine.travel(claimed_at + dt.timedelta(minutes=5), tick=False):
        assert emergency.send_due_reminders() == []
    with time_machine.travel(
        claimed_at + emergency.REMINDER_LEASE + dt.timedelta(minutes=1), tick=False
    ):
        assert len(emergency.send_due_reminders()) == 1


def test_failed_send_is_retried_after_the_lease(
    break_glass: Runbook, editor: Any, monkeypatch: Any
) -> None:
    with time_machine.travel(START, tick=False):
        emergency.invoke(
            break_glass, by=editor, reason="Outage", revoke_by=START + dt.timedelta(hours=1)
        )

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("mail server down")

    monkeypatch.setattr(emergency, "send_mail", broken)
    with time_machine.travel(START + dt.timedelta(hours=2), tick=False):
        assert emergency.send_due_reminders() == []
    monkeypatch.undo()
    with time_machine.travel(
        START + dt.timedelta(hours=2) + emergency.REMINDER_LEASE * 2, tick=False
    ):
        assert len(emergency.send_due_reminders()) == 1
    assert BreakGlassInvocation.objects.get().reminded_at is not None


def test_following_as_a_checklist_asks_for_a_reason_first(
    editor_client: Any, break_glass: Runbook
) -> None:
    response = editor_client.post(f"/drills/follow/{break_glass.slug}/", {"purpose": "maintenance"})
    assert response.status_code == 302 and response["Location"].startswith(
        f"/break-glass/{break_glass.slug}/"
    )
    assert not ChecklistRun.objects.exists()


def test_invoke_page_starts_the_run(editor_client: Any, break_glass: Runbook) -> None:
    revoke_by = (dt.datetime.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = editor_client.post(
        f"/break-glass/{break_glass.slug}/",
        {"reason": "Primary down", "revoke_by": revoke_by, "follow": "run"},
    )
    run = ChecklistRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert BreakGlassInvocation.objects.get().run == run


def test_invoke_page_without_a_reason_is_refused(editor_client: Any, break_glass: Runbook) -> None:
    response = editor_client.post(
        f"/break-glass/{break_glass.slug}/", {"reason": "", "revoke_by": "", "follow": "run"}
    )
    assert response.status_code == 400 and not BreakGlassInvocation.objects.exists()


def test_attaching_to_an_incident_records_the_invocation(
    editor_client: Any, break_glass: Runbook, editor: Any
) -> None:
    incident = Incident.open_incident(by=editor, title="DB down", severity="P1")
    revoke_by = (dt.datetime.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    editor_client.post(
        f"/break-glass/{break_glass.slug}/",
        {
            "reason": "DB down",
            "revoke_by": revoke_by,
            "follow": "incident",
            "incident": incident.number,
        },
    )
    assert BreakGlassInvocation.objects.get().incident == incident
    assert incident.attachments.filter(runbook=break_glass).exists()


def test_starting_an_incident_with_it_asks_for_a_reason_first(
    editor_client: Any, break_glass: Runbook
) -> None:
    response = editor_client.post(f"/incidents/start/{break_glass.slug}/")
    assert response["Location"] == f"/break-glass/{break_glass.slug}/?follow=new_incident"
    assert not Incident.objects.exists()
