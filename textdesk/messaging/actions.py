"""Status changes of outbound messages, whichever provider reports them."""

import logging

from django.db import transaction
from django.utils import timezone

from textdesk.conversations.actions import reply_did_not_arrive
from textdesk.conversations.models import Message
from textdesk.live.events import publish
from textdesk.messaging.status import MessageStatus, statuses_replaceable_by
from textdesk.providers.base import StatusReport

logger = logging.getLogger(__name__)


def advance_status(
    message_id: int, new_status: str, *, error_code: str = "", announce: bool = True
) -> bool:
    """Move a message to ``new_status`` if the lifecycle allows it; returns whether it moved.

    The rule is part of the UPDATE's WHERE clause, so two callbacks racing each other can
    never move a message backwards, whatever order their transactions commit in.
    """
    now = timezone.now()
    changes: dict = {"status": new_status, "status_changed_at": now}
    if new_status == MessageStatus.DELIVERED:
        changes["delivered_at"] = now
    if error_code:
        changes["error_code"] = error_code
    with transaction.atomic():
        moved = Message.objects.filter(
            pk=message_id,
            direction=Message.Direction.OUTBOUND,
            status__in=statuses_replaceable_by(new_status),
        ).update(**changes)
        if moved and announce:
            conversation_id, inbox_id = Message.objects.filter(pk=message_id).values_list(
                "conversation_id", "conversation__inbox_id"
            )[0]
            publish(
                "status",
                inbox_id=inbox_id,
                conversation_id=conversation_id,
                message=message_id,
                status=new_status,
            )
        if moved and new_status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
            message = Message.objects.get(pk=message_id)
            # A send's text is not an answer to anyone: its failure leaves the queue alone.
            if message.send_id is None:
                reply_did_not_arrive(message)
    return moved == 1


def apply_status_report(provider: str, report: StatusReport) -> Message | None:
    """Record what a provider says about one of our messages. Repeated and late reports change
    nothing; a report about a message we do not know is logged and dropped."""
    messages = Message.objects.filter(provider=provider, direction=Message.Direction.OUTBOUND)
    message = None
    if report.message_id is not None:
        message = messages.filter(pk=report.message_id).first()
        if message is not None and message.provider_message_id not in (
            None,
            report.provider_message_id,
        ):
            logger.warning(
                "Status report for message %s names %s, but it was sent as %s",
                message.pk,
                report.provider_message_id,
                message.provider_message_id,
            )
            return None
    if message is None:
        message = messages.filter(provider_message_id=report.provider_message_id).first()
    if message is None:
        logger.warning(
            "Status report for unknown %s message %s", provider, report.provider_message_id
        )
        return None
    with transaction.atomic():
        if message.provider_message_id is None:
            # The callback outran the send response: remember the provider's id now.
            Message.objects.filter(pk=message.pk, provider_message_id__isnull=True).update(
                provider_message_id=report.provider_message_id
            )
        # A send's receipts are counted on its report (one event a second at most), not
        # announced one by one: 100,000 receipts must not mean 100,000 page refreshes.
        moved = advance_status(
            message.pk,
            report.status,
            error_code=report.error_code,
            announce=message.send_id is None,
        )
    if moved and message.send_id is not None:
        from textdesk.messaging.dispatch import note_send_progress

        note_send_progress(message.send_id)
    message.refresh_from_db()
    return message
