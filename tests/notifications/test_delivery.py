"""Events reach channels over real HTTP: signed, retried with backoff, paused after ten failures."""

import json
from collections.abc import Callable
from typing import Any

from django.core import mail

from incidents.models import Incident
from notifications import services, signing
from notifications.models import ChannelKind, Delivery, DeliveryStatus, Event
from notifications.tasks import deliver


def declare(editor: Any, capture: Any, **fields: Any) -> Incident:
    with capture(execute=True):
        return Incident.open_incident(by=editor, title="Checkout is down", severity="P1", **fields)


def test_declared_incident_posts_a_signed_json_webhook(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    channel = make_channel()

    incident = declare(editor, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    headers = request.headers
    assert signing.verify(
        channel.signing_secret,
        headers[signing.TIMESTAMP_HEADER],
        headers[signing.SIGNATURE_HEADER],
        request.body,
    )
    payload = json.loads(request.body)
    assert payload["event"] == "incident.declared"
    assert payload["incident"]["number"] == incident.number
    assert headers[signing.EVENT_HEADER] == "incident.declared"


def test_signature_check_refuses_a_tampered_body_or_an_old_timestamp() -> None:
    headers = signing.signed_headers("whsec_x", b'{"a": 1}', now=1_000_000)
    timestamp, signature = headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER]

    assert signing.verify("whsec_x", timestamp, signature, b'{"a": 1}', now=1_000_010)
    assert not signing.verify("whsec_x", timestamp, signature, b'{"a": 2}', now=1_000_010)
    assert not signing.verify("whsec_x", timestamp, signature, b'{"a": 1}', now=1_000_000 + 301)


def test_chat_channel_gets_slack_compatible_text_with_a_link(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(kind=ChannelKind.SLACK)

    incident = declare(editor, django_capture_on_commit_callbacks)

    body = json.loads(receiver.requests[0].body)
    assert list(body) == ["text"]
    assert f"Incident declared: {incident.number} (P1) Checkout is down" in body["text"]
    assert f"/incidents/{incident.number}/|Open in FixIt Runbooks>" in body["text"]


def test_team_channel_hears_only_incidents_using_its_teams_runbooks(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    team: Any,
    make_runbook: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(team=team)
    incident = declare(editor, django_capture_on_commit_callbacks)
    assert receiver.requests == []

    incident.attach_runbook(make_runbook(team=team), by=editor)
    with django_capture_on_commit_callbacks(execute=True):
        incident.change_status("mitigating", by=editor)

    assert [json.loads(r.body)["event"] for r in receiver.requests] == ["incident.status_changed"]


def test_status_updates_are_sent_but_plain_notes_are_not(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(events=[Event.STATUS_UPDATE])
    incident = declare(editor, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        incident.add_note(by=editor, text="Working on it")
        incident.add_note(
            by=editor, text="Rollback in progress, next update 10:30", kind="communication"
        )

    [request] = receiver.requests
    assert "Rollback in progress, next update 10:30" in json.loads(request.body)["text"]


def test_checklist_steps_and_resolution_are_sent(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    runbook: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(events=[Event.STEP_RECORDED, Event.RESOLVED])
    incident = declare(editor, django_capture_on_commit_callbacks)
    attachment = incident.attach_runbook(runbook, by=editor)

    with django_capture_on_commit_callbacks(execute=True):
        attachment.record_step(1, "done", by=editor)
        incident.resolve(editor)

    assert [json.loads(r.body)["event"] for r in receiver.requests] == [
        "incident.step_recorded",
        "incident.resolved",
    ]


def test_failing_receiver_is_retried_until_it_recovers(
    make_channel: Callable[..., Any], receiver: Any
) -> None:
    channel = make_channel()
    receiver.fail_next(500, 503)
    [delivery] = Delivery.objects.bulk_create(
        [Delivery(channel=channel, event=Event.TEST, payload={"text": "hi"})]
    )

    deliver.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    channel.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        DeliveryStatus.SENT,
        3,
        200,
    )
    assert len(receiver.requests) == 3
    assert channel.consecutive_failures == 0


def test_a_delivery_gives_up_after_five_attempts(
    make_channel: Callable[..., Any], receiver: Any
) -> None:
    channel = make_channel()
    receiver.fail_next(*[500] * 5)
    [delivery] = Delivery.objects.bulk_create(
        [Delivery(channel=channel, event=Event.TEST, payload={"text": "hi"})]
    )

    deliver.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        DeliveryStatus.FAILED,
        5,
        500,
    )


def test_retries_back_off_exponentially(settings: Any) -> None:
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30

    assert [services.retry_delay(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 120, 240, 3600]


def test_ten_failures_in_a_row_pause_the_channel_and_email_its_owner(
    make_channel: Callable[..., Any], receiver: Any, editor: Any
) -> None:
    channel = make_channel()
    receiver.fail_next(*[502] * 10)
    first, second, third = Delivery.objects.bulk_create(
        [Delivery(channel=channel, event=Event.TEST, payload={"text": str(n)}) for n in range(3)]
    )

    deliver.apply(args=[first.pk])
    deliver.apply(args=[second.pk])
    deliver.apply(args=[third.pk])

    channel.refresh_from_db()
    third.refresh_from_db()
    assert channel.is_paused
    assert len(receiver.requests) == 10
    assert third.status == DeliveryStatus.SKIPPED
    [message] = mail.outbox
    assert message.to == [editor.email]
    assert "paused after 10 failed deliveries" in message.subject


def test_a_success_resets_the_failure_count(
    make_channel: Callable[..., Any], receiver: Any
) -> None:
    channel = make_channel()
    receiver.fail_next(500, 500)
    [delivery] = Delivery.objects.bulk_create(
        [Delivery(channel=channel, event=Event.TEST, payload={"text": "hi"})]
    )

    services.attempt(delivery.pk)
    services.attempt(delivery.pk)
    channel.refresh_from_db()
    assert channel.consecutive_failures == 2

    services.attempt(delivery.pk)
    channel.refresh_from_db()
    assert channel.consecutive_failures == 0


def test_unreachable_receiver_records_the_error(make_channel: Callable[..., Any]) -> None:
    channel = make_channel(url="http://127.0.0.1:9/nothing-listens-here")
    [delivery] = Delivery.objects.bulk_create(
        [Delivery(channel=channel, event=Event.TEST, payload={"text": "hi"})]
    )

    services.attempt(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.response_code is None and delivery.error
    assert delivery.status == DeliveryStatus.PENDING


def test_runbook_change_reaches_its_teams_channel(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    team: Any,
    make_runbook: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(team=team, events=[Event.RUNBOOK_CHANGED])
    runbook = make_runbook(team=team)

    with django_capture_on_commit_callbacks(execute=True):
        runbook.add_revision(
            author=editor,
            body=runbook.current_revision.body + "\nMore.\n",
            change_summary="Clarify",
        )

    payload = json.loads(receiver.requests[-1].body)
    assert payload["event"] == "runbook.changed"
    assert payload["runbook"]["slug"] == runbook.slug


def test_a_status_update_template_can_be_sent(
    make_channel: Callable[..., Any],
    receiver: Any,
    editor: Any,
    editor_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(events=[Event.STATUS_UPDATE])
    incident = declare(editor, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            f"/notifications/incidents/{incident.number}/status-updates/investigating/"
        )

    assert response.status_code == 302
    assert incident.timeline.filter(
        kind="communication", text__contains="Status: Investigating"
    ).exists()
    [request] = receiver.requests
    assert "Status: Investigating" in json.loads(request.body)["text"]


def test_an_event_nobody_listens_to_costs_one_query(
    runbook: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        services.fan_out(Event.RUNBOOK_CHANGED, text="Runbook changed", runbook_id=runbook.pk)
