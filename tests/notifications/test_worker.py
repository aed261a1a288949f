"""A delivery sent by a real Celery worker process to the loopback receiver, failing once then recovering."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from fixit_runbooks.celery import app as celery_app
from notifications import signing
from notifications.models import Delivery, DeliveryStatus, Event
from notifications.tasks import deliver
from tests.reviews.conftest import celery_worker_factory, committed, smtp_server, wait_until

pytestmark = [committed, pytest.mark.celery_worker]

__all__ = ["celery_worker_factory", "smtp_server"]


def test_worker_retries_a_failed_delivery_until_the_receiver_recovers(
    make_channel: Callable[..., Any], receiver: Any, smtp_server: Any, celery_worker_factory: Any
) -> None:
    celery_app.conf.task_always_eager = False
    channel = make_channel()
    receiver.fail_next(503)
    [delivery] = Delivery.objects.bulk_create(
        [Delivery(channel=channel, event=Event.TEST, payload={"text": "from the worker"})]
    )
    worker = celery_worker_factory(smtp_server)
    worker.env["NOTIFICATION_RETRY_BASE_SECONDS"] = "1"
    worker.start()

    with celery_app.connection_for_write(transport_options=worker.transport_options) as connection:
        deliver.apply_async(args=[delivery.pk], connection=connection, queue=worker.queue)

    wait_until(
        lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).exists(),
        message=f"delivery never sent:\n{worker.log_text()}",
    )
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (2, 200)
    first, second = receiver.requests
    assert first.body == second.body and json.loads(second.body)["text"] == "from the worker"
    assert signing.verify(
        channel.signing_secret,
        second.headers[signing.TIMESTAMP_HEADER],
        second.headers[signing.SIGNATURE_HEADER],
        second.body,
    )
