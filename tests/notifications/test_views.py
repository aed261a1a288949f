"""Channel pages: secrets shown once, masked URLs, the delivery log, actions, who may use them."""

from collections.abc import Callable
from typing import Any

from django.test import Client

from notifications.models import Channel, Delivery, DeliveryStatus, Event


def test_creating_a_webhook_channel_shows_its_secret_once(
    editor_client: Client, receiver: Any
) -> None:
    response = editor_client.post(
        "/notifications/new/",
        {
            "name": "ops hook",
            "kind": "webhook",
            "url": receiver.url,
            "events": ["incident.declared"],
        },
    )

    channel = Channel.objects.get()
    assert response.status_code == 200
    assert channel.signing_secret.startswith("whsec_")
    assert channel.signing_secret in response.content.decode()
    later = editor_client.get(channel.get_absolute_url()).content.decode()
    assert channel.signing_secret not in later
    assert receiver.url not in later
    assert "http://127.0.0.1:" in later


def test_the_edit_form_never_sends_the_saved_url_back(
    editor_client: Client, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel(
        kind="slack", url="https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    )

    html = editor_client.get(f"/notifications/{channel.pk}/edit/").content.decode()

    assert "XXXXSECRET" not in html


def test_editing_without_a_new_url_keeps_the_saved_one(
    editor_client: Client, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel(
        kind="slack", url="https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    )

    editor_client.post(
        f"/notifications/{channel.pk}/edit/",
        {"name": "renamed", "url": "", "events": ["incident.resolved"]},
    )

    channel.refresh_from_db()
    assert (channel.name, channel.url, channel.events) == (
        "renamed",
        "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
        ["incident.resolved"],
    )


def test_a_url_that_is_not_http_is_refused(editor_client: Client) -> None:
    response = editor_client.post(
        "/notifications/new/",
        {
            "name": "x",
            "kind": "slack",
            "url": "ftp://example.com/x",
            "events": ["incident.declared"],
        },
    )

    assert response.status_code == 400
    assert not Channel.objects.exists()


def test_viewers_cannot_manage_channels(viewer_client: Client) -> None:
    assert viewer_client.get("/notifications/").status_code == 403


def test_delivery_log_shows_status_response_code_and_attempts(
    editor_client: Client, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel()
    Delivery.objects.create(
        channel=channel,
        event=Event.RESOLVED,
        payload={"text": "Resolved: INC-2026-0001"},
        status=DeliveryStatus.FAILED,
        attempts=5,
        response_code=503,
        error="HTTP 503 Service Unavailable",
    )

    html = editor_client.get(channel.get_absolute_url()).content.decode()

    assert "Incident resolved" in html and "503" in html and "HTTP 503 Service Unavailable" in html
    assert "<td>5</td>" in html


def test_send_a_test_delivers_to_the_receiver(
    editor_client: Client, make_channel: Callable[..., Any], receiver: Any
) -> None:
    channel = make_channel()

    editor_client.post(f"/notifications/{channel.pk}/test/")

    assert channel.deliveries.get().status == DeliveryStatus.SENT
    assert len(receiver.requests) == 1


def test_resuming_a_paused_channel_clears_its_failures(
    editor_client: Client, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel(consecutive_failures=10)
    editor_client.post(f"/notifications/{channel.pk}/pause/")
    channel.refresh_from_db()
    assert channel.is_paused

    editor_client.post(f"/notifications/{channel.pk}/resume/")

    channel.refresh_from_db()
    assert not channel.is_paused and channel.consecutive_failures == 0
