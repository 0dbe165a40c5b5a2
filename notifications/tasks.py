"""Celery tasks of the notifications app: ids in, one service call out."""

from __future__ import annotations

from celery import shared_task

from notifications.services.email import deliveries_sweep, email_deliver, email_digest_send


@shared_task(
    name="notifications.email.deliver",
    bind=True,
    ignore_result=True,
    max_retries=None,  # the service counts attempts (EMAIL_MAX_ATTEMPTS) in the database
    soft_time_limit=120,
    time_limit=150,
)
def email_deliver_task(self, delivery_id: int) -> str:
    """Send one e-mail; a transient SMTP failure comes back after the service's backoff."""
    outcome = email_deliver(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(
    name="notifications.email.digest", ignore_result=True, soft_time_limit=120, time_limit=150
)
def email_digest_task() -> int:
    """Send one digest per user whose notification e-mails were held (beat)."""
    return email_digest_send()


@shared_task(
    name="notifications.email.sweep", ignore_result=True, soft_time_limit=60, time_limit=90
)
def deliveries_sweep_task() -> int:
    """Settle deliveries a dead worker left behind (beat)."""
    return deliveries_sweep()
