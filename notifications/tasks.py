from typing import Any

from celery import shared_task

from . import services
from .models import MAX_ATTEMPTS, Delivery


@shared_task(
    bind=True, name="notifications.tasks.deliver", max_retries=MAX_ATTEMPTS + 1, acks_late=True
)
def deliver(self: Any, delivery_id: int) -> str:
    """Send one delivery; on failure retry with exponential backoff until MAX_ATTEMPTS."""
    if services.attempt(delivery_id):
        attempts = (
            Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 1
        )
        raise self.retry(countdown=services.retry_delay(attempts))
    return (
        Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        or "missing"
    )


@shared_task(name="notifications.tasks.requeue_pending_deliveries")
def requeue_pending_deliveries() -> int:
    return services.requeue_pending()


@shared_task(name="notifications.tasks.send_watch_digests")
def send_watch_digests() -> int:
    from .watching import send_watch_digests as send

    return send()
