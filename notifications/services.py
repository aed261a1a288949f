"""Fan events out to channels and deliver them: at-least-once.

An event becomes one `Delivery` row per interested channel once the writing
transaction commits (never for a change that rolled back), then a task per
delivery. The HTTP call happens outside any transaction so a slow receiver
holds no row locks. A worker that dies between sending and recording sends
again on retry, so receivers should treat `X-FixIt-Delivery` as an
idempotency key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fixit_runbooks import emails
from runbooks.models import Runbook

from . import signing
from .models import (
    MAX_ATTEMPTS,
    PAUSE_AFTER_FAILURES,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    Event,
)

logger = logging.getLogger(__name__)


def queue_event(
    event: str, *, text: str, incident: Any = None, runbook: Any = None, actor: Any = None
) -> None:
    """Deliver `event` to the channels that want it, after the current transaction commits."""
    callback = partial(
        fan_out,
        event,
        text=text,
        incident_id=getattr(incident, "pk", None),
        runbook_id=getattr(runbook, "pk", None),
        actor=actor.get_username() if getattr(actor, "is_authenticated", False) else "",
    )
    transaction.on_commit(callback, robust=True)


def fan_out(
    event: str,
    *,
    text: str,
    incident_id: int | None = None,
    runbook_id: int | None = None,
    actor: str = "",
) -> list[Delivery]:
    from incidents.models import Incident

    # One query when nobody listens for this event: imports and seeding write thousands of runbooks.
    active = [c for c in Channel.objects.filter(paused_at__isnull=True) if c.wants(event)]
    if not active:
        return []
    payload: dict[str, Any] = {
        "event": event,
        "text": text,
        "occurred_at": timezone.now().isoformat(),
        "actor": actor,
    }
    team_ids: set[int] = set()
    if incident_id is not None:
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            return []
        payload["incident"] = {
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "url": settings.SITE_URL + incident.get_absolute_url(),
        }
        team_ids.update(
            t
            for t in Runbook.objects.filter(incident_links__incident=incident).values_list(
                "team_id", flat=True
            )
            if t
        )
    if runbook_id is not None:
        runbook = Runbook.objects.filter(pk=runbook_id).select_related("current_revision").first()
        if runbook is None:
            return []
        payload["runbook"] = {
            "slug": runbook.slug,
            "title": runbook.title,
            "version": runbook.version,
            "url": settings.SITE_URL + runbook.get_absolute_url(),
        }
        if runbook.team_id:
            team_ids.add(runbook.team_id)
    return deliver_to(
        [c for c in active if c.team_id is None or c.team_id in team_ids], event, payload
    )


def deliver_to(channels: list[Channel], event: str, payload: dict[str, Any]) -> list[Delivery]:
    from .tasks import deliver

    deliveries = Delivery.objects.bulk_create(
        [Delivery(channel=c, event=event, payload=payload) for c in channels]
    )
    for delivery in deliveries:
        try:
            deliver.delay(delivery.pk)
        except Exception:
            # The row stays pending; `send_pending_deliveries` picks it up once the broker is back.
            logger.exception("Could not queue delivery %s", delivery.pk)
    return deliveries


def send_test(channel: Channel, *, by: Any) -> Delivery:
    payload = {
        "event": Event.TEST,
        "text": f"Test message from FixIt Runbooks for channel “{channel.name}”, sent by {by.get_username()}.",
        "occurred_at": timezone.now().isoformat(),
        "actor": by.get_username(),
    }
    return deliver_to([channel], Event.TEST, payload)[0]


def request_for(channel: Channel, delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json", "User-Agent": "FixIt-Runbooks"}
    if channel.kind == ChannelKind.SLACK:
        text = delivery.payload.get("text", "")
        link = (delivery.payload.get("incident") or delivery.payload.get("runbook") or {}).get(
            "url"
        )
        if link:
            text += f"\n<{link}|Open in FixIt Runbooks>"
        return json.dumps({"text": text}).encode(), headers
    body = json.dumps({"id": delivery.pk, **delivery.payload}, sort_keys=True).encode()
    headers[signing.DELIVERY_HEADER] = str(delivery.pk)
    headers[signing.EVENT_HEADER] = delivery.event
    headers.update(signing.signed_headers(channel.signing_secret, body))
    return body, headers


def post(channel: Channel, delivery: Delivery) -> tuple[int | None, str]:
    body, headers = request_for(channel, delivery)
    request = urllib.request.Request(channel.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(
            request, timeout=settings.NOTIFICATION_TIMEOUT_SECONDS
        ) as response:  # noqa: S310 -- http(s) only, checked by the form
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (TimeoutError, urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))


def attempt(delivery_id: int) -> bool:
    """Send one delivery once and record the outcome; True when it should be retried later."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("channel")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return False
        if delivery.channel.is_paused:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.save(update_fields=["status"])
            return False
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "last_attempt_at"])
    code, error = post(delivery.channel, delivery)
    paused_now = False
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=delivery.channel_id)
        delivery.response_code, delivery.error = code, error[:500]
        if code is not None and 200 <= code < 300:
            delivery.status = DeliveryStatus.SENT
            channel.consecutive_failures = 0
        else:
            channel.consecutive_failures += 1
            if channel.consecutive_failures >= PAUSE_AFTER_FAILURES and not channel.is_paused:
                channel.paused_at = timezone.now()
                paused_now = True
            if delivery.attempts >= MAX_ATTEMPTS or channel.is_paused:
                delivery.status = DeliveryStatus.FAILED
        channel.save(update_fields=["consecutive_failures", "paused_at"])
        delivery.save(update_fields=["status", "response_code", "error"])
    if paused_now:
        _tell_owner_paused(channel, delivery)
    return delivery.status == DeliveryStatus.PENDING


def _tell_owner_paused(channel: Channel, delivery: Delivery) -> None:
    if channel.owner is None or not channel.owner.email:
        return
    context = {"channel": channel, "delivery": delivery, "failures": channel.consecutive_failures}
    try:
        emails.build("channel_paused", [channel.owner.email], context).send()
    except OSError:
        logger.exception("Could not email the owner of paused channel %s", channel.pk)


def resume(channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(paused_at=None, consecutive_failures=0)


def pause(channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk, paused_at__isnull=True).update(paused_at=timezone.now())


def retry_delay(attempts: int) -> int:
    """Exponential backoff: base, 2×, 4×, … capped at an hour."""
    base: int = settings.NOTIFICATION_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), 3600))


def requeue_pending(older_than_seconds: int = 600) -> int:
    """Pending deliveries whose task was lost (broker down, worker killed) are queued again."""
    from .tasks import deliver

    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    stale = Delivery.objects.filter(status=DeliveryStatus.PENDING, created_at__lt=cutoff).filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff)
    )
    ids = list(stale.values_list("pk", flat=True)[:1000])
    for pk in ids:
        deliver.delay(pk)
    return len(ids)
