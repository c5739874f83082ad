"""The outbox: hands queued messages to their providers.

A queued outbound message is its own outbox entry. A worker claims one with a conditional
UPDATE (only one worker can win it), calls the provider outside any transaction, then records
the outcome. Retryable errors put the message back in the queue with backoff and jitter;
permanent errors fail it with the provider's code.

When a provider call ends without a clear answer (a read timeout, a 5xx), the provider may
have accepted the message. Its retry then waits at least ``UNCERTAIN_RETRY_SECONDS``, long
enough for a status callback to arrive and move the message out of ``queued``, in which case
it is never sent again.

Known gaps (for the delivery-engine work): an uncertain send with no callback in that window,
and a worker that dies between the provider's acceptance and recording it, are sent again.
Looking the message up at the provider before re-sending closes both.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from textdesk.conversations.models import Message
from textdesk.messaging.actions import advance_status
from textdesk.messaging.status import MessageStatus
from textdesk.providers.base import OutgoingSms, ProviderError
from textdesk.providers.registry import get_provider

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 5
MAX_BACKOFF_SECONDS = 3600
UNCERTAIN_RETRY_SECONDS = 90


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, so that retries after an outage spread out."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _due(now):
    return Message.objects.filter(
        status=MessageStatus.QUEUED,
        direction=Message.Direction.OUTBOUND,
        next_attempt_at__lte=now,
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def claim(message_id: int) -> bool:
    """Reserve a due message for this worker; False when another worker got it first."""
    now = timezone.now()
    claimed = (
        _due(now)
        .filter(pk=message_id)
        .update(
            claimed_until=now + timedelta(seconds=settings.WORKER_CLAIM_SECONDS),
            attempts=F("attempts") + 1,
        )
    )
    return claimed == 1


def dispatch_due_messages(limit: int = 50) -> int:
    """Send up to ``limit`` due messages, oldest first; returns how many were attempted."""
    due_ids = list(
        _due(timezone.now()).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )
    attempted = 0
    for message_id in due_ids:
        if claim(message_id):
            send_claimed(message_id)
            attempted += 1
    return attempted


def send_claimed(message_id: int) -> None:
    message = Message.objects.select_related("conversation__contact").get(pk=message_id)
    sms = OutgoingSms(
        message_id=message.pk,
        from_number=message.our_number,
        to_number=message.conversation.contact.phone,
        body=message.body,
        media_urls=tuple(message.media_urls),
    )
    try:
        result = get_provider(message.provider).send(sms)
    except ProviderError as e:
        _record_failure(message, e)
        return
    except Exception as e:  # a bug in a provider must not stop the queue
        logger.exception("Provider %s crashed sending message %s", message.provider, message.pk)
        _record_failure(
            message, ProviderError(f"Internal error: {e}", retryable=True, code="internal")
        )
        return
    now = timezone.now()
    with transaction.atomic():
        # An earlier attempt's error is history now; the page should not show it.
        Message.objects.filter(pk=message.pk).update(
            provider_message_id=result.provider_message_id,
            sent_at=now,
            claimed_until=None,
            error_code="",
            error_message="",
        )
        advance_status(message.pk, result.status)
    logger.info("Sent message %s as %s", message.pk, result.provider_message_id)


def _record_failure(message: Message, error: ProviderError) -> None:
    if error.retryable and message.attempts < MAX_ATTEMPTS:
        delay = retry_delay(message.attempts)
        if error.may_have_sent:
            delay = max(delay, timedelta(seconds=UNCERTAIN_RETRY_SECONDS))
        Message.objects.filter(pk=message.pk).update(
            next_attempt_at=timezone.now() + delay,
            claimed_until=None,
            error_code=error.code[:16],
            error_message=error.message[:255],
        )
        logger.warning("Message %s will be retried in %ss: %s", message.pk, delay.seconds, error)
        return
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            claimed_until=None, error_message=error.message[:255]
        )
        advance_status(message.pk, MessageStatus.FAILED, error_code=error.code[:16])
    logger.warning("Message %s failed: %s", message.pk, error)
